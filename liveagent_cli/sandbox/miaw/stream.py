"""`GET /eventrouter/v1/sse`: the end user's event stream (miaw-api.md 3).

Checks: the bearer token (401, in Spring Boot's shape with `path`, as the reference quotes it), `X-Org-Id`
(400 `OrgId is required` when missing, `OrgId in the header and token must match` when it is not the
token's 15-character org id; the 18-character form only with `org_id_18`), `Last-Event-Id` (a decimal event
id; anything else is ignored, or 400 under the strict profile, which also requires it), and a second
stream of the same subject (`second_stream`: the first is closed, or the second gets 409).

Framing: `id:N\\nevent:TYPE\\ndata:JSON\\n\\n` per event, no space after the colons; `event:ping\\ndata:0\\n\\n`
(no id, so it never moves Last-Event-Id) every `sse_ping` seconds. When the token expires the stream
writes the line `Jwt is expired` and ends; a stream is also ended when a newer stream of its subject
replaces it, when its token is revoked, and when the sandbox resets or stops. An `sse-drop` fault cuts the
connection (no last chunk) after the stream's N-th event.
"""

from __future__ import annotations

import asyncio
import datetime
import time

from liveagent_cli.sandbox.http.server import Request, Response, ResponseStream, json_response
from liveagent_cli.sandbox.miaw.conversation import AccessToken, LoggedEvent, OpenStream
from liveagent_cli.sandbox.miaw.messaging import Messaging
from liveagent_cli.sandbox.miaw.notes import MiawNotes
from liveagent_cli.sandbox.miaw.refusals import JWT_EXPIRED, ORG_ID_MISMATCH, ORG_ID_REQUIRED, BadRequest, MiawError

SSE_PATH = "/eventrouter/v1/sse"
CONTENT_TYPE = "text/event-stream;charset=UTF-8"
EXPIRED_LINE = JWT_EXPIRED.encode() + b"\n\n"
_BATCH = 100  # events per write


def spring_error(status: int, error: str, message: str) -> Response:
    """The shape Spring Boot gives errors of the event router (the reference quotes its 401)."""
    now = datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    body = {"timestamp": now, "status": status, "error": error, "message": message, "path": SSE_PATH}
    return json_response(status, body)


class EventStreamAPI:
    def __init__(self, messaging: Messaging) -> None:
        self.messaging = messaging

    async def open(self, request: Request, notes: MiawNotes, _: str | None) -> Response:
        messaging = self.messaging
        raw = request.headers.get("authorization")
        if raw:
            notes.key = raw.partition(" ")[2].strip() or None
        try:
            token = messaging.authenticate(raw)
        except MiawError as exc:
            return spring_error(401, "Unauthorized", exc.message)
        try:
            self._check_org(request, token)
            after = self._last_event_id(request)
        except MiawError as exc:
            return json_response(exc.status, exc.body())
        try:
            await messaging.may_open_stream(token)
        except MiawError as exc:
            return json_response(exc.status, exc.body())
        cut_after = notes.cut_after

        async def produce(out: ResponseStream) -> None:
            stream, replay = messaging.attach_stream(token, after, cut_after)
            await self._run(stream, replay, out)

        headers = [("Cache-Control", "no-cache"), ("X-Accel-Buffering", "no")]
        return Response(200, content_type=CONTENT_TYPE, headers=headers, stream=produce)

    def _check_org(self, request: Request, token: AccessToken) -> None:
        org = request.headers.get("x-org-id")
        if org is None or not org.strip():
            raise BadRequest(ORG_ID_REQUIRED)
        org = org.strip()
        expected = token.subject.org15
        allowed = org == expected or (self.messaging.settings.org_id_18 and len(org) == 18 and org[:15] == expected)
        if not allowed:
            raise BadRequest(ORG_ID_MISMATCH)

    def _last_event_id(self, request: Request) -> int | None:
        raw = request.headers.get("last-event-id")
        choice = self.messaging.settings.last_event_id
        if raw is None:
            if choice == "strict":
                raise BadRequest("Last-Event-Id is required: the lastEventId of the token, or of the last event")
            return None
        value = raw.strip()
        if value.isdigit() and len(value) <= 19:
            return int(value)
        if choice != "lenient":
            raise BadRequest(f"Last-Event-Id {raw[:40]!r} is not an event id")
        return None

    async def _run(self, stream: OpenStream, replay: list[LoggedEvent], out: ResponseStream) -> None:
        """Write the replay, then every event as it comes, pings between, until something ends the stream."""
        messaging = self.messaging
        settings = messaging.settings
        stream.gone = out.gone
        if messaging.closing:
            stream.end("closing")
        loop = asyncio.get_running_loop()
        next_ping = loop.time() + settings.sse_ping
        try:
            for start in range(0, len(replay), _BATCH):
                if not await self._events(stream, replay[start : start + _BATCH], out):
                    return
            while out.open:
                if stream.ended is not None:
                    if stream.ended == "expired":
                        await out.write(EXPIRED_LINE)
                    return
                if stream.queue:  # what one request caused (a message: echo, receipts, answer) goes in one write
                    batch = [stream.queue.popleft() for _ in range(min(len(stream.queue), _BATCH))]
                    if not await self._events(stream, batch, out):
                        return
                    continue
                remaining = stream.token.expires - time.time()
                if remaining <= 0:
                    stream.end("expired")
                    continue
                wait = min(next_ping - loop.time(), remaining)
                if wait <= 0:
                    stream.pings += 1
                    data = b"0" if settings.ping_data == "zero" else b"%d" % stream.pings
                    if not await out.write(b"event:ping\ndata:%s\n\n" % data):
                        return
                    next_ping = loop.time() + settings.sse_ping
                    continue
                stream.wake = loop.create_future()
                await asyncio.wait([stream.wake, out.gone], timeout=wait, return_when=asyncio.FIRST_COMPLETED)
                stream.wake = None
        finally:
            messaging.stream_closed(stream)

    async def _events(self, stream: OpenStream, events: list[LoggedEvent], out: ResponseStream) -> bool:
        """Write events; False when the stream is over (the reader left, or an `sse-drop` cut it)."""
        cut_after = stream.cut_after
        if cut_after is not None:
            events = events[: cut_after - stream.sent]
        if not await out.write(b"".join(event.frame() for event in events)):
            return False
        stream.sent += len(events)
        if cut_after is not None and stream.sent >= cut_after:
            out.cut()
            return False
        return True
