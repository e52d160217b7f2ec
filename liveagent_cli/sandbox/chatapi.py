"""The visitor-side Chat REST API under `/chat/rest/`: HTTP in, pod operations, HTTP out.

Checks run in this order: route (404 unknown resource, 405 wrong method), `X-LIVEAGENT-API-VERSION` (400
missing or not an integer), session key (403 missing or unknown), affinity (503 when present and not the
session's token, `null` included; tolerated when absent or empty, as the seed article's client sends none),
sequence (a duplicate → 200, not processed), body (400). Browser clients get CORS: a preflight
(`OPTIONS` with `Origin`) is answered 204, and every answer to a request with `Origin` allows that origin.
Chasitor POSTs answer 200 with the text body `OK`; SessionId DELETE too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from liveagent_cli.sandbox.httpd import (
    Request,
    Response,
    empty_response,
    error_response,
    json_response,
    text_response,
)
from liveagent_cli.sandbox.pod import BadRequest, Pod, PodError, Session, SessionInvalid

API_VERSION = "x-liveagent-api-version"
AFFINITY = "x-liveagent-affinity"
SESSION_KEY = "x-liveagent-session-key"
SEQUENCE = "x-liveagent-sequence"

_INTEGER = re.compile(r"\s*-?[0-9]{1,9}\s*\Z")

Route = Callable[[Request, list[str]], Awaitable[Response]]


def parse_json_object(body: bytes, *, required: bool) -> dict[str, Any]:
    """A JSON object body; 400 for malformed JSON, for a non-object, or for nothing when one is required."""
    if not body.strip():
        if required:
            raise BadRequest("the request body must be a JSON object")
        return {}
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadRequest("malformed JSON in the request body") from None
    if not isinstance(data, dict):
        raise BadRequest("the request body must be a JSON object")
    return data


def _end_reason(body: dict[str, Any]) -> str:
    """ChatEnd's reason in the shapes clients send: {reason}, {type, reason}, {ChatEndReason: {reason}}."""
    reason = body.get("reason")
    nested = body.get("ChatEndReason")
    if reason is None and isinstance(nested, dict):
        reason = nested.get("reason")
    return reason if isinstance(reason, str) and reason else "client"


class ChatAPI:
    def __init__(self, pod: Pod) -> None:
        self.pod = pod
        # (prefix, noun) -> method -> handler; later nouns (typing, sneak peek, MultiNoun ...) slot in here.
        self.routes: dict[tuple[str, str], dict[str, Route]] = {
            ("System", "SessionId"): {"GET": self.session_id, "DELETE": self.delete_session},
            ("System", "Messages"): {"GET": self.messages},
            ("Chasitor", "ChasitorInit"): {"POST": self.chasitor_init},
            ("Chasitor", "ChatMessage"): {"POST": self.chat_message},
            ("Chasitor", "ChatEnd"): {"POST": self.chat_end},
        }

    async def handle(self, request: Request, segments: list[str]) -> Response:
        """`segments` is the path below `/chat/rest/`, split on `/` with empty parts dropped."""
        origin = request.headers.get("origin")
        response = await self._handle(request, segments)
        if origin is not None:  # browser clients (web chat widgets) call the pod cross-origin
            response.headers.append(("Access-Control-Allow-Origin", origin))
            response.headers.append(("Vary", "Origin"))
        return response

    async def _handle(self, request: Request, segments: list[str]) -> Response:
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
        handler = methods.get(request.method)
        if handler is None:
            allow = ", ".join(sorted(methods))
            response = error_response(405, f"{request.method} is not allowed here; use {allow}")
            response.headers.append(("Allow", allow))
            return response
        try:
            _check_api_version(request)
            return await handler(request, extra)
        except PodError as exc:
            return error_response(exc.status, exc.message)

    def supported(self) -> list[str]:
        return [f"{prefix}/{noun}" for prefix, noun in self.routes]

    def _session(self, request: Request) -> Session:
        return self.pod.resolve(request.headers.get(SESSION_KEY), request.headers.get(AFFINITY))

    # ---- System ------------------------------------------------------------------------------------------

    async def session_id(self, request: Request, extra: list[str]) -> Response:
        # The affinity header is `null` here (or absent); the sandbox has nothing to route, so ignores it.
        session = self.pod.create_session()
        return json_response(200, {
            "id": session.id,
            "key": session.key,
            "affinityToken": session.affinity,
            "clientPollTimeout": self.pod.settings.client_poll_timeout,
        })

    async def delete_session(self, request: Request, extra: list[str]) -> Response:
        key = "/".join(extra)
        session = self.pod.resolve(key, request.headers.get(AFFINITY))
        self.pod.delete_session(session)
        return text_response(200, "OK")

    async def messages(self, request: Request, extra: list[str]) -> Response:
        session = self._session(request)
        raw_ack = request.query_value("ack")
        ack: int | None = None
        if raw_ack is not None and raw_ack.strip():
            if not _INTEGER.match(raw_ack):
                raise BadRequest("ack must be an integer")
            ack = int(raw_ack)
            if ack < 0:
                ack = None
        batch = await self.pod.poll(session, ack, request.disconnected)
        if not batch:
            return empty_response(204)
        last = batch[-1].n
        body = b"".join((
            b'{"messages":[', b",".join(m.wire for m in batch),
            b'],"sequence":%d,"offset":%d}' % (last, session.offset_base + last),
        ))
        return Response(200, body, "application/json")

    # ---- Chasitor ----------------------------------------------------------------------------------------

    async def chasitor_init(self, request: Request, extra: list[str]) -> Response:
        session = self._session(request)
        check = self.pod.check_sequence(session, request.headers.get(SEQUENCE))
        if check.duplicate:
            return text_response(200, "OK")
        body = parse_json_object(request.body, required=True)
        self.pod.chasitor_init(session, body, check.value)
        return text_response(200, "OK")

    async def chat_message(self, request: Request, extra: list[str]) -> Response:
        session = self._session(request)
        check = self.pod.check_sequence(session, request.headers.get(SEQUENCE))
        if check.duplicate:
            return text_response(200, "OK")
        body = parse_json_object(request.body, required=True)
        text = body.get("text")
        if not isinstance(text, str):
            raise BadRequest("ChatMessage needs a string `text`")
        self.pod.chat_message(session, text, check.value)
        return text_response(200, "OK")

    async def chat_end(self, request: Request, extra: list[str]) -> Response:
        try:
            session = self._session(request)
        except SessionInvalid:
            if self.pod.replayed_final_post(request.headers.get(SESSION_KEY), request.headers.get(SEQUENCE)):
                return text_response(200, "OK")
            raise
        check = self.pod.check_sequence(session, request.headers.get(SEQUENCE))
        if check.duplicate:
            return text_response(200, "OK")
        body = parse_json_object(request.body, required=False)
        self.pod.chat_end(session, _end_reason(body), check.value)
        return text_response(200, "OK")


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
