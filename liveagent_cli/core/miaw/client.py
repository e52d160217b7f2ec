"""The Enhanced Chat client: one method per v2 REST resource (miaw-api.md §2.1, §2.4) and the event stream
(§3), over one `requests.Session`.

It sends exactly what each resource takes (bearer, `X-Org-Id` with the 15-character org id, JSON or
multipart), puts an explicit timeout on every call, reports every exchange to `on_exchange` (the --verbose
wire log, which redacts the bearer token) and turns every failure into the tool's own errors: 401 is
SessionGoneError (the token expired or was revoked), 417 NoMessagingSessionError, 429 RateLimitedError with
the server's Retry-After. Like LiveAgentClient it does not retry and keeps no state beyond its token and
the connection pool: the flows decide (flows/miaw/).
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from liveagent_cli.core.errors import (
    ApiError,
    NetworkError,
    NoMessagingSessionError,
    RateLimitedError,
    SessionGoneError,
)
from liveagent_cli.core.exchange import CONNECT_TIMEOUT, POST_TIMEOUT, Exchanger, WireRecord, new_http_session
from liveagent_cli.core.miaw.sse import SseEvent, SseParser, SseTooLarge
from liveagent_cli.core.network_errors import network_error

if TYPE_CHECKING:
    import requests

API_PATH = "/iamessage/api/v2/"
SSE_PATH = "/eventrouter/v1/sse"
CONFIG_PATH = "/embeddedservice/v1/"
CAPABILITIES_VERSION = "1"
PLATFORM = "Web"
STREAM_READ = 64 * 1024
STREAM_READ_TIMEOUT = 60.0  # seconds of silence before a stream counts as lost; pings come more often (§3.2)
SERVER_HINT = "check --pod: it must be the deployment's Messaging URL (https://NAME.my.salesforce-scrt.com)"
TOKEN_HINT = "start a new session with `liveagent session` (a verified user gets the same conversations back)"


def new_id() -> str:
    """A lowercase v4 UUID: conversations, messages and entries are named by the client (§1.2)."""
    return str(uuid.uuid4())


def org15(org_id: str) -> str:
    """The 15-character form of an org id, which the event stream's `X-Org-Id` must carry (§1.2)."""
    return org_id[:15]


@dataclass(frozen=True)
class TokenGrant:
    """An access-token answer (§2.2): the JWT, the stream position to start from, and the deployment's context."""

    access_token: str
    last_event_id: str
    context: dict[str, Any]

    @property
    def configuration(self) -> dict[str, Any]:
        """`context.configuration.embeddedServiceConfig`: the deployment, its pre-chat forms."""
        configuration = self.context.get("configuration")
        config = configuration.get("embeddedServiceConfig") if isinstance(configuration, dict) else None
        return config if isinstance(config, dict) else {}

    @property
    def subject(self) -> str:
        end_user = self.context.get("endUser")
        subject = end_user.get("subject") if isinstance(end_user, dict) else None
        return subject if isinstance(subject, str) else ""

    @property
    def device_id(self) -> str:
        device = self.context.get("deviceId")
        return device if isinstance(device, str) else ""


class MiawMultipart:
    """A multipart/form-data body for Send File (§2.1 #10): the `messageEntry` JSON part, then `fileData`,
    the file read in chunks so a large file streams with a Content-Length and `on_progress` can follow it."""

    CHUNK = 64 * 1024

    def __init__(self, entry: Mapping[str, Any], filename: str, content_type: str, stream: IO[bytes], size: int):
        boundary = f"liveagent-{uuid.uuid4().hex}"
        self.content_type = f"multipart/form-data; boundary={boundary}"
        safe_name = filename.replace('"', "%22").replace("\r", "").replace("\n", "")
        entry_json = json.dumps(entry, ensure_ascii=False).encode("utf-8")
        self._head = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="messageEntry"\r\n'
                "Content-Type: application/json\r\n\r\n"
            ).encode()
            + entry_json
            + (
                f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="fileData"; filename="{safe_name}"\r\n'
                f"Content-Type: {content_type}\r\n\r\n"
            ).encode()
        )
        self._tail = f"\r\n--{boundary}--\r\n".encode()
        self._stream: IO[bytes] | None = stream
        self.len = len(self._head) + size + len(self._tail)
        self.on_progress: Callable[[int], None] | None = None
        self._parts = [self._head]

    def __len__(self) -> int:
        return self.len

    def read(self, n: int = -1) -> bytes:
        if self._parts:
            return self._parts.pop()
        if self._stream is None:
            return b""
        chunk = self._stream.read(self.CHUNK)
        if not chunk:
            self._stream = None
            return self._tail
        if self.on_progress is not None:
            self.on_progress(len(chunk))
        return chunk


class StreamEnded(Exception):
    """The event stream is over: `why` is "closed" (the server ended it) or "expired" (it wrote a line saying
    the token expired first, §3.5: `Jwt is expired`)."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


class EventStream:
    """An open `GET /eventrouter/v1/sse`, read by a thread of its own so the caller can wait with any timeout.

    The reader takes whatever the connection has (at most 64 KiB at a time), so an event is handed on the
    moment its blank line arrives. A socket that timed out cannot be read again (Python's SocketIO), so the
    caller's waits are on a queue, never on the socket; the queue is bounded, so a slow caller holds the
    server back through TCP instead of growing memory. `next(timeout)` returns the next event (pings
    included), None when `timeout` passed first, raises StreamEnded at the end and the tool's own error
    (NetworkError, ApiError) when the stream failed.
    """

    QUEUE_SIZE = 256

    def __init__(self, response: requests.Response, parser: SseParser, url: str, read_timeout: float) -> None:
        import queue
        import threading

        self._response = response
        self.parser = parser
        self._url = url
        self._read_timeout = read_timeout
        self._queue: queue.Queue[SseEvent | BaseException] = queue.Queue(self.QUEUE_SIZE)
        self._closed = threading.Event()
        self._done: BaseException | None = None
        self._thread = threading.Thread(target=self._read, name="liveagent-sse", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        import requests
        import urllib3

        raw = self._response.raw
        outcome: BaseException
        try:
            while not self._closed.is_set():
                chunk = raw.read1(STREAM_READ)
                if not chunk:
                    break
                for event in self.parser.feed(chunk):
                    self._put(event)
            for event in self.parser.close():
                self._put(event)
            stray = (self.parser.stray or "").lower()
            outcome = StreamEnded("expired" if "expired" in stray else "closed")
        except SseTooLarge as exc:
            outcome = ApiError(f"the event stream sent {exc}; refusing to buffer it", hint=SERVER_HINT)
        except Exception as exc:  # noqa: BLE001 - a connection closed under the reader fails in http.client's own ways
            if self._closed.is_set():
                outcome = StreamEnded("closed")
            else:
                known = (requests.RequestException, urllib3.exceptions.HTTPError, OSError, ValueError)
                outcome = network_error(
                    exc if isinstance(exc, known) else OSError(str(exc)), self._url, self._read_timeout
                )
        self._put(outcome)

    def _put(self, item: SseEvent | BaseException) -> None:
        import queue

        while not self._closed.is_set():
            try:
                self._queue.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def next(self, timeout: float | None) -> SseEvent | None:
        """The next event; None when `timeout` seconds passed without one (None waits as long as it takes)."""
        import queue

        if self._done is not None:
            raise self._done
        try:
            item = self._queue.get(timeout=None if timeout is None else max(0.0, timeout))
        except queue.Empty:
            return None
        if isinstance(item, BaseException):
            self._done = item
            raise item
        return item

    def close(self) -> None:
        """Stop reading and close the connection (shut down first, so a reader blocked in recv wakes)."""
        import socket

        self._closed.set()
        connection = getattr(self._response.raw, "connection", None)
        sock = getattr(connection, "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(Exception):
            self._response.close()


class MiawClient(Exchanger):
    """Talks to one Enhanced Chat server (its Messaging URL) as one end user (the bearer token)."""

    def __init__(
        self,
        messaging_url: str,
        org_id: str,
        deployment_name: str,
        *,
        token: str | None = None,
        on_exchange: Callable[[WireRecord], None] | None = None,
        http: requests.Session | None = None,
    ) -> None:
        self.base = messaging_url.rstrip("/")
        self.org_id = org_id
        self.deployment_name = deployment_name
        self.token = token
        self.on_exchange = on_exchange
        self._http = http if http is not None else new_http_session()
        self._ca_checked = False
        self.too_large, self.too_large_hint = "the server's answer", SERVER_HINT

    def close(self) -> None:
        self._http.close()

    # -- tokens (§1.3, §2.1 #1-#4) ------------------------------------------------------------------------
    def guest_token(self, *, device_id: str = "", timeout: float = POST_TIMEOUT) -> TokenGrant:
        """POST …/authorization/unauthenticated/access-token: a token for an unverified guest."""
        body = self._token_body(device_id)
        return self._grant(
            self._api("POST", "authorization/unauthenticated/access-token", body=body, bearer=False, timeout=timeout)
        )

    def verified_token(self, identity_token: str, *, device_id: str = "", timeout: float = POST_TIMEOUT) -> TokenGrant:
        """POST …/authorization/authenticated/access-token with the customer-signed identity JWT."""
        body = {**self._token_body(device_id), "authorizationType": "JWT", "customerIdentityToken": identity_token}
        return self._grant(
            self._api("POST", "authorization/authenticated/access-token", body=body, bearer=False, timeout=timeout)
        )

    def continuation_token(self, timeout: float = POST_TIMEOUT) -> TokenGrant:
        """GET …/authorization/continuation-access-token: same subject, new clientId, same expiry (not a refresh)."""
        return self._grant(self._api("GET", "authorization/continuation-access-token", timeout=timeout))

    def revoke_token(self, timeout: float = POST_TIMEOUT) -> None:
        """DELETE …/authorization/authenticated/access-token (verified users only)."""
        self._api("DELETE", "authorization/authenticated/access-token", timeout=timeout)

    def _token_body(self, device_id: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "orgId": self.org_id,
            "esDeveloperName": self.deployment_name,
            "capabilitiesVersion": CAPABILITIES_VERSION,
            "platform": PLATFORM,
        }
        if device_id:
            body["deviceId"] = device_id
        return body

    def _grant(self, response: requests.Response) -> TokenGrant:
        body = self._json(response, "access token")
        token = body.get("accessToken")
        if not isinstance(token, str) or not token:
            raise ApiError("the access-token answer has no accessToken", hint=SERVER_HINT)
        last = body.get("lastEventId")
        context = body.get("context")
        self.token = token
        return TokenGrant(
            token,
            "" if last is None or isinstance(last, bool) else str(last),
            context if isinstance(context, dict) else {},
        )

    # -- conversations (§2.1 #5-#8, #13-#14) ---------------------------------------------------------------
    def create_conversation(
        self,
        conversation_id: str,
        *,
        routing_attributes: Mapping[str, Any] | None = None,
        language: str = "",
        timeout: float = POST_TIMEOUT,
    ) -> dict[str, Any]:
        """POST …/conversation with the client's own id: the conversation and its first messaging session."""
        body: dict[str, Any] = {"conversationId": conversation_id, "esDeveloperName": self.deployment_name}
        if routing_attributes:
            body["routingAttributes"] = dict(routing_attributes)
        if language:
            body["language"] = language
        return self._json_or_empty(self._api("POST", "conversation", body=body, timeout=timeout))

    def conversation_status(self, conversation_id: str, timeout: float = POST_TIMEOUT) -> dict[str, Any]:
        """GET …/conversation/{id}: `routingStatus` (INITIAL, ROUTED, NEEDS_ROUTING, TRANSFER)."""
        return self._json(self._api("GET", f"conversation/{conversation_id}", timeout=timeout), "conversation")

    def list_conversations(
        self, *, include_closed: bool = False, limit: int = 20, timeout: float = POST_TIMEOUT
    ) -> dict[str, Any]:
        """GET …/conversation/list: the end user's conversations (`limit` at most 50)."""
        params = {"inclClosedConvs": "true" if include_closed else "false", "limit": str(limit)}
        return self._json(self._api("GET", "conversation/list", params=params, timeout=timeout), "conversation list")

    def entries(
        self,
        conversation_id: str,
        *,
        limit: int = 50,
        direction: str = "FromStart",
        start_timestamp: int | None = None,
        end_timestamp: int | None = None,
        entry_types: tuple[str, ...] = (),
        timeout: float = POST_TIMEOUT,
    ) -> list[dict[str, Any]]:
        """GET …/conversation/{id}/entries: one page (at most 50) of the conversation's entries."""
        params = {"limit": str(limit), "direction": direction}
        if start_timestamp is not None:
            params["startTimestamp"] = str(start_timestamp)
        if end_timestamp is not None:
            params["endTimestamp"] = str(end_timestamp)
        if entry_types:
            params["entryTypeFilter"] = ",".join(entry_types)
        response = self._api("GET", f"conversation/{conversation_id}/entries", params=params, timeout=timeout)
        body = self._json(response, "entries")
        entries = body.get("conversationEntries")
        if not isinstance(entries, list):
            raise ApiError("the entries answer has no conversationEntries list", hint=SERVER_HINT)
        return [e for e in entries if isinstance(e, dict)]

    def end_session(self, conversation_id: str, timeout: float = POST_TIMEOUT) -> None:
        """DELETE …/conversation/{id}/session: the messaging session ends, the conversation stays (204)."""
        params = {"esDeveloperName": self.deployment_name}
        self._api("DELETE", f"conversation/{conversation_id}/session", params=params, timeout=timeout)

    def close_conversation(self, conversation_id: str, timeout: float = POST_TIMEOUT) -> None:
        """DELETE …/conversation/{id}: closed for good (204); no body (a body is refused, §2.1 #13)."""
        params = {"esDeveloperName": self.deployment_name}
        self._api("DELETE", f"conversation/{conversation_id}", params=params, timeout=timeout)

    # -- what the end user sends (§2.1 #9-#12) ------------------------------------------------------------
    def send_message(
        self,
        conversation_id: str,
        message: Mapping[str, Any],
        *,
        new_session: bool = False,
        routing_attributes: Mapping[str, Any] | None = None,
        language: str = "",
        timeout: float = POST_TIMEOUT,
    ) -> dict[str, Any]:
        """POST …/conversation/{id}/message (202). `message` carries the id chosen by the caller, so a repeat is
        the same message to the server; `new_session` starts a messaging session (after a 417)."""
        body: dict[str, Any] = {"message": dict(message), "esDeveloperName": self.deployment_name}
        if new_session:
            body["isNewMessagingSession"] = True
            body["routingAttributes"] = dict(routing_attributes or {})  # even {} (§2.1 #9, F-AGENT)
            body["language"] = language or "en_US"
        elif language:
            body["language"] = language
        return self._json_or_empty(
            self._api("POST", f"conversation/{conversation_id}/message", body=body, timeout=timeout)
        )

    def send_file(
        self,
        conversation_id: str,
        body: MiawMultipart,
        timeout: float = POST_TIMEOUT,
    ) -> None:
        """POST …/conversation/{id}/file: multipart `messageEntry` + `fileData` (202; 413 too large, 415 type)."""
        self._api(
            "POST", f"conversation/{conversation_id}/file", data=body, content_type=body.content_type, timeout=timeout
        )

    def file_body(
        self,
        message_id: str,
        file_id: str,
        filename: str,
        content_type: str,
        stream: IO[bytes],
        size: int,
        *,
        text: str = "",
        new_session: bool = False,
        routing_attributes: Mapping[str, Any] | None = None,
        language: str = "",
    ) -> MiawMultipart:
        """The multipart body of a file, its `messageEntry` as §2.1 #10 names it."""
        message: dict[str, Any] = {"id": message_id, "fileId": file_id}
        if text:
            message["text"] = text
        entry: dict[str, Any] = {"esDeveloperName": self.deployment_name, "message": message}
        if new_session:
            entry["isNewMessagingSession"] = True
            entry["routingAttributes"] = dict(routing_attributes or {})
            entry["language"] = language or "en_US"
        return MiawMultipart(entry, filename, content_type, stream, size)

    def typing(self, conversation_id: str, on: bool, entry_id: str, timeout: float = POST_TIMEOUT) -> None:
        """POST …/conversation/{id}/entry: TypingStartedIndicator or TypingStoppedIndicator."""
        body = {"entryType": "TypingStartedIndicator" if on else "TypingStoppedIndicator", "id": entry_id}
        self._api("POST", f"conversation/{conversation_id}/entry", body=body, timeout=timeout)

    def acknowledge(self, conversation_id: str, acks: list[dict[str, str]], timeout: float = POST_TIMEOUT) -> None:
        """POST …/conversation/{id}/acknowledge-entries: `{acks: [{id, entryType, conversationEntryId}]}`."""
        self._api("POST", f"conversation/{conversation_id}/acknowledge-entries", body={"acks": acks}, timeout=timeout)

    # -- the deployment (§2.4, no bearer) ------------------------------------------------------------------
    def embedded_service_config(self, language: str = "en_US", timeout: float = POST_TIMEOUT) -> dict[str, Any]:
        """GET /embeddedservice/v1/embedded-service-config: the published configuration (412 if never published)."""
        params = {"orgId": self.org_id, "esConfigName": self.deployment_name, "language": language}
        response = self._send(
            "GET", self.base + CONFIG_PATH + "embedded-service-config", params=params, bearer=False, timeout=timeout
        )
        return self._json(response, "embedded-service-config")

    def business_hours(self, timeout: float = POST_TIMEOUT) -> dict[str, Any]:
        """GET /embeddedservice/v1/businesshours: `{businessHoursInfo: {businessHours: [{startTime, endTime}]}}`."""
        params = {"orgId": self.org_id, "esConfigName": self.deployment_name}
        response = self._send(
            "GET", self.base + CONFIG_PATH + "businesshours", params=params, bearer=False, timeout=timeout
        )
        return self._json(response, "businesshours")

    # -- the event stream (§3) ----------------------------------------------------------------------------
    def open_stream(
        self, last_event_id: str, *, connect_timeout: float = CONNECT_TIMEOUT, read_timeout: float = STREAM_READ_TIMEOUT
    ) -> EventStream:
        """GET /eventrouter/v1/sse from `last_event_id` (empty: none): open once its 200 and headers came."""
        headers = {
            "Accept": "text/event-stream",
            "Cache-Control": "no-cache",
            "Accept-Encoding": "identity",  # compression would hold events back in buffers
            "X-Org-Id": org15(self.org_id),
        }
        if last_event_id:
            headers["Last-Event-Id"] = last_event_id
        url = self.base + SSE_PATH
        response = self._send(
            "GET", url, headers=headers, timeout=read_timeout, connect_timeout=connect_timeout, stream=True
        )
        ctype = response.headers.get("Content-Type", "")
        if not ctype.lower().startswith("text/event-stream"):
            response.close()
            raise ApiError(
                f"the event stream answered {ctype or 'no Content-Type'}, not text/event-stream",
                hint=SERVER_HINT,
                status=response.status_code,
            )
        return EventStream(response, SseParser(last_event_id), url, read_timeout)

    # -- plumbing ------------------------------------------------------------------------------------------
    def _api(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        data: Any = None,
        content_type: str = "",
        bearer: bool = True,
        timeout: float = POST_TIMEOUT,
    ) -> requests.Response:
        headers: dict[str, str] = {}
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            content_type = "application/json"
        if content_type:
            headers["Content-Type"] = content_type
        return self._send(
            method,
            self.base + API_PATH + path,
            params=params,
            data=data,
            headers=headers,
            bearer=bearer,
            timeout=timeout,
        )

    def _send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        bearer: bool = True,
        timeout: float = POST_TIMEOUT,
        connect_timeout: float = CONNECT_TIMEOUT,
        stream: bool = False,
    ) -> requests.Response:
        """One exchange with an explicit timeout, logged, its failures turned into the tool's errors."""

        sent = dict(headers or {})
        if bearer:
            if not self.token:
                raise SessionGoneError("no access token", hint="start one with `liveagent session`")
            sent["Authorization"] = f"Bearer {self.token}"
            sent.setdefault("X-Org-Id", org15(self.org_id))
        response = self._exchange(
            method,
            url,
            params=params,
            data=data,
            headers=sent,
            connect_timeout=connect_timeout,
            read_timeout=timeout,
            keep_open=stream,
        )
        _check_status(response, method, url)
        return response

    @staticmethod
    def _json(response: requests.Response, what: str) -> dict[str, Any]:
        try:
            body = json.loads(response.content)
        except (ValueError, UnicodeDecodeError):
            raise ApiError(f"the {what} answer is not JSON", hint=SERVER_HINT) from None
        if not isinstance(body, dict):
            raise ApiError(f"the {what} answer is not a JSON object", hint=SERVER_HINT)
        return body

    @staticmethod
    def _json_or_empty(response: requests.Response) -> dict[str, Any]:
        """A body that may be empty (202, 201): its JSON object, else {}."""
        try:
            body = json.loads(response.content) if response.content.strip() else {}
        except (ValueError, UnicodeDecodeError):
            return {}
        return body if isinstance(body, dict) else {}


def _noun(url: str) -> str:
    """A short name for the resource of `url`, for messages: `message`, `entries`, `sse`, `access-token`."""
    from urllib.parse import urlsplit

    parts = [p for p in urlsplit(url).path.split("/") if p]
    if parts[-1:] and len(parts[-1]) == 36 and parts[-1].count("-") == 4:
        return "conversation"
    return parts[-1] if parts else url


def server_message(response: requests.Response) -> str:
    """The error text of an answer: `.message` of a JSON body (§2.5), else a printable excerpt; never HTML."""
    ctype = response.headers.get("Content-Type", "").lower()
    raw = response.content[:2000]  # read already: only a 2xx stream is left unread
    if "html" in ctype or raw.lstrip().lower().startswith((b"<!doctype html", b"<html")):
        return ""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        body = None
    if isinstance(body, dict):
        for key in ("message", "text", "error"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return _printable(value)
    return _printable(raw[:300].decode("utf-8", "replace"))


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else " " for c in text).strip()[:200]


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: a number of seconds, or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _check_status(response: requests.Response, method: str, url: str) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    noun = _noun(url)
    said = server_message(response)
    detail = f": {said}" if said else ""
    if status == 401:
        raise SessionGoneError(
            f"the Enhanced Chat server refused the access token (401 on {noun}){detail}: it expired or was revoked",
            hint=TOKEN_HINT,
            reason="401: the access token expired or was revoked",
        )
    if status == 417:
        raise NoMessagingSessionError(
            f"{method} {noun}: the conversation has no messaging session (417)",
            hint="the agent ended it; the next message starts a new one",
            status=status,
            body=said,
        )
    if status == 429:
        raise RateLimitedError(
            f"{method} {noun} was rate limited (429){detail}",
            hint="the server limits requests per conversation and org; wait, then try again",
            retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            body=said,
        )
    if status == 412 and noun == "embedded-service-config":
        raise ApiError(
            f"the deployment's configuration is not published (412){detail}",
            hint="publish the Embedded Service deployment in Setup (Embedded Service Deployments → Publish)",
            status=status,
            body=said,
        )
    if status == 404:
        hint = (
            SERVER_HINT
            if noun not in ("conversation", "entries", "message", "file", "entry", "session")
            else ("the conversation is not this end user's or no longer exists: start again with `liveagent session`")
        )
    elif status in (413, 415):
        hint = "the server takes files up to 5 MB of the types the deployment allows"
    else:
        hint = "rerun with --verbose to see the exchange"
    raise ApiError(f"{method} {noun} failed with HTTP {status}{detail}", hint=hint, status=status, body=said)


# NetworkError is re-exported for the flows' retry loops over stream reads
__all__ = ["EventStream", "MiawClient", "MiawMultipart", "NetworkError", "TokenGrant", "new_id", "org15"]
