"""A tiny client for the sandbox's control API (`/_sandbox/`), used by `liveagent sandbox agent|fault`.

It speaks plain JSON over urllib: the control API is not the Live Agent API, and keeping it apart from
`client.py` keeps the sandbox and the Live Agent client independent of each other.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from liveagent_cli.core.errors import ApiError, NetworkError, UsageError
from liveagent_cli.core.settings import normalize_pod

TIMEOUT = 10.0
on_exchange: Callable[[str], None] | None = None  # `--verbose`: told about each call


def control_base(pod: str) -> str:
    """`http://HOST:PORT/chat/rest/` → `http://HOST:PORT/_sandbox/` (the second pod prefix works too)."""
    rest = normalize_pod(pod)
    base = rest[: -len("chat/rest/")]
    if base.endswith("/pod2/"):
        base = base[: -len("pod2/")]
    return base + "_sandbox/"


def agent_action(pod: str, chat: str, action: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    """`POST /_sandbox/chats/{chat}/agent {"action": action, **fields}`; returns the control API's answer."""
    body: dict[str, Any] = {"action": action, **(fields or {})}
    return _call("POST", control_base(pod) + f"chats/{quote(chat, safe='')}/agent", body)


def add_fault(pod: str, spec: str) -> dict[str, Any]:
    return _call("POST", control_base(pod) + "faults", {"spec": spec})


def list_faults(pod: str) -> list[dict[str, Any]]:
    faults = _call("GET", control_base(pod) + "faults").get("faults")
    return [f for f in faults if isinstance(f, dict)] if isinstance(faults, list) else []


def clear_faults(pod: str, rule_id: int | None = None) -> dict[str, Any]:
    suffix = f"/{rule_id}" if rule_id is not None else ""
    return _call("DELETE", control_base(pod) + "faults" + suffix)


def _call(method: str, url: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    import time

    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    started = time.monotonic()

    def log(status: object) -> None:
        if on_exchange is not None:
            on_exchange(f"> {method} {url}  < {status} in {(time.monotonic() - started) * 1000:.0f} ms")

    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            payload = response.read()
            log(response.status)
    except urllib.error.HTTPError as exc:
        log(exc.code)
        detail = _error_text(exc.read())
        if exc.code == 409:
            raise UsageError(detail or "the sandbox refused the action", hint="name the chat with --chat ID") from None
        if exc.code == 404:
            raise UsageError(detail or "no such chat or control route", hint="is --pod a liveagent sandbox?") from None
        if exc.code == 400:
            raise UsageError(detail or "the sandbox refused the request") from None
        raise ApiError(f"the sandbox answered HTTP {exc.code}: {detail}", status=exc.code) from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        log("no answer")
        reason = getattr(exc, "reason", exc)
        raise NetworkError(
            f"cannot reach the sandbox at {url}: {reason}", hint="is `liveagent sandbox serve` running?"
        ) from None
    try:
        result = json.loads(payload)
    except ValueError:
        raise ApiError("the sandbox's control API answered something that is not JSON") from None
    return result if isinstance(result, dict) else {"result": result}


def _error_text(raw: bytes) -> str:
    try:
        data = json.loads(raw)
    except ValueError:
        return raw[:200].decode("utf-8", "replace")
    return str(data.get("error", data)) if isinstance(data, dict) else str(data)
