"""The pod's protocol state, independent of HTTP: sessions, their outbound queues, polls, sequence, expiry.

Design for many concurrent chats on one event loop: sessions are found by key (and by id) in dicts; a
held poll waits on a future that the session resolves the moment a message is queued (or the chat goes
away, or the pod stops), with one timer for the hold time, so nothing sleeps in a loop and an idle chat
costs no CPU. (A future per waiting poll rather than one asyncio.Event per session: an Event needs a task
per waiter to combine it with the hold timer and the client's disconnect, and someone must clear it; a
plain future needs neither.)

Choices where the API reference is silent (also in the README, "The sandbox pod"):
- Each queued message gets a per-session number n = 1, 2, 3...; a poll answers every message with n > ack and
  `sequence` = the highest n in the batch, so a batch is re-delivered until it is acked. `offset` = a random
  per-session base + that n: it grows, and a later ReconnectSession can map it back to a message.
- `ack` absent or negative means "no ack information": deliver what was not yet delivered, and treat what was
  delivered as acked. Acks never move backwards; an ack above the last message acks everything.
- `X-LIVEAGENT-SEQUENCE` on a Chasitor POST: a repeat of the last accepted number is answered 200 and dropped;
  any other number (or none) is processed. A POST that fails (4xx/5xx) does not consume its number, so a
  client that retries with the same number (as Salesforce's Android SDK does) is processed.
- A session ended by the visitor (ChatEnd, DELETE) leaves a tombstone for a minute, so a retry of that very
  ChatEnd (same sequence number, its answer lost) still gets 200; anything else with that key gets 403.
- A ChasitorInit on a session that already has a chat is answered 200 and ignored (a retried request must not
  queue a second ChatRequestSuccess).
- ChatMessage after the chat ended (agent end, ChatRequestFail) is 403: the chat is no longer valid.
"""

from __future__ import annotations

import asyncio
import base64
import enum
import json
import logging
import math
import random
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from liveagent_cli.sandbox.defaults import AGENT_NAME, AGENT_USER_ID, DEFAULT_CONNECTION_TIMEOUT

log = logging.getLogger("liveagent_cli.sandbox.pod")

# The affinity tokens in Salesforce's examples (73061fa0, 2c931fa0, efae1fa0) share their last four hex
# digits, which look like a server id; the sandbox mimics that shape.
_SERVER_SUFFIX = "1fa0"


class ChatState(enum.StrEnum):
    NEW = "new"  # SessionId issued, no ChasitorInit yet
    QUEUED = "queued"  # ChasitorInit accepted, waiting for an agent
    ESTABLISHED = "established"
    ENDED = "ended"


class PodError(Exception):
    """A protocol error with the HTTP status the real pod answers it with."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(PodError):
    status = 400


class SessionInvalid(PodError):
    status = 403


class NotFound(PodError):
    status = 404


class InvalidState(PodError):
    """An agent action the chat's state does not allow (control API: 409)."""

    status = 409


class NotEstablished(PodError):
    """The docs: requests before ChatEstablished make the server throw and answer 500."""

    status = 500


class AffinityMismatch(PodError):
    status = 503


@dataclass(frozen=True, slots=True)
class PodSettings:
    poll_hold: float = 30.0
    connection_timeout: float = DEFAULT_CONNECTION_TIMEOUT
    tombstone_ttl: float = 60.0
    history_limit: int = 1000
    transcript_limit: int = 10_000

    @property
    def client_poll_timeout(self) -> int:
        return math.ceil(self.poll_hold) + 10


class Outbound(NamedTuple):
    """A message queued for the visitor; `wire` is its pre-encoded `{"type","message"}` JSON."""

    n: int
    type: str
    message: dict[str, Any]
    wire: bytes


class TranscriptEntry(NamedTuple):
    sender: str  # "visitor" or "pod"
    type: str
    data: dict[str, Any]  # the request body the visitor sent, or the message the pod queued
    at_ms: int
    n: int | None  # the message number, for what the pod queued


class AgentBehaviour(Protocol):
    """One per chat, created at ChasitorInit; see agents.py."""

    def on_init(self) -> None: ...

    def on_visitor_message(self, text: str) -> None: ...

    def on_end(self, by: str, reason: str) -> None: ...


AgentFactory = Callable[["AgentChat"], AgentBehaviour]


class SequenceCheck(NamedTuple):
    duplicate: bool
    value: int | None


def _encode(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _wall_ms() -> int:
    return int(time.time() * 1000)


def _settle(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


class Session:
    """One Live Agent session (SessionId) and the chat inside it."""

    __slots__ = (
        "id", "key", "affinity", "state", "created_ms", "ended_ms", "last_activity", "last_sequence",
        "outbox", "next_n", "acked", "delivered", "offset_base", "init", "visitor_name", "transcript",
        "transcript_dropped", "agent", "agent_name", "timers", "waiters", "polls_held", "removed",
        "end_reason", "ended_by",
    )

    def __init__(self, sid: str, key: str, affinity: str, now: float, offset_base: int) -> None:
        self.id = sid
        self.key = key
        self.affinity = affinity
        self.state = ChatState.NEW
        self.created_ms = _wall_ms()
        self.ended_ms: int | None = None
        self.last_activity = now
        self.last_sequence: int | None = None
        self.outbox: deque[Outbound] = deque()
        self.next_n = 1
        self.acked = 0
        self.delivered = 0
        self.offset_base = offset_base
        self.init: dict[str, Any] | None = None
        self.visitor_name = ""
        self.transcript: list[TranscriptEntry] = []
        self.transcript_dropped = 0
        self.agent: AgentBehaviour | None = None
        self.agent_name = ""
        self.timers: set[asyncio.TimerHandle] = set()
        self.waiters: list[asyncio.Future[None]] = []
        self.polls_held = 0
        self.removed = False
        self.end_reason: str | None = None
        self.ended_by: str | None = None

    @property
    def is_open(self) -> bool:
        return self.state in (ChatState.QUEUED, ChatState.ESTABLISHED)

    def record(self, sender: str, type_: str, data: dict[str, Any], limit: int, n: int | None = None) -> None:
        if len(self.transcript) >= limit:
            self.transcript_dropped += 1
            return
        self.transcript.append(TranscriptEntry(sender, type_, data, _wall_ms(), n))

    def queue(self, type_: str, message: dict[str, Any]) -> Outbound:
        """Queue a message for the visitor and wake a held poll at once."""
        out = Outbound(self.next_n, type_, message, _encode({"type": type_, "message": message}))
        self.next_n += 1
        self.outbox.append(out)
        self.wake()
        return out

    def wake(self) -> None:
        waiters, self.waiters = self.waiters, []
        for fut in waiters:
            _settle(fut)

    def take(self, ack: int | None) -> list[Outbound]:
        """Apply an ack and return what the visitor has not acked (or, without ack, not yet received)."""
        last = self.next_n - 1
        if ack is None:
            floor = max(self.acked, self.delivered)
        else:
            floor = max(self.acked, min(ack, last))
        self.acked = floor
        outbox = self.outbox
        while outbox and outbox[0].n <= floor:
            outbox.popleft()
        if not outbox:
            return []
        batch = list(outbox)
        self.delivered = max(self.delivered, batch[-1].n)
        return batch

    def cancel_timers(self) -> None:
        for handle in self.timers:
            handle.cancel()
        self.timers.clear()


class Pod:
    """All sessions of one sandbox pod. Not thread-safe: everything runs on the pod's event loop."""

    def __init__(self, settings: PodSettings, agent_factory: AgentFactory, agent_name: str,
                 seed: int | None = None) -> None:
        self.settings = settings
        self.agent_factory = agent_factory
        self.agent_name = agent_name
        self._rng: random.Random = random.Random(seed) if seed is not None else random.SystemRandom()
        self._by_key: dict[str, Session] = {}
        self._by_id: dict[str, Session] = {}
        self._history: dict[str, Session] = {}  # chats that ended and left, newest last (for the control API)
        self._tombstones: dict[str, tuple[int | None, float]] = {}  # key -> (last sequence, expiry)
        self.issued_keys: deque[str] = deque(maxlen=100_000)  # for tests that check no key leaks
        self._closing = False

    # ---- clock -------------------------------------------------------------------------------------------

    def _now(self) -> float:
        return time.monotonic()

    # ---- sessions ----------------------------------------------------------------------------------------

    def set_agent(self, factory: AgentFactory, name: str) -> None:
        """Chats initialised from now on get this behaviour; running chats keep theirs."""
        self.agent_factory = factory
        self.agent_name = name

    def create_session(self) -> Session:
        rng = self._rng
        sid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        secret = base64.b64encode(rng.randbytes(20)).decode("ascii").replace("/", "+")
        key = f"{sid}!{_wall_ms()}!{secret}"
        affinity = f"{rng.getrandbits(16):04x}{_SERVER_SUFFIX}"
        session = Session(sid, key, affinity, self._now(), rng.randrange(10**8, 10**9))
        self._by_key[key] = session
        self._by_id[sid] = session
        self.issued_keys.append(key)
        return session

    def resolve(self, key: str | None, affinity: str | None) -> Session:
        """The session a request's headers name; 403 for no or unknown key, 503 for a wrong affinity token."""
        if not key:
            raise SessionInvalid("missing X-LIVEAGENT-SESSION-KEY header")
        session = self._by_key.get(key)
        if session is None:
            raise SessionInvalid("unknown, expired or ended session")
        if affinity and affinity != session.affinity:
            raise AffinityMismatch("invalid affinity token")
        session.last_activity = self._now()
        return session

    def replayed_final_post(self, key: str | None, raw_sequence: str | None) -> bool:
        """True when a POST repeats, by sequence number, the ChatEnd that removed its session."""
        if not key or raw_sequence is None:
            return False
        tomb = self._tombstones.get(key)
        if tomb is None or tomb[0] is None:
            return False
        try:
            return int(raw_sequence) == tomb[0]
        except ValueError:
            return False

    def find(self, chat_id: str) -> Session | None:
        return self._by_id.get(chat_id) or self._history.get(chat_id)

    def sessions(self) -> Iterator[Session]:
        """Live sessions, then chats that ended and left, oldest first within each."""
        yield from self._by_id.values()
        yield from self._history.values()

    def open_chats(self) -> list[Session]:
        return [s for s in self._by_id.values() if s.is_open]

    @property
    def session_count(self) -> int:
        return len(self._by_key)

    # ---- sequence ----------------------------------------------------------------------------------------

    def check_sequence(self, session: Session, raw: str | None) -> SequenceCheck:
        """Classify a Chasitor POST by its X-LIVEAGENT-SEQUENCE (the 409 out-of-order rule goes here)."""
        if raw is None or not raw.strip():
            return SequenceCheck(False, None)
        try:
            value = int(raw)
        except ValueError:
            raise BadRequest("X-LIVEAGENT-SEQUENCE must be an integer") from None
        if session.last_sequence is not None and value == session.last_sequence:
            return SequenceCheck(True, value)
        return SequenceCheck(False, value)

    @staticmethod
    def commit_sequence(session: Session, value: int | None) -> None:
        if value is not None:
            session.last_sequence = value

    # ---- visitor requests --------------------------------------------------------------------------------

    def chasitor_init(self, session: Session, body: dict[str, Any], seq: int | None) -> None:
        session.last_activity = self._now()
        if session.state is not ChatState.NEW:
            log.info("chat %s: ChasitorInit repeated; ignored", session.id)
            self.commit_sequence(session, seq)
            return
        details = body.get("prechatDetails", [])
        if not isinstance(details, list):
            raise BadRequest("prechatDetails must be an array")
        self.commit_sequence(session, seq)
        session.init = body
        name = body.get("visitorName")
        session.visitor_name = name if isinstance(name, str) else ""
        session.state = ChatState.QUEUED
        session.record("visitor", "ChasitorInit", body, self.settings.transcript_limit)
        session.agent_name = self.agent_name
        session.agent = self.agent_factory(AgentChat(self, session))
        session.agent.on_init()

    def chat_message(self, session: Session, text: str, seq: int | None) -> None:
        session.last_activity = self._now()
        if session.state is ChatState.ENDED:
            raise SessionInvalid("the chat has ended")
        if session.state is not ChatState.ESTABLISHED:
            raise NotEstablished("no agent has accepted this chat yet (wait for ChatEstablished)")
        self.commit_sequence(session, seq)
        session.record("visitor", "ChatMessage", {"text": text}, self.settings.transcript_limit)
        if session.agent is not None:
            session.agent.on_visitor_message(text)

    def chat_end(self, session: Session, reason: str, seq: int | None) -> None:
        """The visitor ends the chat: no ChatEnded is queued for it, and the session is gone."""
        self.commit_sequence(session, seq)
        session.record("visitor", "ChatEnd", {"reason": reason}, self.settings.transcript_limit)
        self._remove(session, by="visitor", reason=reason)

    def delete_session(self, session: Session) -> None:
        session.record("visitor", "DeleteSession", {}, self.settings.transcript_limit)
        self._remove(session, by="visitor", reason="deleted")

    async def poll(self, session: Session, ack: int | None,
                   watch_disconnect: Callable[[], asyncio.Future[None]] | None = None) -> list[Outbound]:
        """Return what is pending at once, else hold until a message is queued, the hold time passes ([]), the
        client goes away ([]), the session goes away ([]) or the pod stops ([])."""
        session.last_activity = self._now()
        batch = session.take(ack)
        if batch or self._closing or session.removed:
            return batch
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        session.waiters.append(fut)
        session.polls_held += 1
        timer = loop.call_later(self.settings.poll_hold, _settle, fut)
        gone = watch_disconnect() if watch_disconnect is not None else None

        def on_gone(_: asyncio.Future[None]) -> None:
            _settle(fut)

        if gone is not None:
            gone.add_done_callback(on_gone)
        try:
            await fut
        finally:
            timer.cancel()
            if gone is not None:
                gone.remove_done_callback(on_gone)
            session.polls_held -= 1
            if fut in session.waiters:
                session.waiters.remove(fut)
            session.last_activity = self._now()
        if session.removed or (gone is not None and gone.done()):
            return []
        return session.take(ack)

    # ---- the agent side (agents and the control API act through AgentChat) -------------------------------

    def agent_chat(self, session: Session) -> AgentChat:
        return AgentChat(self, session)

    def _pod_message(self, session: Session, type_: str, message: dict[str, Any]) -> None:
        out = session.queue(type_, message)
        session.record("pod", type_, message, self.settings.transcript_limit, out.n)

    def _end_chat(self, session: Session, by: str, reason: str) -> None:
        """The chat is over but the session stays: the visitor polls (and gets ChatEnded) until it stops."""
        if session.state is ChatState.ENDED:
            return
        session.state = ChatState.ENDED
        session.ended_by = by
        session.end_reason = reason
        session.ended_ms = _wall_ms()
        session.cancel_timers()
        agent, session.agent = session.agent, None
        if agent is not None:
            agent.on_end(by, reason)

    def _remove(self, session: Session, *, by: str, reason: str) -> None:
        if session.removed:
            return
        self._end_chat(session, by, reason)
        session.removed = True
        session.outbox.clear()
        self._by_key.pop(session.key, None)
        self._by_id.pop(session.id, None)
        self._history[session.id] = session
        while len(self._history) > self.settings.history_limit:
            del self._history[next(iter(self._history))]
        if by == "visitor":
            self._tombstones[session.key] = (session.last_sequence, self._now() + self.settings.tombstone_ttl)
        session.wake()

    # ---- housekeeping ------------------------------------------------------------------------------------

    def sweep(self) -> int:
        """Expire sessions whose polls stopped for longer than connectionTimeout; returns how many."""
        now = self._now()
        timeout = self.settings.connection_timeout
        expired = [s for s in self._by_key.values() if s.polls_held == 0 and now - s.last_activity > timeout]
        for session in expired:
            log.info("chat %s: expired after %.0f s without polls", session.id, timeout)
            self._remove(session, by="timeout", reason="connectionTimeout")
        for key in [k for k, (_, expiry) in self._tombstones.items() if expiry < now]:
            del self._tombstones[key]
        return len(expired)

    async def run_sweeper(self) -> None:
        interval = max(0.01, min(5.0, self.settings.connection_timeout / 4))
        while True:
            await asyncio.sleep(interval)
            self.sweep()

    def reset(self) -> int:
        """Forget every session and chat; held polls answer 204. Returns how many sessions were live."""
        live = list(self._by_key.values())
        for session in live:
            self._remove(session, by="reset", reason="reset")
        self._history.clear()
        self._tombstones.clear()
        self.issued_keys.clear()
        return len(live)

    def close(self) -> None:
        """The pod is stopping: release every held poll now and answer later polls at once."""
        self._closing = True
        for session in self._by_key.values():
            session.cancel_timers()
            session.wake()


class AgentChat:
    """The agent side of one chat: what agent behaviours and the control API may do to it."""

    __slots__ = ("_pod", "_session")

    def __init__(self, pod: Pod, session: Session) -> None:
        self._pod = pod
        self._session = session

    @property
    def id(self) -> str:
        return self._session.id

    @property
    def state(self) -> ChatState:
        return self._session.state

    @property
    def visitor_name(self) -> str:
        return self._session.visitor_name

    @property
    def prechat_details(self) -> list[Any]:
        init = self._session.init or {}
        details = init.get("prechatDetails", [])
        return list(details) if isinstance(details, list) else []

    @property
    def connection_timeout_ms(self) -> int:
        return int(self._pod.settings.connection_timeout * 1000)

    def _require(self, action: str, *states: ChatState) -> None:
        if self._session.removed or self._session.state not in states:
            allowed = " or ".join(s.value for s in states)
            state = self._session.state.value
            raise InvalidState(f"cannot {action}: chat {self.id} is {state}, not {allowed}")

    def request_success(self, *, queue_position: int = 1, estimated_wait_time: int = -1) -> None:
        """ChatRequestSuccess: routed to agents, not yet accepted. Echoes the prechat details."""
        self._require("report success", ChatState.QUEUED)
        rng = self._pod._rng
        self._pod._pod_message(self._session, "ChatRequestSuccess", {
            "queuePosition": queue_position,
            "estimatedWaitTime": estimated_wait_time,
            "geoLocation": {"countryCode": "US", "countryName": "United States", "region": "CA",
                            "city": "San Francisco", "organization": "Sandbox", "latitude": 37.7749,
                            "longitude": -122.4194},
            "url": "",
            "customDetails": [d for d in self.prechat_details if isinstance(d, dict)],
            "visitorId": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "connectionTimeout": self.connection_timeout_ms,
            "sensitiveDataRules": [],
        })

    def request_fail(self, reason: str = "Unavailable") -> None:
        """ChatRequestFail ends the chat; the session lives on until the visitor stops polling."""
        self._require("fail the request", ChatState.QUEUED)
        self._pod._pod_message(self._session, "ChatRequestFail", {"reason": reason})
        self._pod._end_chat(self._session, "pod", reason)

    def accept(self, *, name: str = AGENT_NAME, user_id: str = AGENT_USER_ID) -> None:
        self._require("accept", ChatState.QUEUED)
        self._session.state = ChatState.ESTABLISHED
        self._pod._pod_message(self._session, "ChatEstablished", {
            "name": name,
            "userId": user_id,
            "sneakPeekEnabled": True,
            "chasitorIdleTimeout": {"isEnabled": False, "timeout": 0, "warningTime": 0},
        })

    def say(self, text: str, *, name: str = AGENT_NAME, agent_id: str = AGENT_USER_ID) -> None:
        self._require("say", ChatState.ESTABLISHED)
        message = {"name": name, "text": text, "agentId": agent_id}
        self._pod._pod_message(self._session, "ChatMessage", message)

    def typing(self, on: bool = True) -> None:
        self._require("type", ChatState.ESTABLISHED)
        self._pod._pod_message(self._session, "AgentTyping" if on else "AgentNotTyping", {})

    def end(self, reason: str = "agent") -> None:
        """The agent ends the chat: ChatEnded is queued; the session answers polls until the visitor stops."""
        self._require("end", ChatState.QUEUED, ChatState.ESTABLISHED)
        self._pod._pod_message(self._session, "ChatEnded", {"reason": reason})
        self._pod._end_chat(self._session, "agent", reason)

    def later(self, delay: float, callback: Callable[[], None]) -> None:
        """Run `callback` on the pod's loop after `delay` seconds, unless the chat ends first."""
        session = self._session
        if session.state is ChatState.ENDED:
            return
        loop = asyncio.get_running_loop()
        handle: asyncio.TimerHandle | None = None

        def fire() -> None:
            if handle is not None:
                session.timers.discard(handle)
            if session.state is not ChatState.ENDED:
                callback()

        handle = loop.call_later(max(0.0, delay), fire)
        session.timers.add(handle)
