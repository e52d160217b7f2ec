"""The ids and constants the sandbox advertises.

`sandbox exec` exports the three ids so a command under test has a complete, valid-looking deployment; the pod
itself accepts any ids in ChasitorInit, because third-party clients bring their own.
"""

from __future__ import annotations

import hashlib

ORG_ID = "00D5g000000SBOX"
DEPLOYMENT_ID = "5725g000000SBOX"
BUTTON_ID = "5735g000000SBOX"
DEPLOYMENT_NAME = "Sandbox_Custom_Client"  # Enhanced Chat's esDeveloperName (any well-formed one is accepted)

CHAT_API_PREFIX = "/chat/rest/"
# `switch-server` faults send visitors here: a second "pod" on the same sandbox that serves the same API.
SECOND_POD_PREFIX = "/pod2/chat/rest/"
CONTROL_PREFIX = "/_sandbox/"
UPLOAD_PREFIX = "/_upload/"
UPLOAD_PATH = UPLOAD_PREFIX + "file"
UPLOAD_MAX_BODY = 25 << 20  # the file-upload servlet only; every other request is limited to 1 MiB

AGENT_NAME = "Sandbox Agent"

# The names scripts, the control API and Live Agent's RichMessage give model.chat's menu kinds.
MENU_TYPE_KINDS = {"ChatWindowMenu": "menu", "ChatWindowButton": "buttons"}

GEO_LOCATION = {
    "countryCode": "US",
    "countryName": "United States",
    "region": "CA",
    "city": "San Francisco",
    "organization": "Sandbox",
    "latitude": 37.7749,
    "longitude": -122.4194,
}

# ChatRequestSuccess.connectionTimeout is in milliseconds on the wire; the sandbox keeps seconds internally.
DEFAULT_CONNECTION_TIMEOUT = 150.0

_CHECKSUM_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def to_18_char_id(id15: str) -> str:
    """Add Salesforce's case-safe 3-character suffix, so the agent id looks like a real 18-character id."""
    if len(id15) != 15:
        raise ValueError(f"a 15-character Salesforce id is needed, got {len(id15)} characters")
    suffix = ""
    for start in range(0, 15, 5):
        bits = sum(1 << i for i, ch in enumerate(id15[start : start + 5]) if "A" <= ch <= "Z")
        suffix += _CHECKSUM_ALPHABET[bits]
    return id15 + suffix


AGENT_USER_ID = to_18_char_id("0055g000000SBOX")


def user_id_for(name: str) -> str:
    """A stable 18-character user id for a named agent (transfers and conferences bring other agents)."""
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:6].upper()
    return to_18_char_id("0055g0000" + digest)


# Every Chat API resource the sandbox serves: noun -> prefix. A fault's `path=NOUN` names one of these.
NOUNS: dict[str, str] = {
    "SessionId": "System",
    "Messages": "System",
    "MultiNoun": "System",
    "ReconnectSession": "System",
    "ResyncSession": "System",
    "ChasitorInit": "Chasitor",
    "ChatMessage": "Chasitor",
    "ChasitorTyping": "Chasitor",
    "ChasitorNotTyping": "Chasitor",
    "ChasitorSneakPeek": "Chasitor",
    "CustomEvent": "Chasitor",
    "ChasitorIdleTimeoutWarningEvent": "Chasitor",
    "SensitiveDataRuleTriggered": "Chasitor",
    "RichMessage": "Chasitor",
    "ChatEnd": "Chasitor",
    "ChasitorResyncState": "Chasitor",
    "Settings": "Visitor",
    "Availability": "Visitor",
    "VisitorId": "Visitor",
    "Breadcrumb": "Visitor",
}

# Every Enhanced Chat resource the sandbox serves, by the last word of its path: what a fault's `path=` names.
MIAW_NOUNS = (
    "access-token",
    "continuation-access-token",
    "conversation",
    "list",
    "entries",
    "message",
    "file",
    "entry",
    "acknowledge-entries",
    "session",
    "sse",
    "embedded-service-config",
    "businesshours",
    "jwks",
)
