"""The ids and constants the sandbox advertises.

`sandbox exec` exports the three ids so a command under test has a complete, valid-looking deployment; the pod
itself accepts any ids in ChasitorInit, because third-party clients bring their own.
"""

from __future__ import annotations

ORG_ID = "00D5g000000SBOX"
DEPLOYMENT_ID = "5725g000000SBOX"
BUTTON_ID = "5735g000000SBOX"

CHAT_API_PREFIX = "/chat/rest/"
CONTROL_PREFIX = "/_sandbox/"

AGENT_NAME = "Sandbox Agent"

# ChatRequestSuccess.connectionTimeout is in milliseconds on the wire; the sandbox keeps seconds internally.
DEFAULT_CONNECTION_TIMEOUT = 150.0

_CHECKSUM_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def to_18_char_id(id15: str) -> str:
    """Add Salesforce's case-safe 3-character suffix, so the agent id looks like a real 18-character id."""
    if len(id15) != 15:
        raise ValueError(f"a 15-character Salesforce id is needed, got {len(id15)} characters")
    suffix = ""
    for start in range(0, 15, 5):
        bits = sum(1 << i for i, ch in enumerate(id15[start:start + 5]) if "A" <= ch <= "Z")
        suffix += _CHECKSUM_ALPHABET[bits]
    return id15 + suffix


AGENT_USER_ID = to_18_char_id("0055g000000SBOX")
