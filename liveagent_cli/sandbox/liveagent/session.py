"""One Live Agent session and the chat inside it: its outbound queue, acks, sequence and event record.

The session knows nothing of HTTP nor of other sessions; `Pod` owns the registry and the rules that span
sessions (queues, expiry, duplicate polls). Choices where the API reference is silent:

- Each message queued for the visitor gets a per-session number n = 1, 2, 3...; a poll answers every
  message with n > ack, `sequence` = the highest n in the batch, so a batch is re-delivered until acked.
  `offset` = a random per-session base + that n, so ReconnectSession can map it back to a message.
  With `redeliver` off (the strict profile), a message goes out once: what a poll handed out counts as
  acked, whether its answer arrived or not.
- `ack` absent or negative means "no ack information": deliver what was not yet delivered, and count what
  was delivered as acked. Acks never move backwards; an ack above the last message acks everything.
- After a ReconnectSession the next batch starts with `ChasitorSessionData` (the `resync` slot, numbered
  after everything queued so far) followed by every message not yet acked.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from liveagent_cli.sandbox.jsonbody import encode
from liveagent_cli.sandbox.model.agent_port import AgentBehaviour, ChatState


class Outbound(NamedTuple):
    """A message queued for the visitor; `wire` is its pre-encoded `{"type","message"}` JSON.

    Only atomic fields, here and in `Event`: the garbage collector stops tracking such tuples, which keeps
    its collections short with a thousand chats' history in memory (see bench/).
    """

    n: int
    type: str
    wire: bytes


class Event(NamedTuple):
    """One line of a chat's record: what the visitor sent, what the pod queued, what the sandbox did."""

    sender: str  # "visitor", "pod" or "sandbox"
    type: str
    raw: bytes  # the JSON object: the request body the visitor sent, or the message the pod queued
    at_ms: int
    n: int | None  # the message number, for what the pod queued

    @property
    def data(self) -> dict[str, Any]:
        value = json.loads(self.raw)
        return value if isinstance(value, dict) else {}


@dataclass(slots=True)
class Upload:
    name: str
    content_type: str
    size: int
    sha256: str
    at_ms: int


@dataclass(slots=True, eq=False)
class HeldPoll:
    """A long poll waiting for messages; `gone` completes when its client disconnects."""

    wake: asyncio.Future[None]
    gone: asyncio.Future[None] | None


def wall_ms() -> int:
    return int(time.time() * 1000)


def settle(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


@dataclass(slots=True, eq=False)
class Session:
    """One Live Agent session (SessionId) and the chat inside it."""

    id: str
    key: str
    affinity: str
    offset_base: int
    base_url: str  # how the visitor reached the pod; file upload URLs are built on it
    last_poll: float  # monotonic time of the last poll (or of creation): expiry counts from it
    state: ChatState = ChatState.NEW
    created_ms: int = field(default_factory=wall_ms)
    ended_ms: int | None = None
    # sequence (X-LIVEAGENT-SEQUENCE): the last accepted number; 0 at start and after a reconnect
    last_sequence: int = 0
    # affinity: `relocated` = the pod moved the session (503 until ReconnectSession, whatever the header);
    # `reconnectable` = the pod answered 503 on it, so ReconnectSession is allowed
    relocated: bool = False
    reconnectable: bool = False
    token_unconfirmed: bool = False  # ReconnectSession answered, and no request has presented its token yet
    last_reset: bool = False  # that answer's resetSequence, repeated to a retry
    reconnects: int = 0
    # the outbound queue
    outbox: deque[Outbound] = field(default_factory=deque)
    resync: Outbound | None = None
    next_n: int = 1
    acked: int = 0
    delivered: int = 0
    redeliver: bool = True  # False: each message is handed out once, acked or not (PodSettings.redeliver)
    # the chat
    init: dict[str, Any] | None = None
    visitor_name: str = ""
    button_id: str = ""
    queue_updates: bool = False
    queue_position: int = 0  # the place the visitor was last told (ChatRequestSuccess, QueueUpdate)
    queued_at: float = 0.0
    agent: AgentBehaviour | None = None
    agent_kind: str = ""  # the behaviour: echo, manual, busy, script:FILE
    agent_name: str = ""  # the display name of the agent currently handling the chat
    agent_user_id: str = ""
    conference: list[str] = field(default_factory=list)
    menus: dict[str, list[str]] = field(default_factory=dict)  # RichMessage type -> item texts, the latest
    file_token: str | None = None
    uploads: list[Upload] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    events_dropped: int = 0
    timers: set[asyncio.TimerHandle] = field(default_factory=set)
    held: list[HeldPoll] = field(default_factory=list)
    removed: bool = False
    end_reason: str | None = None
    ended_by: str | None = None

    @property
    def is_open(self) -> bool:
        return self.state in (ChatState.QUEUED, ChatState.ESTABLISHED)

    @property
    def polls_held(self) -> int:
        return len(self.held)

    @property
    def pending(self) -> int:
        return len(self.outbox) + (self.resync is not None)

    def record(self, sender: str, type_: str, data: dict[str, Any] | bytes, limit: int, n: int | None = None) -> None:
        if len(self.events) >= limit:
            self.events_dropped += 1
            return
        raw = data if isinstance(data, bytes) else encode(data)
        self.events.append(Event(sender, type_, raw, wall_ms(), n))

    def _outbound(self, type_: str, message: dict[str, Any]) -> tuple[Outbound, bytes]:
        body = encode(message)
        out = Outbound(self.next_n, type_, b'{"type":%s,"message":%s}' % (encode(type_), body))
        self.next_n += 1
        return out, body

    def queue(self, type_: str, message: dict[str, Any]) -> tuple[Outbound, bytes]:
        """Queue a message for the visitor and wake a held poll at once; returns it and its encoded body."""
        out, body = self._outbound(type_, message)
        self.outbox.append(out)
        self.wake()
        return out, body

    def queue_resync(self, message: dict[str, Any]) -> tuple[Outbound, bytes]:
        """ChasitorSessionData: delivered first in the next batch, ahead of what is not yet acked."""
        out, body = self._outbound("ChasitorSessionData", message)
        self.resync = out
        if self.redeliver:
            self.delivered = self.acked  # even a client without acks gets the unacked messages again
        self.wake()
        return out, body

    def wake(self) -> None:
        for poll in self.held:
            settle(poll.wake)

    def acknowledge(self, upto: int) -> None:
        """Count messages up to `upto` as received (clamped to what exists); acks never move backwards."""
        floor = max(self.acked, min(upto, self.next_n - 1))
        self.acked = floor
        outbox = self.outbox
        while outbox and outbox[0].n <= floor:
            outbox.popleft()
        if self.resync is not None and self.resync.n <= floor:
            self.resync = None

    def take(self, ack: int | None, *, commit: bool = True) -> list[Outbound]:
        """Apply an ack and return what the visitor has not acked (or, without ack, not yet received).

        `commit=False` leaves the batch counted as undelivered: its answer is about to be lost (a fault).
        Without `redeliver`, what was handed out before is gone, and a lost answer loses its batch too.
        """
        if not self.redeliver:
            self.acknowledge(max(self.delivered, ack or 0))
            commit = True
        self.acknowledge(max(self.acked, self.delivered) if ack is None else ack)
        if self.resync is None and not self.outbox:
            return []
        batch = ([self.resync] if self.resync is not None else []) + list(self.outbox)
        if commit:
            self.delivered = max(self.delivered, max(m.n for m in batch))
        return batch

    def cancel_timers(self) -> None:
        for handle in self.timers:
            handle.cancel()
        self.timers.clear()
