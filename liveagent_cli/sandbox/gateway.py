"""The front door of the visitor's requests: fault injection, the request journal and `--log`, then the API.

Everything a visitor sends (the Chat API under `/chat/rest/` and the second pod prefix, the upload
servlet, and Enhanced Chat under `/iamessage/`, `/eventrouter/` and `/embeddedservice/`) passes here, so
each exchange is journalled once, logged once, and faults apply in one place. A fault that fires is named
in the journal entry, in the log line, and in the chat's events.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any, Protocol

from liveagent_cli.sandbox.defaults import SECOND_POD_PREFIX
from liveagent_cli.sandbox.faults import FaultRule, Faults
from liveagent_cli.sandbox.http.server import (
    Request,
    Response,
    dropped,
    empty_response,
    error_response,
    json_response,
    text_response,
)
from liveagent_cli.sandbox.keys import redact_headers, redact_path
from liveagent_cli.sandbox.liveagent.chatapi import SESSION_KEY, ChatAPI, RequestNotes
from liveagent_cli.sandbox.liveagent.pod import Pod
from liveagent_cli.sandbox.liveagent.session import Session
from liveagent_cli.sandbox.liveagent.uploads import handle_upload
from liveagent_cli.sandbox.miaw.notes import MiawNotes
from liveagent_cli.sandbox.miaw.restapi import MIAW_FAULT_KINDS, MiawAPI
from liveagent_cli.sandbox.wirelog import WireLog

JOURNAL_SIZE = 10_000


class Notes(Protocol):
    """What an API's handler tells the front door about a request, for the journal and the log."""

    chat_id: str | None
    key: str | None


def segments_below(path: str, prefix: str) -> list[str]:
    """Path segments below a prefix; empty ones dropped, so `/chat/rest//System/Messages` works too."""
    return [p for p in path[len(prefix) :].split("/") if p]


class Gateway:
    def __init__(self, pod: Pod, miaw: MiawAPI, faults: Faults, wirelog: WireLog | None, public_url: str) -> None:
        self.pod = pod
        self.chat_api = ChatAPI(pod)
        self.miaw = miaw
        self.faults = faults
        self.wirelog = wirelog
        # The base of the URLs handed out (the upload servlet's, SwitchServer's newUrl): the sandbox's own
        # address or its --public-url, never the request's Host header, which any client can set.
        self.public_url = public_url
        self.journal: deque[dict[str, Any]] = deque(maxlen=JOURNAL_SIZE)

    def _journal(self, request: Request) -> dict[str, Any]:
        """Journal a request on arrival (a held poll shows up at once; its status is filled in when answered)."""
        entry: dict[str, Any] = {
            "at": int(time.time() * 1000),
            "method": "HEAD" if request.head else request.method,
            "path": redact_path(request.path),
            "query": {name: values[-1] for name, values in request.query.items()},
            "headers": redact_headers(request.headers),
            "status": None,
            "chat": None,
            "fault": None,
        }
        self.journal.append(entry)
        return entry

    def _finish(
        self,
        request: Request,
        entry: dict[str, Any],
        response: Response | None,
        started: float,
        ex: Notes,
        rule: FaultRule | None,
        *,
        body_shown: bool = True,
    ) -> None:
        elapsed = (time.monotonic() - started) * 1000
        status = None if response is None or response.drop else response.status
        entry.update(status=status, chat=ex.chat_id, ms=round(elapsed, 1))
        if rule is not None:
            entry["fault"] = rule.spec
        if self.wirelog is not None:
            query = {name: values[-1] for name, values in request.query.items()}
            self.wirelog.write(
                method="HEAD" if request.head else request.method,
                path=request.path,
                query=query,
                headers=request.headers,
                body=request.body,
                status=status,
                ms=elapsed,
                chat=ex.chat_id,
                fault=rule.spec if rule is not None else None,
                key=ex.key,
                body_shown=body_shown,
            )

    # ---- the Chat API ------------------------------------------------------------------------------------

    async def chat(self, request: Request, prefix: str) -> Response:
        started = time.monotonic()
        entry = self._journal(request)
        ex = RequestNotes(self.public_url)
        rule: FaultRule | None = None
        response: Response | None = None
        try:
            response, rule = await self._chat(request, prefix, ex)
            return response
        except Exception:
            response = error_response(500, "internal sandbox error")  # what the HTTP server answers for a bug
            raise
        finally:
            self._finish(request, entry, response, started, ex, rule)

    async def _chat(self, request: Request, prefix: str, ex: RequestNotes) -> tuple[Response, FaultRule | None]:
        segments = segments_below(request.path, prefix)
        if not self.faults:
            return await self.chat_api.handle(request, segments, ex), None
        noun = segments[1] if len(segments) >= 2 else ""
        key = request.headers.get(SESSION_KEY)
        if noun == "SessionId" and len(segments) > 2:
            key = "/".join(segments[2:])
        session = self.pod.lookup(key)
        rule = self.faults.pick(segments[0] if segments else "", noun, session is not None)
        if rule is None:
            return await self.chat_api.handle(request, segments, ex), None
        if session is not None:
            ex.chat_id, ex.key = session.id, key
            what = {"spec": rule.spec, "request": f"{request.method} {'/'.join(segments)}"}
            session.record("sandbox", "Fault", what, self.pod.settings.events_limit)
        early = self._fault_answer(rule, session, prefix, ex)
        if early is not None:
            return early, rule
        ex.answer_lost = rule.kind == "drop"
        response = await self.chat_api.handle(request, segments, ex)
        if rule.kind == "drop":
            return dropped(), rule
        await asyncio.sleep(rule.ms / 1000)  # delay: processed at once, answered late
        return response, rule

    def _fault_answer(self, rule: FaultRule, session: Session | None, prefix: str, ex: RequestNotes) -> Response | None:
        """The answer of a fault that replaces processing; None for those that process first (drop after, delay)."""
        kind = rule.kind
        if kind == "503" and session is not None:
            self.pod.relocate(session)
            return text_response(503, "Invalid Affinity Token")
        if kind == "expire" and session is not None:
            self.pod.expire(session)
            return error_response(403, "unknown, expired or ended session")
        if kind == "status":
            if rule.code in (204, 304):
                return empty_response(rule.code)
            return error_response(rule.code, f"sandbox fault: HTTP {rule.code}")
        if kind == "switch-server":
            target = "/chat" if prefix == SECOND_POD_PREFIX else SECOND_POD_PREFIX.removesuffix("/rest/")
            message = {"newUrl": ex.base_url + target}
            return json_response(200, {"messages": [{"type": "SwitchServer", "message": message}]})
        if kind == "drop" and rule.when == "before":
            return dropped()
        return None

    # ---- the upload servlet ------------------------------------------------------------------------------

    async def upload(self, request: Request, segments: list[str]) -> Response:
        started = time.monotonic()
        entry = self._journal(request)
        ex = RequestNotes(self.public_url)
        response: Response | None = None
        try:
            response, ex.chat_id = await handle_upload(self.pod, request, segments)
            return response
        finally:
            self._finish(request, entry, response, started, ex, None, body_shown=False)

    # ---- Enhanced Chat -----------------------------------------------------------------------------------

    async def messaging(self, request: Request) -> Response:
        started = time.monotonic()
        entry = self._journal(request)
        notes = MiawNotes(self.public_url)
        rule: FaultRule | None = None
        response: Response | None = None
        try:
            response, rule = await self._messaging(request, notes)
            return response
        except Exception:
            response = error_response(500, "internal sandbox error")
            raise
        finally:
            multipart = (request.headers.get("content-type") or "").lower().startswith("multipart/")
            self._finish(request, entry, response, started, notes, rule, body_shown=not multipart)

    async def _messaging(self, request: Request, notes: MiawNotes) -> tuple[Response, FaultRule | None]:
        api = self.miaw
        if not self.faults:
            return await api.handle(request, notes), None
        route = api.route(request.path)
        token = api.token_of(request)
        rule = self.faults.pick("miaw", route.noun if route else "", token is not None, MIAW_FAULT_KINDS)
        if rule is None:
            return await api.handle(request, notes), None
        early = api.fault_answer(rule, token, request, notes)
        if early is not None:
            return early, rule
        if rule.kind == "sse-drop":
            notes.cut_after = rule.after
            return await api.handle(request, notes), rule
        notes.answer_lost = rule.kind == "drop"
        response = await api.handle(request, notes)
        if rule.kind == "drop":
            return dropped(), rule
        await asyncio.sleep(rule.ms / 1000)  # delay: processed at once, answered late
        return response, rule
