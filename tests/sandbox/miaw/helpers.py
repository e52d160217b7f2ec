"""Helpers for the Enhanced Chat (MIAW) conformance suite: a hand-written end user over plain `requests`, an SSE
reader over a raw socket, and the control API over plain HTTP.

Everything here restates shared/reference/miaw-api.md by hand (paths §2.1, headers §1.4, framing §3.2,
envelope §3.3), so a misreading in the sandbox cannot hide behind the same misreading in a shared client.
Nothing is imported from the project but `liveagent_cli.sandbox`, to start the server.
"""

from __future__ import annotations

import base64
import codecs
import itertools
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import requests

from liveagent_cli.sandbox import Sandbox

API = "/iamessage/api/v2/"
SSE_PATH = "/eventrouter/v1/sse"
CONFIG_PATH = "/embeddedservice/v1/embedded-service-config"
HOURS_PATH = "/embeddedservice/v1/businesshours"
DEPLOYMENT = "Pytest_Custom_Client"

# Event names (§3.2) and the entry types inside them (§3.4).
ROUTING_RESULT = "CONVERSATION_ROUTING_RESULT"
PARTICIPANT_CHANGED = "CONVERSATION_PARTICIPANT_CHANGED"
MESSAGE = "CONVERSATION_MESSAGE"
TYPING_STARTED = "CONVERSATION_TYPING_STARTED_INDICATOR"
TYPING_STOPPED = "CONVERSATION_TYPING_STOPPED_INDICATOR"
DELIVERY_ACK = "CONVERSATION_DELIVERY_ACKNOWLEDGEMENT"
READ_ACK = "CONVERSATION_READ_ACKNOWLEDGEMENT"
SESSION_STATUS = "CONVERSATION_SESSION_STATUS_CHANGED"
CLOSE_CONVERSATION = "CONVERSATION_CLOSE_CONVERSATION"
PING = "ping"

_orgs = itertools.count(1)


def fresh_org() -> str:
    """A 15-character org id of its own, so per-org limits (§6) of other tests never touch this one."""
    return f"00D{next(_orgs):07d}{uuid.uuid4().hex[:5].upper()}"


def new_id() -> str:
    """A lowercase v4 UUID, as every client generates for conversations, messages and entries (§1.2)."""
    return str(uuid.uuid4())


def jwt_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and claims of a JWT, read without checking the signature (clients treat it as opaque)."""
    head, body, _signature = token.split(".")
    return _b64json(head), _b64json(body)


def _b64json(part: str) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def identity_token(sub: str, *, iss: str = "pytest-issuer", lifetime: int = 600) -> str:
    """A customer identity JWT shaped as Salesforce's key utility makes them (RS256, kid; sub, iss, iat, exp).

    The signature is not a real one: the sandbox has no customer keyset to check it against.
    """
    now = int(time.time())
    head = b64url(json.dumps({"alg": "RS256", "typ": "JWT", "kid": "pytest-key"}).encode())
    body = b64url(json.dumps({"sub": sub, "iss": iss, "iat": now, "exp": now + lifetime}).encode())
    return f"{head}.{body}.{b64url(b'not-a-real-signature')}"


def error_message(response: requests.Response) -> str:
    """The error text of a JSON error body (§2.5: clients read `.message`)."""
    assert response.headers.get("Content-Type", "").startswith("application/json"), (
        response.status_code,
        response.headers.get("Content-Type"),
        response.text[:200],
    )
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("message"), str) and body["message"], body
    text: str = body["message"]
    return text


def text_message(text: str, message_id: str | None = None) -> dict[str, Any]:
    return {
        "id": message_id or new_id(),
        "messageType": "StaticContentMessage",
        "staticContent": {"formatType": "Text", "text": text},
    }


# ---- the event stream -------------------------------------------------------------------------------


@dataclass
class Event:
    """One SSE event as it came off the wire: its lines, and the id/event/data fields they set."""

    lines: list[str]
    id: str | None = None
    event: str | None = None
    data: str = ""

    def json(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.data)
        return parsed

    @property
    def entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = self.json()["conversationEntry"]
        return entry

    @property
    def payload(self) -> dict[str, Any]:
        """`entryPayload`, which is a JSON string inside the event's JSON (§1.5): parsed a second time."""
        raw = self.entry["entryPayload"]
        assert isinstance(raw, str), f"entryPayload must be a JSON string on the stream, got {type(raw).__name__}"
        payload: dict[str, Any] = json.loads(raw)
        return payload

    @property
    def conversation_id(self) -> str:
        value: str = self.json()["conversationId"]
        return value

    @property
    def role(self) -> str:
        role: str = self.entry["sender"]["role"]
        return role

    @property
    def text(self) -> str | None:
        """The text of a StaticContentMessage Text message, else None."""
        if self.event != MESSAGE:
            return None
        message = self.payload.get("abstractMessage") or {}
        content = message.get("staticContent") or {}
        text = content.get("text")
        return text if isinstance(text, str) else None

    @property
    def message_id(self) -> str | None:
        if self.event != MESSAGE:
            return None
        value = (self.payload.get("abstractMessage") or {}).get("id")
        return value if isinstance(value, str) else None


def parse_block(block: str) -> Event:
    """One event block (the lines before a blank line), by the SSE rules: `field:value` or `field: value`."""
    event = Event(lines=block.split("\n"))
    data: list[str] = []
    for line in event.lines:
        if line.startswith(":"):
            continue
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "id":
            event.id = value
        elif name == "event":
            event.event = value
        elif name == "data":
            data.append(value)
    event.data = "\n".join(data)
    return event


class StreamClosed(AssertionError):
    pass


@dataclass(repr=False)
class SseStream:
    """`GET /eventrouter/v1/sse` on a raw socket: we choose every header byte, and read the framing as sent.

    Handles a chunked or a read-until-close body. `status`, `headers` and (for an error) `body` are set on open.
    """

    host: str
    port: int
    headers: dict[str, str]
    path: str = SSE_PATH
    method: str = "GET"
    status: int = 0
    reason: str = ""
    response_headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    wire: bytearray = field(default_factory=bytearray)  # the decoded body so far (after chunking)
    seen: list[Event] = field(default_factory=list)
    eof: bool = False
    _sock: socket.socket | None = None
    _raw: bytearray = field(default_factory=bytearray)
    _chunked: bool = False
    _chunk_left: int = 0
    _chunk_trailer: bool = False
    _text: str = ""
    _pending: bytearray = field(default_factory=bytearray)
    _utf8: codecs.IncrementalDecoder = field(default_factory=lambda: codecs.getincrementaldecoder("utf-8")())

    def __repr__(self) -> str:
        return f"<SseStream {self.status} {len(self.seen)} events, eof={self.eof}>"

    def open(self, timeout: float = 10.0, *, receive_buffer: int | None = None) -> SseStream:
        """Connect and read the response head; `receive_buffer` shrinks our socket's buffer (a slow reader)."""
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if receive_buffer is not None:
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self._sock.settimeout(timeout)
        self._sock.connect((self.host, self.port))
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in self.headers.items()]
        self._sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self._raw:
            if not self._recv(deadline):
                raise AssertionError(f"the stream's connection closed before a response head: {bytes(self._raw)!r}")
        head, _, rest = bytes(self._raw).partition(b"\r\n\r\n")
        self._raw = bytearray(rest)
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        _version, code, *reason = status_line.split(" ", 2)
        self.status, self.reason = int(code), reason[0] if reason else ""
        for line in header_lines:
            name, _, value = line.partition(":")
            self.response_headers[name.strip().lower()] = value.strip()
        self._chunked = "chunked" in self.response_headers.get("transfer-encoding", "").lower()
        if self.status != 200:
            self._read_error_body(deadline)
        return self

    def _read_error_body(self, deadline: float) -> None:
        length = self.response_headers.get("content-length")
        if length is not None:
            while len(self._raw) < int(length) and self._recv(deadline):
                pass
            self.body = bytes(self._raw[: int(length)])
        else:
            while self._feed(deadline):
                pass
            self.body = bytes(self.wire)

    def json_body(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed

    def _recv(self, deadline: float) -> bool:
        """More bytes into the raw buffer; False at EOF. A timeout is an AssertionError naming what was seen."""
        assert self._sock is not None
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(self._timeout_text())
        self._sock.settimeout(remaining)
        try:
            chunk = self._sock.recv(65536)
        except TimeoutError:
            raise AssertionError(self._timeout_text()) from None
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            return False
        self._raw += chunk
        return True

    def _timeout_text(self) -> str:
        return f"nothing more on the stream in time; events so far: {[e.event for e in self.seen]}"

    def _decode(self) -> bool:
        """Move what the raw buffer holds into `wire`, undoing chunked framing; False at the last chunk."""
        if not self._chunked:
            self.wire += self._raw
            self._pending += self._raw
            self._raw.clear()
            return True
        while self._raw:
            if self._chunk_left:
                take = bytes(self._raw[: self._chunk_left])
                del self._raw[: len(take)]
                self._chunk_left -= len(take)
                self.wire += take
                self._pending += take
                if not self._chunk_left:
                    self._chunk_trailer = True
                continue
            if self._chunk_trailer:
                if len(self._raw) < 2:
                    return True
                assert self._raw[:2] == b"\r\n", f"bad chunk framing: {bytes(self._raw[:20])!r}"
                del self._raw[:2]
                self._chunk_trailer = False
                continue
            line_end = self._raw.find(b"\r\n")
            if line_end < 0:
                return True
            size = int(bytes(self._raw[:line_end]).split(b";")[0], 16)
            del self._raw[: line_end + 2]
            if size == 0:
                return False
            self._chunk_left = size
        return True

    def _feed(self, deadline: float) -> bool:
        """Read and decode once more; False once the body has ended (EOF or the last chunk)."""
        if self.eof:
            return False
        if self._raw:
            if not self._decode():
                self.eof = True
                return False
            if self._pending:
                return True
        if not self._recv(deadline) or not self._decode():
            self.eof = True
            return False
        return True

    def _take_event(self) -> Event | None:
        self._text += self._utf8.decode(bytes(self._pending))
        self._pending.clear()
        self._text = self._text.replace("\r\n", "\n")
        block, sep, rest = self._text.partition("\n\n")
        if not sep:
            return None
        self._text = rest
        event = parse_block(block)
        self.seen.append(event)
        return event

    @property
    def leftover(self) -> str:
        """Text after the last complete event (a server may write a bare line such as `Jwt is expired`)."""
        return self._text + self._pending.decode("utf-8", "replace")

    def next_event(self, timeout: float = 10.0) -> Event | None:
        """The next event (pings included); None once the server has closed the stream."""
        deadline = time.monotonic() + timeout
        while True:
            event = self._take_event()
            if event is not None:
                return event
            if not self._feed(deadline):
                return self._take_event()

    def until(self, predicate: Callable[[Event], bool], timeout: float = 10.0, what: str = "event") -> list[Event]:
        """Read until an event matches; returns every event read on the way, the match last."""
        deadline = time.monotonic() + timeout
        read: list[Event] = []
        while True:
            event = self.next_event(max(deadline - time.monotonic(), 0.001))
            if event is None:
                raise StreamClosed(f"the stream ended before {what}; read {[e.event for e in read]}")
            read.append(event)
            if predicate(event):
                return read

    def wait_for(self, name: str, timeout: float = 10.0, **where: Any) -> Event:
        """The next event called `name` whose accessors equal `where` (e.g. text="hi", role="Agent")."""

        def matches(event: Event) -> bool:
            return event.event == name and all(getattr(event, k) == v for k, v in where.items())

        return self.until(matches, timeout, what=f"{name} {where or ''}")[-1]

    def wait_closed(self, timeout: float = 10.0) -> list[Event]:
        """Read until the server closes the stream; returns the events read on the way."""
        deadline = time.monotonic() + timeout
        read: list[Event] = []
        while (event := self.next_event(max(deadline - time.monotonic(), 0.001))) is not None:
            read.append(event)
        return read

    def events(self, name: str | None = None) -> list[Event]:
        return [e for e in self.seen if name is None or e.event == name]

    @property
    def last_id(self) -> str | None:
        ids = [e.id for e in self.seen if e.id is not None]
        return ids[-1] if ids else None

    def vanish(self) -> None:
        """Close with a TCP reset, as a crashed client or a dropped network does."""
        if self._sock is not None:
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self._sock.close()
            self._sock = None

    def half_close(self) -> None:
        """Shut our sending side only, as some proxies do; the server may go on writing."""
        if self._sock is not None:
            self._sock.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


# ---- the end user -----------------------------------------------------------------------------------


class EndUser:
    """One end user (one token subject) against the sandbox's Enhanced Chat half, spoken by hand."""

    def __init__(self, sandbox: Sandbox, *, org_id: str | None = None, deployment: str = DEPLOYMENT) -> None:
        self.sandbox = sandbox
        self.base = sandbox.url
        self.org_id = org_id or fresh_org()
        self.deployment = deployment
        self.http = requests.Session()
        self.token: str | None = None
        self.last_event_id: str | None = None
        self.minted: dict[str, Any] = {}
        self.conversation_id: str | None = None
        self.streams: list[SseStream] = []

    # -- raw requests -----------------------------------------------------------------------------------
    def bearer(self, token: str | None = None) -> dict[str, str]:
        chosen = token or self.token
        return {"Authorization": f"Bearer {chosen}"} if chosen else {}

    def request(
        self, method: str, path: str, *, token: str | None = None, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> requests.Response:
        """A call below /iamessage/api/v2/ with the bearer (or `headers` exactly as given)."""
        sent = self.bearer(token) if headers is None else headers
        return self.http.request(method, self.base + API + path, headers=sent, timeout=30, **kwargs)

    def conv(self, conversation_id: str | None = None) -> str:
        chosen = conversation_id or self.conversation_id
        assert chosen, "no conversation yet"
        return chosen

    # -- tokens (§1.3, §2.1 #1, #2, #4) ----------------------------------------------------------------------
    def token_body(self, **overrides: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "orgId": self.org_id,
            "esDeveloperName": self.deployment,
            "capabilitiesVersion": "1",
            "platform": "Web",
        }
        body.update(overrides)
        return body

    def mint(self, **overrides: Any) -> requests.Response:
        return self.http.post(
            self.base + API + "authorization/unauthenticated/access-token",
            json=self.token_body(**overrides),
            timeout=30,
        )

    def adopt(self, response: requests.Response) -> dict[str, Any]:
        assert response.status_code == 200, (response.status_code, response.text[:300])
        self.minted = response.json()
        self.token = self.minted["accessToken"]
        last = self.minted.get("lastEventId")
        self.last_event_id = None if last is None else str(last)
        return self.minted

    def login(self) -> dict[str, Any]:
        return self.adopt(self.mint())

    def mint_verified(self, identity: str, **overrides: Any) -> requests.Response:
        body = self.token_body(authorizationType="JWT", customerIdentityToken=identity, **overrides)
        return self.http.post(self.base + API + "authorization/authenticated/access-token", json=body, timeout=30)

    def continuation(self, token: str | None = None) -> requests.Response:
        return self.request("GET", "authorization/continuation-access-token", token=token)

    # -- conversations (§2.1 #5-#8, #13, #14) ----------------------------------------------------------
    def create(self, conversation_id: str | None = None, **fields: Any) -> requests.Response:
        chosen = new_id() if conversation_id is None else conversation_id
        body = {"conversationId": chosen, "esDeveloperName": self.deployment, **fields}
        response = self.request("POST", "conversation", json=body)
        if response.ok:
            self.conversation_id = chosen
        return response

    def status(self, conversation_id: str | None = None) -> requests.Response:
        return self.request("GET", f"conversation/{self.conv(conversation_id)}")

    def conversations(self, **params: Any) -> requests.Response:
        return self.request("GET", "conversation/list", params=params)

    def entries(self, conversation_id: str | None = None, **params: Any) -> requests.Response:
        return self.request("GET", f"conversation/{self.conv(conversation_id)}/entries", params=params)

    def end_session(self, conversation_id: str | None = None) -> requests.Response:
        path = f"conversation/{self.conv(conversation_id)}/session"
        return self.request("DELETE", path, params={"esDeveloperName": self.deployment})

    def close_conversation(self, conversation_id: str | None = None) -> requests.Response:
        path = f"conversation/{self.conv(conversation_id)}"
        return self.request("DELETE", path, params={"esDeveloperName": self.deployment})

    # -- what an end user sends (§2.1 #9-#12) --------------------------------------------------------
    def message_body(self, text: str, message_id: str | None = None, **fields: Any) -> dict[str, Any]:
        return {"message": text_message(text, message_id), "esDeveloperName": self.deployment, **fields}

    def send(
        self, text: str, message_id: str | None = None, *, conversation_id: str | None = None, **fields: Any
    ) -> requests.Response:
        body = self.message_body(text, message_id, **fields)
        return self.request("POST", f"conversation/{self.conv(conversation_id)}/message", json=body)

    def send_file(
        self,
        data: bytes,
        *,
        filename: str = "note.txt",
        content_type: str = "text/plain",
        text: str | None = None,
        conversation_id: str | None = None,
    ) -> requests.Response:
        entry: dict[str, Any] = {"esDeveloperName": self.deployment, "message": {"id": new_id(), "fileId": new_id()}}
        if text is not None:
            entry["message"]["text"] = text
        files = {
            "messageEntry": (None, json.dumps(entry), "application/json"),
            "fileData": (filename, data, content_type),
        }
        return self.request("POST", f"conversation/{self.conv(conversation_id)}/file", files=files)

    def typing(self, started: bool = True, *, conversation_id: str | None = None) -> requests.Response:
        kind = "TypingStartedIndicator" if started else "TypingStoppedIndicator"
        return self.request(
            "POST", f"conversation/{self.conv(conversation_id)}/entry", json={"entryType": kind, "id": new_id()}
        )

    def acknowledge(
        self, entry_id: str, kind: str = "Delivery", *, conversation_id: str | None = None
    ) -> requests.Response:
        body = {"acks": [{"id": new_id(), "entryType": kind, "conversationEntryId": entry_id}]}
        return self.request("POST", f"conversation/{self.conv(conversation_id)}/acknowledge-entries", json=body)

    # -- the stream (§1.4, §3) ----------------------------------------------------------------------------
    def stream_headers(
        self, *, org_id: str | None = None, last_event_id: str | None = None, token: str | None = None
    ) -> dict[str, str]:
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache", **self.bearer(token)}
        headers["X-Org-Id"] = org_id or self.org_id
        if last_event_id is not None:
            headers["Last-Event-Id"] = last_event_id
        return headers

    def stream(
        self,
        *,
        headers: dict[str, str] | None = None,
        last_event_id: str | None = None,
        resume: bool = True,
        expect: int | None = 200,
        receive_buffer: int | None = None,
        **options: Any,
    ) -> SseStream:
        """Open the stream; by default with the token's `lastEventId` (resume=False sends none)."""
        if headers is None:
            resume_from = last_event_id if last_event_id is not None else (self.last_event_id if resume else None)
            headers = self.stream_headers(last_event_id=resume_from, **options)
        stream = SseStream("127.0.0.1", self.sandbox.port, headers)
        self.streams.append(stream)
        stream.open(receive_buffer=receive_buffer)
        if expect is not None:
            assert stream.status == expect, (stream.status, stream.body[:300])
        return stream

    def start(self, **create_fields: Any) -> SseStream:
        """Token, stream, conversation: the stream first, so nothing the agent does is missed even without replay."""
        self.login()
        stream = self.stream()
        response = self.create(**create_fields)
        assert response.status_code == 201, (response.status_code, response.text[:300])
        return stream

    def start_chat(self, **create_fields: Any) -> SseStream:
        """`start`, then wait until an agent has joined (PARTICIPANT_CHANGED add)."""
        stream = self.start(**create_fields)
        stream.until(lambda e: is_join(e, self.conv()), what="an agent joining")
        return stream

    def round_trip(self, stream: SseStream, text: str) -> Event:
        """Send `text` and wait for the agent's answer with the same text."""
        response = self.send(text)
        assert response.status_code == 202, (response.status_code, response.text[:300])
        return stream.until(
            lambda e: e.event == MESSAGE and e.role != "EndUser" and e.text == text,
            what=f"the agent's echo of {text!r}",
        )[-1]

    def close(self) -> None:
        for stream in self.streams:
            stream.close()
        self.http.close()


def is_join(event: Event, conversation_id: str | None = None) -> bool:
    if event.event != PARTICIPANT_CHANGED:
        return False
    if conversation_id is not None and event.conversation_id != conversation_id:
        return False
    return any(item.get("operation") == "add" for item in event.payload.get("entries", []))


def echoes_of(events: Iterable[Event], message_id: str) -> list[Event]:
    """The end user's own messages with this message id, as the stream echoed them."""
    return [e for e in events if e.event == MESSAGE and e.role == "EndUser" and e.message_id == message_id]


# ---- the control API ---------------------------------------------------------------------------------


class Control:
    """The sandbox's control API (/_sandbox/), over plain requests."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.base = sandbox.url + "/_sandbox/"
        self.http = requests.Session()

    def get(self, path: str) -> requests.Response:
        return self.http.get(self.base + path, timeout=15)

    def post(self, path: str, body: Any = None) -> requests.Response:
        return self.http.post(self.base + path, json=body, timeout=15)

    def delete(self, path: str) -> requests.Response:
        return self.http.delete(self.base + path, timeout=15)

    def chats(self) -> list[dict[str, Any]]:
        response = self.get("chats")
        assert response.status_code == 200, response.text
        chats: list[dict[str, Any]] = response.json()["chats"]
        return chats

    def conversation(self, conversation_id: str) -> dict[str, Any]:
        """The control API's view of a conversation, found by its conversation id."""
        for chat in self.chats():
            if conversation_id in (chat.get("id"), chat.get("conversationId")):
                return chat
        raise AssertionError(f"the control API does not list conversation {conversation_id}")

    def agent(self, conversation_id: str, action: str, **fields: Any) -> requests.Response:
        chat_id = self.conversation(conversation_id)["id"]
        return self.post(f"chats/{chat_id}/agent", {"action": action, **fields})

    def act(self, conversation_id: str, action: str, **fields: Any) -> dict[str, Any]:
        response = self.agent(conversation_id, action, **fields)
        assert response.status_code == 200, (action, response.status_code, response.text[:300])
        body: dict[str, Any] = response.json()
        return body

    def add_fault(self, spec: str) -> dict[str, Any]:
        response = self.post("faults", {"spec": spec})
        assert response.status_code == 201, response.text
        rule: dict[str, Any] = response.json()
        return rule

    def fault(self, rule_id: int) -> dict[str, Any]:
        for rule in self.get("faults").json()["faults"]:
            if rule["id"] == rule_id:
                found: dict[str, Any] = rule
                return found
        raise AssertionError(f"no fault rule {rule_id}")

    def clear_faults(self) -> None:
        assert self.delete("faults").status_code == 200

    def healthy(self) -> bool:
        response = self.get("health")
        return response.status_code == 200 and response.json().get("status") == "ok"

    def close(self) -> None:
        self.http.close()


def wait_until(condition: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
    """Bounded wait for state another thread changes; tiny sleeps, never a fixed delay."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


class Background:
    """A call run on its own thread, for requests that must overlap."""

    def __init__(self, call: Callable[[], Any]) -> None:
        self.value: Any = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(call,), daemon=True)
        self._thread.start()

    def _run(self, call: Callable[[], Any]) -> None:
        try:
            self.value = call()
        except BaseException as exc:  # handed to the test through result()
            self.error = exc

    def result(self, timeout: float = 15.0) -> Any:
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise AssertionError(f"the call did not finish within {timeout} s")
        if self.error is not None:
            raise self.error
        return self.value
