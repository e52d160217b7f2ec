"""An end user as Enhanced Chat knows them, their access tokens and event stream, their conversations and the
messaging sessions those house.

The subject (a token's `sub`) is who the end user is: a guest (`v2/iamessage/UNAUTH/NA/uid:…`) or a verified
user (`v2/iamessage/AUTH/{keyset}/uid:…`). The stream belongs to the subject, not to a conversation
(miaw-api.md 3.1): every event of every conversation of the subject goes to it. Each event gets an id from
one sandbox-wide counter, so ids increase along every subject's stream, and is kept in the subject's log
(the latest `replay_limit`), from which a new stream replays what came after its `Last-Event-Id`. At most
one stream per subject is open (`Subject.streams` is a list only so that a replaced stream can finish while
its successor starts).

A conversation is long-lived (miaw-api.md 5): created by the client under an id of its choosing, it holds
one messaging session at a time. A session is what an agent handles (what the control API and the agents
call a chat: queued, established, ended); when it ends the conversation stays open, and the next message
that asks for a new session (`isNewMessagingSession`) starts another one, routed afresh to a new agent
behaviour. Closing the conversation ends it for good.

The transcript (`entries`) is what the REST entries list pages through; `notes` is the sandbox's record for
the control API (what the end user sent, what the sandbox did), as legacy chats have.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from liveagent_cli.sandbox.jsonbody import encode
from liveagent_cli.sandbox.miaw.entries import Entry
from liveagent_cli.sandbox.miaw.ratelimits import CONVERSATIONS_PER_USER, MESSAGES_PER_CONVERSATION, Window
from liveagent_cli.sandbox.model.agent_port import AgentBehaviour, ChatState, VisitorEvent

# routingStatus of GET /conversation/{id} (miaw-api.md 2.1 #6)
INITIAL, ROUTED, NEEDS_ROUTING, TRANSFER = "INITIAL", "ROUTED", "NEEDS_ROUTING", "TRANSFER"


def wall_ms() -> int:
    return int(time.time() * 1000)


class LoggedEvent(NamedTuple):
    """An event of a subject's stream; its frame is `id:N\nevent:NAME\ndata:DATA\n\n` (`frame()`)."""

    id: int
    name: bytes
    data: bytes  # the entry's own bytes, shared with the transcript

    def frame(self) -> bytes:
        return b"id:%d\nevent:%s\ndata:%s\n\n" % (self.id, self.name, self.data)


def settle(fut: asyncio.Future[None] | None) -> None:
    if fut is not None and not fut.done():
        fut.set_result(None)


@dataclass(slots=True, eq=False)
class AccessToken:
    """One JWT the sandbox minted; requests present it as `Authorization: Bearer`."""

    jwt: str
    jti: str
    subject: Subject
    client_id: str
    org_id: str  # as the token request gave it (15 or 18 characters)
    device_id: str
    issued: float  # epoch seconds
    expires: float
    exp_claim: int  # the JWT's `exp`
    verified: bool
    revoked: str | None = None  # why it stopped working early: "revoked", or "expired" (a fault)

    def expired(self, now: float | None = None) -> bool:
        return (time.time() if now is None else now) >= self.expires or self.revoked == "expired"


@dataclass(slots=True, eq=False)
class OpenStream:
    """One open `GET /eventrouter/v1/sse`: the frames waiting to be written, and why it must end."""

    token: AccessToken
    queue: deque[LoggedEvent] = field(default_factory=deque)
    wake: asyncio.Future[None] | None = None
    ended: str | None = None  # why the server ends it: replaced, expired, revoked, reset, closing
    cut_after: int | None = None  # an `sse-drop` fault: cut after this many events
    sent: int = 0  # events written (pings not counted)
    pings: int = 0
    opened_ms: int = field(default_factory=lambda: int(time.time() * 1000))
    gone: asyncio.Future[None] | None = None  # the client closed its connection

    def push(self, event: LoggedEvent) -> None:
        self.queue.append(event)
        settle(self.wake)

    def end(self, why: str) -> None:
        if self.ended is None:
            self.ended = why
        settle(self.wake)

    @property
    def client_gone(self) -> bool:
        return self.gone is not None and self.gone.done()


@dataclass(slots=True, eq=False)
class Subject:
    """A guest (`v2/iamessage/UNAUTH/NA/uid:…`) or a verified user (`v2/iamessage/AUTH/{keyset}/uid:…`)."""

    id: str
    org15: str
    deployment: str
    verified: bool
    platform_key: str  # channelPlatformKey of its events
    replay_limit: int
    log: deque[LoggedEvent] = field(init=False)
    streams: list[OpenStream] = field(default_factory=list)
    conversations: dict[str, Conversation] = field(default_factory=dict)
    creates: Window = field(default_factory=lambda: Window(*CONVERSATIONS_PER_USER))
    last_event_id: int = 0

    def __post_init__(self) -> None:
        self.log = deque(maxlen=self.replay_limit)

    def publish(self, event_id: int, name: str, data: bytes) -> None:
        event = LoggedEvent(event_id, name.encode("ascii"), data)
        self.last_event_id = event_id
        self.log.append(event)
        for stream in self.streams:
            if stream.ended is None:
                stream.push(event)

    def since(self, event_id: int) -> list[LoggedEvent]:
        """The logged events after `event_id`, oldest first."""
        return [e for e in self.log if e.id > event_id]

    @property
    def open_stream(self) -> OpenStream | None:
        for stream in self.streams:
            if stream.ended is None and not stream.client_gone:
                return stream
        return None


class Note(NamedTuple):
    """One line of the sandbox's record of a conversation (the control API's `events`)."""

    sender: str  # "visitor", "server" or "sandbox"
    type: str
    raw: bytes
    at_ms: int

    @property
    def data(self) -> dict[str, Any]:
        value = json.loads(self.raw)
        return value if isinstance(value, dict) else {}


@dataclass(slots=True, eq=False)
class MessagingSession:
    """One messaging session: routed, taken by an agent, ended."""

    number: int  # 1, 2, 3... within the conversation
    record_id: str  # the MessagingSession record id (0Mw...), the routing result's recordId
    queued_at: float  # monotonic
    state: ChatState = ChatState.QUEUED
    agent: AgentBehaviour | None = None
    agent_kind: str = ""
    agent_name: str = ""
    agent_user_id: str = ""
    conference: list[str] = field(default_factory=list)
    options: dict[str, str] = field(default_factory=dict)  # optionIdentifier -> title, of the menus offered
    file_requested: bool = False
    # what the end user sent before an agent joined (with its message id, for the agent's receipts)
    held: list[tuple[VisitorEvent, str | None]] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)  # message ids delivered to the agent, not yet read
    timers: set[asyncio.TimerHandle] = field(default_factory=set)
    started_ms: int = field(default_factory=wall_ms)
    ended_ms: int | None = None
    ended_by: str | None = None
    end_reason: str | None = None

    @property
    def is_open(self) -> bool:
        return self.state in (ChatState.QUEUED, ChatState.ESTABLISHED)

    def cancel_timers(self) -> None:
        for handle in self.timers:
            handle.cancel()
        self.timers.clear()


@dataclass(slots=True, eq=False)
class Conversation:
    id: str
    subject: Subject
    deployment: str
    channel_address: str
    routing_attributes: dict[str, Any]
    language: str | None
    visitor_name: str
    created_ms: int = field(default_factory=wall_ms)
    closed_ms: int | None = None
    routing_status: str = INITIAL
    entries: list[Entry] = field(default_factory=list)
    message_ids: dict[str, bytes] = field(default_factory=dict)  # message id -> its 202 answer, sent once
    sessions: list[MessagingSession] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    notes_dropped: int = 0
    acks: int = 0  # acknowledgements the end user sent
    files: list[dict[str, Any]] = field(default_factory=list)
    inbound: Window = field(default_factory=lambda: Window(*MESSAGES_PER_CONVERSATION))
    last_ts: int = 0

    @property
    def closed(self) -> bool:
        return self.closed_ms is not None

    @property
    def session(self) -> MessagingSession | None:
        """The session now open, if any."""
        if self.sessions and self.sessions[-1].is_open:
            return self.sessions[-1]
        return None

    @property
    def latest(self) -> MessagingSession | None:
        return self.sessions[-1] if self.sessions else None

    @property
    def state(self) -> ChatState:
        """The phase an agent sees: the latest session's, ended once the conversation is closed."""
        latest = self.latest
        if latest is None or self.closed:
            return ChatState.ENDED
        return latest.state

    def next_ts(self) -> int:
        """A transcript timestamp (epoch ms), strictly after the previous one, so paging by time is exact."""
        now = wall_ms()
        self.last_ts = now if now > self.last_ts else self.last_ts + 1
        return self.last_ts

    def note(self, sender: str, type_: str, data: dict[str, Any], limit: int) -> None:
        if len(self.notes) >= limit:
            self.notes_dropped += 1
            return
        self.notes.append(Note(sender, type_, encode(data), wall_ms()))
