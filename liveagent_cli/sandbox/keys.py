"""Keeping session keys out of everything the sandbox shows: the control API, the journal, the `--log` file.

A key is a secret on a real pod; tests and logs of the sandbox end up in CI output, so the sandbox treats
its own keys the same way. Keys have a recognisable shape (`<uuid>!<epoch-ms>!<base64>`), so any string
can be cleaned of them, whichever session they belong to. Enhanced Chat's secrets are JWTs (access tokens
in `Authorization`, identity tokens in token requests), which have a recognisable shape too.
"""

from __future__ import annotations

import re
from typing import Any

REDACTED = "<redacted>"
SESSION_KEY_HEADER = "x-liveagent-session-key"
SECRET_HEADERS = (SESSION_KEY_HEADER, "authorization")
_KEY = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}![0-9]+![A-Za-z0-9+/=]+")
_KEY_IN_PATH = re.compile(r"(/SessionId/).+")
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")


def redact_text(text: str, key: str | None = None) -> str:
    if key and key in text:
        text = text.replace(key, REDACTED)
    if "eyJ" in text:
        text = _JWT.sub(REDACTED, text)
    return _KEY.sub(REDACTED, text) if "!" in text else text


def redact_path(path: str) -> str:
    """`DELETE System/SessionId/{key}` carries the key in the path."""
    return _KEY_IN_PATH.sub(r"\1" + REDACTED, path) if "/SessionId/" in path else path


def redact_headers(headers: dict[str, str]) -> dict[str, str]:
    shown = dict(headers)
    for name in SECRET_HEADERS:
        if name in shown:
            shown[name] = REDACTED
    return shown


def redact_value(value: Any, key: str | None = None) -> Any:
    """A JSON-like value with every key in its strings replaced (dict keys included)."""
    if isinstance(value, str):
        return redact_text(value, key)
    if isinstance(value, dict):
        return {redact_text(str(k), key): redact_value(v, key) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_value(v, key) for v in value]
    return value
