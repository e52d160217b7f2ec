"""Keeping session keys out of everything the sandbox shows: the control API, the journal, the `--log` file.

A key is a secret on a real pod; tests and logs of the sandbox end up in CI output, so the sandbox treats
its own keys the same way. Keys have a recognisable shape (`<uuid>!<epoch-ms>!<base64>`), so any string
can be cleaned of them, whichever session they belong to.
"""

from __future__ import annotations

import re
from typing import Any

REDACTED = "<redacted>"
SESSION_KEY_HEADER = "x-liveagent-session-key"
_KEY = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}![0-9]+![A-Za-z0-9+/=]+")
_KEY_IN_PATH = re.compile(r"(/SessionId/).+")


def redact_text(text: str, key: str | None = None) -> str:
    if key and key in text:
        text = text.replace(key, REDACTED)
    return _KEY.sub(REDACTED, text) if "!" in text else text


def redact_path(path: str) -> str:
    """`DELETE System/SessionId/{key}` carries the key in the path."""
    return _KEY_IN_PATH.sub(r"\1" + REDACTED, path) if "/SessionId/" in path else path


def redact_headers(headers: dict[str, str]) -> dict[str, str]:
    shown = dict(headers)
    if SESSION_KEY_HEADER in shown:
        shown[SESSION_KEY_HEADER] = REDACTED
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
