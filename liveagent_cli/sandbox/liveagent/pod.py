"""The pod's protocol state, independent of HTTP: the sessions, and the rules that the guide and real clients
describe (section 6 of the reference), with the choices the README documents where both are silent.

Design for many concurrent chats on one event loop: sessions are found by key (and by id) in dicts; a held
poll waits on a future that the session resolves the moment a message is queued (or the chat goes away,
or the pod stops), with one timer for the hold time, so nothing sleeps in a loop and an idle chat costs no
CPU.

Rules implemented here:
- sequence: `last_sequence` is the last accepted X-LIVEAGENT-SEQUENCE (0 at start and after a move).
  N = last+1 is processed; N = last is a duplicate (200, not processed); anything else is 409 `Out of sync
  Ack. Expected N. Actual last`. No header: processed. A POST that fails does not use up its number.
- a second long poll while one is held: both get 409, the chat ends (`duplicatePoll`), the session goes.
  A held poll whose client disconnected does not count (it gets a short grace to be noticed), unless
  `duplicate_grace` is 0: then the pod never sees a held poll's client leave, as behind a load balancer.
- the pod moving a session (a `503` fault): its token rotates and every request but ReconnectSession gets
  503 until the visitor reconnects; ReconnectSession answers the current token (resetSequence true after a
  move); with no 503 before it, 405, except a retry of a ReconnectSession whose answer was lost (no request
  has used its token yet): that gets the same answer again.
- expiry: a session whose polls stop for longer than `connection_timeout` is removed (403 from then on).
- a session ended by the visitor (ChatEnd, DELETE) leaves a tombstone for a minute, so a retry of that very
  ChatEnd (same sequence number, its answer lost) still gets 200; anything else with that key gets 403.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import math
import random
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

from liveagent_cli.sandbox.defaults import AGENT_NAME, DEFAULT_CONNECTION_TIMEOUT, GEO_LOCATION
from liveagent_cli.sandbox.liveagent.nouns import noun_of
from liveagent_cli.sandbox.liveagent.session import HeldPoll, Outbound, Session, Upload, settle
from liveagent_cli.sandbox.model.agent_port import AgentChat, ChatState, Staffing, VisitorEvent
from liveagent_cli.sandbox.model.queues import ButtonQueue, Queues
from liveagent_cli.sandbox.model.refusals import (
    AffinityMismatch,
    BadRequest,
    DuplicatePoll,
    Forbidden,
    NotAllowed,
    NotEstablished,
    OutOfSync,
    SessionInvalid,
)

log = logging.getLogger("liveagent_cli.sandbox.liveagent.pod")

# The affinity tokens in Salesforce's examples (73061fa0, 2c931fa0, efae1fa0) share their last four hex
# digits, which look like a server id; the sandbox mimics that shape.
_SERVER_SUFFIX = "1fa0"


# Where the reference leaves the pod's behaviour open, the sandbox's choice (README: "forgiving") and the
# least forgiving one (`--strict`), which a client should survive too. Each can also be set on its own.
PROFILES: dict[str, dict[str, Any]] = {
    "forgiving": {"redeliver": True, "duplicate_grace": 0.05, "breadcrumb_key": "record"},
    "strict": {"redeliver": False, "duplicate_grace": 0.0, "breadcrumb_key": "ignore"},
}
BREADCRUMB_KEY_CHOICES = ("record", "ignore")


@dataclass(frozen=True, slots=True)
class PodSettings:
    poll_hold: float = 30.0
    poll_timeout_given: int | None = None  # the clientPollTimeout handed out; None: the hold rounded up, plus 10
    connection_timeout: float = DEFAULT_CONNECTION_TIMEOUT
    tombstone_ttl: float = 60.0
    history_limit: int = 1000
    events_limit: int = 10_000
    # the choices of PROFILES (defaults: forgiving)
    redeliver: bool = True  # re-send what the visitor has not acked on every poll, until it is acked
    duplicate_grace: float = 0.05  # time for a replaced poll's disconnect to be noticed before a 409; 0: never
    breadcrumb_key: str = "record"  # a Breadcrumb with a live session's key: "record" it on that chat, "ignore"

    @property
    def client_poll_timeout(self) -> int:
        if self.poll_timeout_given is not None:
            return self.poll_timeout_given
        return math.ceil(self.poll_hold) + 10


class SequenceCheck(NamedTuple):
    duplicate: bool
    value: int | None


class Pod:
    """All sessions of one sandbox pod. Not thread-safe: everything runs on the pod's event loop.

    `staffing` makes each new chat's agent; `agent_chat` gives that agent its handle on the chat (the
    runtime passes `LiveAgentChat`, which calls back into the pod): so the pod imports no agent code.
    """

    def __init__(
        self,
        settings: PodSettings,
        staffing: Staffing,
        agent_chat: Callable[[Pod, Session], AgentChat],
        seed: int | None = None,
    ) -> None:
        self.settings = settings
        self.staffing = staffing
        self._agent_chat = agent_chat
        self.rng: random.Random = random.Random(seed) if seed is not None else random.SystemRandom()
        self.queues = Queues[Session](lambda: self.staffing.expected_wait)
        self.breadcrumbs: deque[dict[str, Any]] = deque(maxlen=1000)  # those sent without a session
        self.issued_keys: deque[str] = deque(maxlen=100_000)  # for tests that check no key leaks
        self._by_key: dict[str, Session] = {}
        self._by_id: dict[str, Session] = {}
        self._history: dict[str, Session] = {}  # chats that ended and left, newest last (for the control API)
        self._tombstones: dict[str, tuple[int, float]] = {}  # key -> (last sequence, expiry)
        self._closing = False

    # ---- sessions ----------------------------------------------------------------------------------------

    @staticmethod
    def _now() -> float:
        return time.monotonic()

    def set_agent(self, staffing: Staffing) -> None:
        """Chats initialised from now on get this behaviour; running chats keep theirs."""
        self.staffing = staffing

    def _new_key(self, sid: str) -> str:
        secret = base64.b64encode(self.rng.randbytes(20)).decode("ascii").replace("/", "+")
        key = f"{sid}!{int(time.time() * 1000)}!{secret}"
        self.issued_keys.append(key)
        return key

    def _new_affinity(self) -> str:
        return f"{self.rng.getrandbits(16):04x}{_SERVER_SUFFIX}"

    def create_session(self, base_url: str) -> Session:
        sid = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        session = Session(
            sid, self._new_key(sid), self._new_affinity(), self.rng.randrange(10**8, 10**9), base_url, self._now()
        )
        session.redeliver = self.settings.redeliver
        self._by_key[session.key] = session
        self._by_id[sid] = session
        return session

    def lookup(self, key: str | None) -> Session | None:
        """The live session a key names, without any check or side effect."""
        return self._by_key.get(key) if key else None

    def resolve(self, key: str | None, affinity: str | None) -> Session:
        """The session a request's headers name; 403 for no or unknown key, 503 for a wrong affinity token.

        The token may be absent or empty (the seed article's client sends none) except while the pod has
        moved the session: then every request gets 503 until ReconnectSession.
        """
        if not key:
            raise SessionInvalid("missing X-LIVEAGENT-SESSION-KEY header")
        session = self._by_key.get(key)
        if session is None:
            raise SessionInvalid("unknown, expired or ended session")
        if session.relocated or (affinity and affinity != session.affinity):
            session.reconnectable = True
            raise AffinityMismatch()
        if affinity:
            session.token_unconfirmed = False
        return session

    def replayed_final_post(self, key: str | None, raw_sequence: str | None) -> bool:
        """True when a POST repeats, by sequence number, the ChatEnd that removed its session."""
        if not key or raw_sequence is None:
            return False
        tomb = self._tombstones.get(key)
        try:
            return tomb is not None and int(raw_sequence) == tomb[0]
        except ValueError:
            return False

    def find(self, chat_id: str) -> Session | None:
        return self._by_id.get(chat_id) or self._history.get(chat_id)

    def find_live(self, chat_id: str) -> Session | None:
        return self._by_id.get(chat_id)

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

    @staticmethod
    def check_sequence(session: Session, raw: str | None) -> SequenceCheck:
        """Classify a Chasitor POST by its X-LIVEAGENT-SEQUENCE: next, duplicate, or 409 out of sync."""
        if raw is None or not raw.strip():
            return SequenceCheck(False, None)
        try:
            value = int(raw)
        except ValueError:
            raise BadRequest("X-LIVEAGENT-SEQUENCE must be an integer") from None
        last = session.last_sequence
        if value == last:
            return SequenceCheck(True, value)
        if value != last + 1:
            raise OutOfSync(value, last)
        return SequenceCheck(False, value)

    @staticmethod
    def run_numbered(session: Session, value: int | None, action: Callable[[], None]) -> None:
        """Run a POST's action with its sequence number accepted; a failure gives the number back."""
        previous = session.last_sequence
        if value is not None:
            session.last_sequence = value
        try:
            action()
        except BaseException:
            session.last_sequence = previous
            raise

    # ---- visitor requests --------------------------------------------------------------------------------

    def chasitor_init(self, session: Session, body: dict[str, Any]) -> None:
        if session.state is not ChatState.NEW:
            log.info("chat %s: ChasitorInit repeated; ignored", session.id)
            return
        details = body.get("prechatDetails", [])
        if not isinstance(details, list):
            raise BadRequest("prechatDetails must be an array")
        session.init = body
        name = body.get("visitorName")
        session.visitor_name = name if isinstance(name, str) else ""
        session.button_id = _button_of(body)
        session.queue_updates = body.get("receiveQueueUpdates") is True
        session.state = ChatState.QUEUED
        session.queued_at = self._now()
        session.record("visitor", "ChasitorInit", body, self.settings.events_limit)
        session.queue_position = self.queues.of(session.button_id).join(session)
        staffing = self.staffing
        session.agent_kind = staffing.name
        session.agent_name = AGENT_NAME
        session.agent = staffing.factory(self.agent_chat(session))
        self._guard(session, "on_init", session.agent.on_init)

    def require_established(self, session: Session, noun: str) -> None:
        if session.state is ChatState.ENDED:
            raise SessionInvalid("the chat has ended")
        if session.state is not ChatState.ESTABLISHED:
            raise NotEstablished(f"{noun} before ChatEstablished: no agent has accepted this chat yet")

    def visitor_event(self, session: Session, event: VisitorEvent) -> None:
        """A visitor action inside an established chat (message, typing, sneak peek, event, menu choice...)."""
        self.require_established(session, noun_of(event))
        if event.kind == "choice":
            event = self._resolve_menu_choice(session, event)
        session.record("visitor", noun_of(event), event.data, self.settings.events_limit)
        agent = session.agent
        if agent is not None:
            self._guard(session, "on_visitor_event", lambda: agent.on_visitor_event(event))

    @staticmethod
    def _resolve_menu_choice(session: Session, event: VisitorEvent) -> VisitorEvent:
        """Name the items the visitor chose (by index into the menu of that type the agent sent last)."""
        actions = []
        for action in event.data["actions"]:
            items = session.menus.get(action["type"], [])
            index = action["index"]
            actions.append({**action, "text": items[index] if 0 <= index < len(items) else None})
        first = next((a["text"] for a in actions if a["text"] is not None), "")
        return VisitorEvent(event.kind, {"actions": actions}, first)

    def chat_end(self, session: Session, reason: str) -> None:
        """The visitor ends the chat: no ChatEnded is queued for it, and the session is gone."""
        session.record("visitor", "ChatEnd", {"reason": reason}, self.settings.events_limit)
        self._remove(session, by="visitor", reason=reason)

    def delete_session(self, session: Session) -> None:
        session.record("visitor", "DeleteSession", {}, self.settings.events_limit)
        self._remove(session, by="visitor", reason="deleted")

    def breadcrumb_session(self, key: str | None) -> Session | None:
        """The chat a Breadcrumb is recorded on: the one its key names, unless keys are ignored there."""
        return self.lookup(key) if self.settings.breadcrumb_key == "record" else None

    def breadcrumb(self, session: Session | None, location: str) -> None:
        """Visitor/Breadcrumb: recorded on the chat the key names, else in the pod-wide list."""
        entry = {"location": location, "at": int(time.time() * 1000)}
        if session is None:
            self.breadcrumbs.append(entry)
            return
        session.record("visitor", "Breadcrumb", {"location": location}, self.settings.events_limit)
        agent = session.agent
        if agent is not None and session.is_open:
            event = VisitorEvent("breadcrumb", {"location": location}, location)
            self._guard(session, "on_visitor_event", lambda: agent.on_visitor_event(event))

    def resync_state(self, session: Session, body: dict[str, Any]) -> None:
        """ChasitorResyncState: the visitor processed ChasitorSessionData; nothing to change but the record."""
        session.record("visitor", "ChasitorResyncState", body, self.settings.events_limit)

    def upload(self, session: Session, token: str, name: str, content_type: str, data: bytes) -> Upload:
        """A file the agent asked for arrived: FileTransfer Success, and the agent is told."""
        if session.file_token is None or token != session.file_token:
            raise Forbidden("no file was requested with this fileToken")
        session.file_token = None
        upload = Upload(name, content_type, len(data), hashlib.sha256(data).hexdigest(), int(time.time() * 1000))
        session.uploads.append(upload)
        info = {"name": name, "contentType": content_type, "size": upload.size, "sha256": upload.sha256}
        session.record("visitor", "FileUpload", info, self.settings.events_limit)
        self.deliver(session, "FileTransfer", {"type": "Success"})
        agent = session.agent
        if agent is not None:
            event = VisitorEvent("file", info, name)
            self._guard(session, "on_visitor_event", lambda: agent.on_visitor_event(event))
        return upload

    # ---- moving, reconnecting, expiring ------------------------------------------------------------------

    def relocate(self, session: Session) -> None:
        """The pod moves the session to another server (a 503 fault): new token, 503 until ReconnectSession.

        A poll held at that moment is answered 503 too: the server holding it is the one that went away.
        """
        session.affinity = self._new_affinity()
        session.relocated = True
        session.reconnectable = True
        session.record("sandbox", "SessionMoved", {"affinityToken": session.affinity}, self.settings.events_limit)
        session.wake()

    def reconnect(self, session: Session, offset: int | None) -> tuple[str, bool]:
        """ReconnectSession: the token of the server now holding the session, whether the sequence restarts,
        and ChasitorSessionData first on the next poll. Returns (affinityToken, resetSequence).

        The token changes when the pod moves the session, not on each reconnect, so two clients of one session
        (a poller and a sender) that both reconnect get the same one. The sequence restarts (0) only after a
        move: a new server has no count; after a 503 for a stale token the session stayed where it was, and
        its count with it (`resetSequence: false`). `offset` (of the last batch received) acks that batch.
        """
        if not session.reconnectable and not session.token_unconfirmed:
            raise NotAllowed("ReconnectSession is only allowed after a 503 on this session")
        if offset is not None:
            session.acknowledge(offset - session.offset_base)
        if not session.reconnectable:
            # A retry whose first answer was lost: no request has used the token since. Same answer again.
            return session.affinity, session.last_reset
        reset = session.relocated
        session.relocated = session.reconnectable = False
        session.token_unconfirmed = True
        session.last_reset = reset
        if reset:
            session.last_sequence = 0
        session.reconnects += 1
        self._queue_session_data(session)
        return session.affinity, reset

    def resync_legacy(self, session: Session) -> tuple[str, str]:
        """Legacy ResyncSession (API ≤ 36): a new key (the old one stops working) and the current token; the
        sequence restarts and ChasitorSessionData comes first, as after a move. No 503 needs to precede it."""
        self._by_key.pop(session.key, None)
        session.key = self._new_key(session.id)
        self._by_key[session.key] = session
        session.reconnectable = session.relocated = True
        token, _ = self.reconnect(session, None)
        return session.key, token

    def _queue_session_data(self, session: Session) -> None:
        message = {
            "queuePosition": self.queues.of(session.button_id).position(session)
            if session.state is ChatState.QUEUED
            else 0,
            "geoLocation": dict(GEO_LOCATION),
            "url": "",
            "oref": "",
            "postChatUrl": "",
            "sneakPeekEnabled": True,
            "chatMessages": _transcript_entries(session),
        }
        out, body = session.queue_resync(message)
        session.record("pod", "ChasitorSessionData", body, self.settings.events_limit, out.n)

    def expire(self, session: Session, reason: str = "expired") -> None:
        """The session becomes invalid at once (an `expire` fault): 403 from now on."""
        self._remove(session, by="pod", reason=reason)

    # ---- the long poll -----------------------------------------------------------------------------------

    async def poll(
        self,
        session: Session,
        ack: int | None,
        watch_disconnect: Callable[[], asyncio.Future[None]] | None = None,
        *,
        commit: bool = True,
    ) -> list[Outbound]:
        """Return what is pending at once, else hold until a message is queued, the hold time passes ([]), the
        client goes away ([]), the session goes away ([]) or the pod stops ([]).

        `commit=False`: the answer will be lost (a `drop` fault), so what it carries stays undelivered.
        """
        session.last_poll = self._now()
        if session.held:
            await self._refuse_duplicate(session)
        batch = session.take(ack, commit=commit)
        if batch or self._closing or session.removed:
            return batch
        loop = asyncio.get_running_loop()
        wake: asyncio.Future[None] = loop.create_future()
        # duplicate_grace 0: the pod never learns that a held poll's client left (a load balancer in between)
        sees_disconnect = watch_disconnect is not None and self.settings.duplicate_grace > 0
        gone = watch_disconnect() if watch_disconnect is not None and sees_disconnect else None
        held = HeldPoll(wake, gone)
        session.held.append(held)
        timer = loop.call_later(self.settings.poll_hold, settle, wake)

        def on_gone(_: asyncio.Future[None]) -> None:
            settle(wake)

        if gone is not None:
            gone.add_done_callback(on_gone)
        try:
            await wake
        finally:
            timer.cancel()
            if gone is not None:
                gone.remove_done_callback(on_gone)
            session.held.remove(held)
            session.last_poll = self._now()
        if session.end_reason == "duplicatePoll" and session.removed:
            raise DuplicatePoll()
        if session.relocated:
            raise AffinityMismatch()
        if session.removed or (gone is not None and gone.done()):
            return []
        return session.take(ack, commit=commit)

    async def _refuse_duplicate(self, session: Session) -> None:
        """A second poll while one is held: both 409 and the chat ends, unless the held one's client left."""
        pending = [p.gone for p in session.held if p.gone is not None and not p.gone.done()]
        if pending and len(pending) == len(session.held):
            await asyncio.wait(pending, timeout=self.settings.duplicate_grace)
        if any(p.gone is None or not p.gone.done() for p in session.held):
            log.info("chat %s: a second long poll arrived while one was held; chat ended (409)", session.id)
            session.record("sandbox", "DuplicatePoll", {}, self.settings.events_limit)
            self._remove(session, by="pod", reason="duplicatePoll")
            raise DuplicatePoll()

    # ---- the agent side (through AgentChat) --------------------------------------------------------------

    def agent_chat(self, session: Session) -> AgentChat:
        """What an agent (a behaviour, or the control API) may do to this chat."""
        return self._agent_chat(self, session)

    def deliver(self, session: Session, type_: str, message: dict[str, Any]) -> None:
        """Queue a message for the visitor (waking its held poll) and record it."""
        out, body = session.queue(type_, message)
        session.record("pod", type_, body, self.settings.events_limit, out.n)

    def establish(self, session: Session, name: str, user_id: str) -> None:
        """An agent accepted the chat: it leaves the queue (the chats behind move up) and can start."""
        session.state = ChatState.ESTABLISHED
        session.agent_name, session.agent_user_id = name, user_id
        queue = self.queues.of(session.button_id)
        queue.accepted(self._now() - session.queued_at)
        self._leave_queue(session)
        agent = session.agent
        if agent is not None:
            # After ChatEstablished is queued (the caller does that next), so scripts start on an open chat.
            asyncio.get_running_loop().call_soon(self._guard, session, "on_established", agent.on_established)

    def _leave_queue(self, session: Session) -> None:
        queue = self.queues.of(session.button_id)
        if queue.leave(session) and queue.waiting and not queue.update_pending:
            queue.update_pending = True
            asyncio.get_running_loop().call_soon(self._send_queue_updates, queue)

    def _send_queue_updates(self, queue: ButtonQueue[Session]) -> None:
        """QueueUpdate to every waiting chat (that asked for them) whose place changed since it was told."""
        queue.update_pending = False
        now = self._now()
        for position, chat in enumerate(queue.waiting, start=1):
            if chat.queue_position == position or not chat.queue_updates or chat.state is not ChatState.QUEUED:
                continue
            chat.queue_position = position
            wait = queue.estimate(now - chat.queued_at, self.staffing.expected_wait)
            self.deliver(chat, "QueueUpdate", {"position": position, "estimatedWaitTime": wait})

    def end_chat(self, session: Session, by: str, reason: str) -> None:
        """The chat is over but the session stays: the visitor polls (and gets ChatEnded) until it stops."""
        if session.state is ChatState.ENDED:
            return
        if session.state is ChatState.QUEUED:
            self._leave_queue(session)
        session.state = ChatState.ENDED
        session.ended_by = by
        session.end_reason = reason
        session.ended_ms = int(time.time() * 1000)
        session.cancel_timers()
        agent, session.agent = session.agent, None
        if agent is not None:
            self._guard(session, "on_end", lambda: agent.on_end(by, reason))

    def _remove(self, session: Session, *, by: str, reason: str) -> None:
        if session.removed:
            return
        self.end_chat(session, by, reason)
        session.removed = True
        session.outbox.clear()
        session.resync = None
        self._by_key.pop(session.key, None)
        self._by_id.pop(session.id, None)
        self._history[session.id] = session
        while len(self._history) > self.settings.history_limit:
            del self._history[next(iter(self._history))]
        if by == "visitor":
            self._tombstones[session.key] = (session.last_sequence, self._now() + self.settings.tombstone_ttl)
        session.wake()

    def _guard(self, session: Session, hook: str, call: Callable[[], None]) -> None:
        """Run an agent hook; a bug in a behaviour or script is logged on the chat, never raised to the visitor."""
        try:
            call()
        except Exception as exc:
            log.exception("chat %s: agent %s failed", session.id, hook)
            session.record(
                "sandbox",
                "AgentError",
                {"hook": hook, "error": f"{type(exc).__name__}: {exc}"},
                self.settings.events_limit,
            )

    # ---- housekeeping ------------------------------------------------------------------------------------

    def sweep(self) -> int:
        """Expire sessions whose polls stopped for longer than connectionTimeout; returns how many."""
        now = self._now()
        timeout = self.settings.connection_timeout
        expired = [s for s in self._by_key.values() if not s.held and now - s.last_poll > timeout]
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
        self.breadcrumbs.clear()
        self.queues.clear()
        return len(live)

    def close(self) -> None:
        """The pod is stopping: release every held poll now and answer later polls at once."""
        self._closing = True
        for session in self._by_key.values():
            session.cancel_timers()
            session.wake()


def _button_of(body: dict[str, Any]) -> str:
    """The button a chat queues on: `buttonId`, else the first of `buttonOverrides`."""
    button = body.get("buttonId")
    if isinstance(button, str) and button:
        return button
    overrides = body.get("buttonOverrides")
    if isinstance(overrides, list) and overrides and isinstance(overrides[0], str):
        return overrides[0]
    return ""


def _transcript_entries(session: Session) -> list[dict[str, Any]]:
    """ChasitorSessionData.chatMessages: the chat so far as TranscriptEntry objects.

    Agent messages that follow ChasitorSessionData in the same batch (those not acked, or without
    re-delivery those not yet handed out) are left out: a client that rebuilds its transcript from
    chatMessages would otherwise show them twice.
    """
    entries: list[dict[str, Any]] = []
    follow = session.acked if session.redeliver else session.delivered
    for event in session.events:
        if event.type not in ("ChatMessage", "ChatTransferred") or event.sender == "sandbox":
            continue
        if event.n is not None and event.n > follow:
            continue
        data = event.data
        if event.sender == "visitor":
            kind, name, content = "Chasitor", session.visitor_name, data.get("text", "")
        elif event.type == "ChatMessage":
            kind, name, content = "Agent", data.get("name", AGENT_NAME), data.get("text", "")
        else:
            kind, name, content = "OperatorTransferred", data.get("name", ""), ""
        entries.append(
            {"type": kind, "name": name, "content": content, "timestamp": event.at_ms, "sequence": len(entries) + 1}
        )
    return entries
