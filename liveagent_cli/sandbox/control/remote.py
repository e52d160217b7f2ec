"""A small client of the control API (`/_sandbox/`), for `liveagent sandbox agent|fault` and for tests.

It lives beside the control API because it knows the sandbox's URL layout, which the Live Agent client must
not. It speaks plain JSON over urllib (start-up cost: no `requests`), and raises `ControlError`, which the
command layer turns into its own exit codes; the sandbox knows nothing of those.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlsplit

TIMEOUT = 10.0
CONTROL_PREFIX = "/_sandbox/"


class ControlError(Exception):
    """The control API refused a call (`status` set), or could not be reached or understood (`status` None).

    `reason` tells which: "refused" (4xx with the sandbox's own JSON error), "unreachable", "not-sandbox"
    (an answer that is not the control API's JSON), or "failed" (a 5xx from the sandbox). A refusal may name
    its `problem` (control/routes.py PROBLEM_HINTS), so the caller can say what to do next in its own words.
    """

    def __init__(self, message: str, *, reason: str, status: int | None = None, problem: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason
        self.status = status
        self.problem = problem


def control_base(pod: str) -> str:
    """`http://HOST:PORT/chat/rest/` (or `/pod2/chat/rest/`, or a bare origin) → `http://HOST:PORT/_sandbox/`."""
    parts = urlsplit(pod if "://" in pod else f"http://{pod}")
    return f"{parts.scheme}://{parts.netloc}{CONTROL_PREFIX}"


class ControlClient:
    """One sandbox's control API; `on_exchange` (for `--verbose`) is told one line per call."""

    def __init__(self, pod: str, *, on_exchange: Callable[[str], None] | None = None, timeout: float = TIMEOUT):
        self.base = control_base(pod)
        self.on_exchange = on_exchange
        self.timeout = timeout

    def agent_action(self, chat: str, action: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
        """`POST /_sandbox/chats/{chat}/agent {"action": action, **fields}`; `chat` `_only` = the only open one."""
        body: dict[str, Any] = {"action": action, **(fields or {})}
        return self._expect(self._call("POST", f"chats/{quote(chat, safe='')}/agent", body), "chat", dict)

    def add_fault(self, spec: str) -> dict[str, Any]:
        return self._expect(self._call("POST", "faults", {"spec": spec}), "id", int)

    def list_faults(self) -> list[dict[str, Any]]:
        faults = self._expect(self._call("GET", "faults"), "faults", list)["faults"]
        return [f for f in faults if isinstance(f, dict)]

    def clear_faults(self, rule_id: int | None = None) -> dict[str, Any]:
        path = "faults" + (f"/{rule_id}" if rule_id is not None else "")
        return self._expect(self._call("DELETE", path), "removed", int)

    def _expect(self, result: dict[str, Any], field: str, kind: type) -> dict[str, Any]:
        """The answer, if it has the field the control API always sends; else some other JSON service's."""
        if not isinstance(result.get(field), kind):
            message = f"{self.base} is not a liveagent sandbox (its answer has no `{field}`)"
            raise ControlError(message, reason="not-sandbox")
        return result

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        url = self.base + path
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
        started = time.monotonic()

        def log(status: object) -> None:
            if self.on_exchange is not None:
                self.on_exchange(f"> {method} {url}  < {status} in {(time.monotonic() - started) * 1000:.0f} ms")

        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                payload = response.read()
                log(response.status)
        except urllib.error.HTTPError as exc:
            log(exc.code)
            raise _refusal(self.base, exc.code, exc.read()) from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            log("no answer")
            reason = getattr(exc, "reason", exc)
            text = getattr(reason, "strerror", None) or str(reason)
            raise ControlError(f"cannot reach the sandbox at {self.base}: {text}", reason="unreachable") from None
        result = _json_object(payload)
        if result is None:
            raise ControlError(f"{self.base} is not a liveagent sandbox (its answer is not JSON)", reason="not-sandbox")
        return result


def _json_object(raw: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _refusal(base: str, status: int, raw: bytes) -> ControlError:
    data = _json_object(raw)
    if data is None or "error" not in data:  # some other server's error page: never dump it
        return ControlError(f"{base} is not a liveagent sandbox (HTTP {status})", reason="not-sandbox", status=status)
    message = str(data["error"])
    if status >= 500:
        return ControlError(f"the sandbox failed: {message} (HTTP {status})", reason="failed", status=status)
    problem = data.get("problem")
    return ControlError(message, reason="refused", status=status, problem=problem if isinstance(problem, str) else None)
