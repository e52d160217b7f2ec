"""The visitor-side Chat REST API below `/chat/rest/`: HTTP in, pod operations, HTTP out.

Checks run in this order: route (404 unknown resource, 405 wrong method), `X-LIVEAGENT-API-VERSION` (400
missing or not a positive integer), session key (403 missing or unknown), affinity (503 when present and
not the session's token, `null` included, or while the pod has moved the session; tolerated when absent
or empty, as the seed article's client sends none), sequence (a repeat of the last → 200, not processed;
out of order → 409), body (400), chat state (500 before ChatEstablished, 403 after the chat ended).
Chasitor POSTs answer 200 with the text body `OK`; SessionId DELETE too. Browser clients get CORS.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from liveagent_cli.sandbox.http.server import (
    Request,
    Response,
    empty_response,
    error_response,
    json_response,
    text_response,
)
from liveagent_cli.sandbox.jsonbody import JSONBodyError, parse_json
from liveagent_cli.sandbox.liveagent.nouns import EVENT_NOUNS, end_reason, parse_event, parse_multi_noun
from liveagent_cli.sandbox.liveagent.pod import Pod
from liveagent_cli.sandbox.liveagent.session import Session
from liveagent_cli.sandbox.liveagent.visitorapi import VisitorAPI
from liveagent_cli.sandbox.model.refusals import BadRequest, PodError, SessionInvalid

API_VERSION = "x-liveagent-api-version"
AFFINITY = "x-liveagent-affinity"
SESSION_KEY = "x-liveagent-session-key"
SEQUENCE = "x-liveagent-sequence"

_INTEGER = re.compile(r"\s*-?[0-9]{1,9}\s*\Z")
_BODYLESS = ("ChasitorTyping", "ChasitorNotTyping")  # clients send `{}` or nothing


@dataclass(slots=True)
class RequestNotes:
    """What the front door (gateway.py) and the handlers tell each other about one request."""

    base_url: str  # http://HOST:PORT as the client reached us
    answer_lost: bool = False  # a `drop` fault will swallow the answer: do not count a batch delivered
    chat_id: str | None = None  # the session the request named, for the journal and the log
    key: str | None = None  # its key, so logs can redact it wherever it appears


Route = Callable[[Request, list[str], RequestNotes], Awaitable[Response]]


def ok() -> Response:
    return text_response(200, "OK")


def pod_error_response(exc: PodError) -> Response:
    return text_response(exc.status, exc.message) if exc.plain else error_response(exc.status, exc.message)


class ChatAPI:
    def __init__(self, pod: Pod) -> None:
        self.pod = pod
        self.visitor = VisitorAPI(pod)
        chasitor_events = {("Chasitor", noun): {"POST": self._event_route(noun)} for noun in EVENT_NOUNS}
        self.routes: dict[tuple[str, str], dict[str, Route]] = {
            ("System", "SessionId"): {"GET": self.session_id, "DELETE": self.delete_session},
            ("System", "Messages"): {"GET": self.messages},
            ("System", "MultiNoun"): {"POST": self.multi_noun},
            ("System", "ReconnectSession"): {"GET": self.reconnect_session},
            ("System", "ResyncSession"): {"GET": self.resync_session},
            ("Chasitor", "ChasitorInit"): {"POST": self.chasitor_init},
            **chasitor_events,
            ("Chasitor", "ChatEnd"): {"POST": self.chat_end},
            ("Chasitor", "ChasitorResyncState"): {"POST": self.resync_state},
            ("Visitor", "Settings"): {"GET": self.settings},
            ("Visitor", "Availability"): {"GET": self.availability},
            ("Visitor", "VisitorId"): {"GET": self.visitor_id},
            ("Visitor", "Breadcrumb"): {"POST": self.breadcrumb},
        }

    async def handle(self, request: Request, segments: list[str], ex: RequestNotes) -> Response:
        """`segments` is the path below `/chat/rest/`, split on `/` with empty parts dropped."""
        origin = request.headers.get("origin")
        response = await self._handle(request, segments, ex)
        if origin is not None:  # browser clients (web chat widgets) call the pod cross-origin
            response.headers.append(("Access-Control-Allow-Origin", origin))
            response.headers.append(("Vary", "Origin"))
        return response

    async def _handle(self, request: Request, segments: list[str], ex: RequestNotes) -> Response:
        methods = self.routes.get((segments[0], segments[1])) if len(segments) >= 2 else None
        if methods is None:
            noun = "/".join(segments[:2]) or "(none)"
            return error_response(404, f"unknown resource {noun}", supported=self.supported())
        extra = segments[2:]
        if segments[:2] == ["System", "SessionId"]:  # GET creates; DELETE takes the key as a path segment
            methods = {"DELETE": methods["DELETE"]} if extra else {"GET": methods["GET"]}
        elif extra:
            return error_response(404, f"unknown resource {'/'.join(segments)}")
        if request.method == "OPTIONS" and "origin" in request.headers:
            return _preflight(request, methods)
        allow = ", ".join(sorted(methods))
        handler = methods.get(request.method)
        if handler is None:
            response = error_response(405, f"{request.method} is not allowed here; use {allow}")
            response.headers.append(("Allow", allow))
            return response
        try:
            _check_api_version(request)
            return await handler(request, extra, ex)
        except PodError as exc:
            response = pod_error_response(exc)
            if exc.status == 405:
                response.headers.append(("Allow", allow))
            return response
        except JSONBodyError as exc:
            return error_response(400, str(exc))

    def supported(self) -> list[str]:
        return [f"{prefix}/{noun}" for prefix, noun in self.routes]

    def _session(self, request: Request, ex: RequestNotes) -> Session:
        key = request.headers.get(SESSION_KEY)
        ex.key = key
        session = self.pod.lookup(key)
        if session is not None:
            ex.chat_id = session.id
        return self.pod.resolve(key, request.headers.get(AFFINITY))

    # ---- System ------------------------------------------------------------------------------------------

    async def session_id(self, request: Request, extra: list[str], ex: RequestNotes) -> Response:
        # The affinity header is `null` here (or absent); the sandbox has nothing to route, so ignores it.
        session = self.pod.create_session(ex.base_url)
        ex.chat_id, ex.key = session.id, session.key
        return json_response(
            200,
            {
                "id": session.id,
                "key": session.key,
                "affinityToken": session.affinity,
                "clientPollTimeout": self.pod.settings.client_poll_timeout,
            },
        )

    async def delete_session(self, request: Request, extra: list[str], ex: RequestNotes) -> Response:
        key = "/".join(extra)
        ex.key = key
        found = self.pod.lookup(key)
        ex.chat_id = found.id if found is not None else None
        session = self.pod.resolve(key, request.headers.get(AFFINITY))
        self.pod.delete_session(session)
        return ok()

    async def messages(self, request: Request, extra: list[str], ex: RequestNotes) -> Response:
        session = self._session(request, ex)
        raw_ack = request.query_value("ack")
        ack: int | None = None
        if raw_ack is not None and raw_ack.strip():
            if not _INTEGER.match(raw_ack):
                raise BadRequest("ack must be an integer")
            ack = int(raw_ack)
            if ack < 0:
                ack = None
        batch = await self.pod.poll(session, ack, request.disconnected, commit=not ex.answer_lost)
        if not batch:
            return empty_response(204)
        last = max(m.n for m in batch)
        body = b"".join(
            (
                b'{"messages":[',
                b",".join(m.wire for m in batch),
                b'],"sequence":%d,"offset":%d}' % (last, session.offset_base + last),
            )
        )
        return Response(200, body, "application/json")

    async def reconnect_session(self, request: Request, extra: list[str], ex: RequestNotes) -> Response:
        """After a 503: any affinity header is accepted here (`null` per the guide; IBM sends the old token)."""
        key = request.headers.get(SESSION_KEY)
        ex.key = key
        session = self.pod.lookup(key)
        if session is None:
            raise SessionInvalid("unknown, expired or ended session" if key else "missing X-LIVEAGENT-SESSION-KEY")
        ex.chat_id = session.id
        raw = request.query_value("ReconnectSession.offset")
        offset = None
        if raw is not None and raw.strip():
            if not re.fullmatch(r"\s*-?[0-9]{1,18}\s*", raw):
                raise BadRequest("ReconnectSession.offset must be an integer")
            offset = int(raw)
        token, reset = self.pod.reconnect(session, offset)
        message = {"resetSequence": reset, "affinityToken": token}
        return json_response(200, {"messages": [{"type": "ReconnectSession", "message": message}]})

    async def resync_session(self, request: Request, extra: list[str], ex: RequestNotes) -> Response:
        """Legacy (API ≤ 36): `{isValid, key, affinityToken}`; a new key, the old one stops working."""
        sid = request.query_value("SessionId")
        if not sid:
            raise BadRequest("missing query parameter SessionId")
        key = request.headers.get(SESSION_KEY)
        ex.key = key
        session = self.pod.lookup(key)
        if session is None or session.id != sid:
            return json_response(200, {"isValid": False})
        ex.chat_id = session.id
        new_key, token = self.pod.resync_legacy(session)
        return json_response(200, {"isValid": True, "key": new_key, "affinityToken": token})

    async def multi_noun(self, request: Request, extra: list[str], ex: RequestNotes) -> Response:
        """Several Chasitor POSTs in one: one sequence number; every noun checked, then run in order."""
        session = self._session(request, ex)
        check = self.pod.check_sequence(session, request.headers.get(SEQUENCE))
        if check.duplicate:
            return ok()
        events = parse_multi_noun(parse_json(request.body, required=True))

        def run() -> None:
            if any(e.kind != "end" for e in events):
                self.pod.require_established(session, "MultiNoun")
            for event in events:
                if event.kind == "end":  # the chat is over: anything after it is moot
                    self.pod.chat_end(session, event.data["reason"])
                    return
                self.pod.visitor_event(session, event)

        self.pod.run_numbered(session, check.value, run)
        return ok()

    # ---- Chasitor ----------------------------------------------------------------------------------------

    async def chasitor_init(self, request: Request, extra: list[str], ex: RequestNotes) -> Response:
        session = self._session(request, ex)
        check = self.pod.check_sequence(session, request.headers.get(SEQUENCE))
        if check.duplicate:
            return ok()
        body = parse_json(request.body, required=True)
        self.pod.run_numbered(session, check.value, lambda: self.pod.chasitor_init(session, body))
        return ok()

    def _event_route(self, noun: str) -> Route:
        async def route(request: Request, extra: list[str], ex: RequestNotes) -> Response:
            session = self._session(request, ex)
            check = self.pod.check_sequence(session, request.headers.get(SEQUENCE))
            if check.duplicate:
                return ok()
            body = parse_json(request.body, required=noun not in _BODYLESS)
            event = parse_event(noun, body)
            self.pod.run_numbered(session, check.value, lambda: self.pod.visitor_event(session, event))
            return ok()

        return route

    async def chat_end(self, request: Request, extra: list[str], ex: RequestNotes) -> Response:
        try:
            session = self._session(request, ex)
        except SessionInvalid:
            if self.pod.replayed_final_post(request.headers.get(SESSION_KEY), request.headers.get(SEQUENCE)):
                return ok()
            raise
        check = self.pod.check_sequence(session, request.headers.get(SEQUENCE))
        if check.duplicate:
            return ok()
        reason = end_reason(parse_json(request.body, required=False))
        self.pod.run_numbered(session, check.value, lambda: self.pod.chat_end(session, reason))
        return ok()

    async def resync_state(self, request: Request, extra: list[str], ex: RequestNotes) -> Response:
        """After ChasitorSessionData; it carries no sequence number and does not count as one."""
        session = self._session(request, ex)
        body = parse_json(request.body, required=False)
        self.pod.resync_state(session, body)
        return ok()

    # ---- Visitor -----------------------------------------------------------------------------------------

    async def settings(self, request: Request, extra: list[str], ex: RequestNotes) -> Response:
        return await self.visitor.settings(request, ex.base_url + "/content")

    async def availability(self, request: Request, extra: list[str], ex: RequestNotes) -> Response:
        return await self.visitor.availability(request)

    async def visitor_id(self, request: Request, extra: list[str], ex: RequestNotes) -> Response:
        return await self.visitor.visitor_id(request)

    async def breadcrumb(self, request: Request, extra: list[str], ex: RequestNotes) -> Response:
        key = request.headers.get(SESSION_KEY)
        ex.key = key  # redacted from the log whether or not the pod reads it
        session = self.pod.breadcrumb_session(key)
        if session is not None:
            ex.chat_id = session.id
        return await self.visitor.breadcrumb(request, key)


def _preflight(request: Request, methods: dict[str, Route]) -> Response:
    """A CORS preflight: allow the route's methods and whatever headers the browser asks for."""
    response = empty_response(204)
    response.headers.append(("Access-Control-Allow-Methods", ", ".join(sorted(methods))))
    asked = request.headers.get("access-control-request-headers")
    if asked:
        response.headers.append(("Access-Control-Allow-Headers", asked))
    response.headers.append(("Access-Control-Max-Age", "600"))
    return response


def _check_api_version(request: Request) -> None:
    raw = request.headers.get(API_VERSION)
    if raw is None:
        raise BadRequest("missing X-LIVEAGENT-API-VERSION header")
    if not _INTEGER.match(raw) or int(raw) < 1:
        raise BadRequest("X-LIVEAGENT-API-VERSION must be a positive integer")
