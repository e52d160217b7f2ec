"""JSON in and out of the sandbox: one encoder for everything it sends or records, one reader for every
JSON body it is sent (the Chat API's, the control API's).

A request body must be UTF-8 JSON whose strings are valid Unicode: a JSON escape of a lone surrogate
(`"\\ud800"`) decodes to a Python string that cannot be encoded back to UTF-8, so it is refused here,
before anything stores it, rather than failing later when a stored chat is shown. For the same reason
`NaN`, `Infinity` and `-Infinity`, which Python's parser takes but RFC 8259 has no place for, are refused:
stored, they would come back out as JSON no strict reader parses.
"""

from __future__ import annotations

import json
import re
from typing import Any

# A JSON escape of a UTF-16 surrogate; only then can decoded text hold a lone one (a valid pair is joined).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


class JSONBodyError(ValueError):
    """A body that is not the JSON object asked for; the message says why (an API answers it with 400)."""


def encode(payload: Any) -> bytes:
    """Compact UTF-8 JSON, non-ASCII kept as is."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def parse_json(body: bytes | str, *, required: bool, what: str = "the request body") -> dict[str, Any]:
    """A JSON object; JSONBodyError for text that is not UTF-8, not JSON, holds a lone surrogate, is not an
    object, or is empty when `required`. An empty body that is not required is `{}`."""
    if isinstance(body, bytes):
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise JSONBodyError(f"{what} is not UTF-8") from None
    else:
        text = body
    if not text.strip():
        if required:
            raise JSONBodyError(f"{what} must be a JSON object")
        return {}
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise JSONBodyError(f"malformed JSON in {what}") from None
    if not isinstance(data, dict):
        raise JSONBodyError(f"{what} must be a JSON object")
    if _SURROGATE_ESCAPE.search(text):
        try:
            encode(data)
        except UnicodeEncodeError:
            raise JSONBodyError(f"{what} has a lone surrogate escape (such as \\ud800): not valid Unicode") from None
    return data
