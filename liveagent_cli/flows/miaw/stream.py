"""`poll` against Enhanced Chat: the session's one event stream, nothing lost and nothing shown twice.

Rules (issue 13, miaw-api.md §3.5):
- One stream per session across processes: the session's poll lock is held while the stream is open, so a
  second `poll` waits for the first (bounded by its --timeout), as one long poll is for Live Agent.
- Each event is printed first and only then recorded as the session's last event id (with its entry id and
  time), so a poller killed in between shows that event again rather than losing it. A new `poll` opens the
  stream with `Last-Event-Id` set to that id.
- A stream cut (the connection dropped, the server closed it, or nothing at all for a minute, pings
  included) is reopened with the same id, under flows/retry.py's backoff: at once, then 0.25 s doubling up
  to 4 s, giving up when nothing has answered for the step's budget (60 s, LIVEAGENT_NETWORK_TIMEOUT).
- A server need not replay what a stream missed (`sandbox serve --no-replay` does not). So on every open
  the conversation's entries listing is read from the newest entry printed on, and what it has that was
  not printed is printed (`recovered: true` on its JSON line) before the stream's own events. Both are
  de-duplicated by entry id (the last SEEN_KEPT kept in the state) and by time (nothing older than the
  newest entry printed), so a server that does replay shows nothing twice either.
- A stream that ends saying the token expired, or a 401, ends the step with exit 6 and a hint.
- Events of the subject's other conversations (the stream is per end user, §3.1) are passed over.
- A plain `poll` waits up to 30 s for something to arrive, then takes what follows within half a second
  and returns; `--follow` runs until the messaging session ends; `--until` until one of its kinds or event
  names arrives; `--timeout` bounds either (exit 8).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from liveagent_cli.core.chat_events import ChatEvent, EventKind
from liveagent_cli.core.errors import (
    ApiError,
    NetworkError,
    NetworkFailure,
    NoAgentError,
    SessionGoneError,
    WaitTimeoutError,
)
from liveagent_cli.core.miaw import state as records
from liveagent_cli.core.miaw.client import TOKEN_HINT, StreamEnded
from liveagent_cli.core.miaw.events import (
    PING,
    RECOVERED_TYPES,
    ConversationItem,
    apply_event,
    from_entry,
    from_stream,
    interpret,
)
from liveagent_cli.core.miaw.state import MiawState
from liveagent_cli.flows.context import Context
from liveagent_cli.flows.deadline import Deadline
from liveagent_cli.flows.miaw.link import Link
from liveagent_cli.flows.retry import DEFINITE, Retries

if TYPE_CHECKING:
    from liveagent_cli.core.miaw.client import EventStream
    from liveagent_cli.core.miaw.sse import SseEvent

POLL_HOLD = 30.0  # a plain poll's wait for a first event, as a Live Agent long poll is held
SETTLE = 0.5  # after an event, how long a plain poll waits for more of the same burst
CHECK_EVERY = 1.0  # while waiting, how often to look whether another process ended the session
LOCK_RETRY = 0.05
REPLAY_GRACE = 0.3  # seconds a reopened stream is given to replay what the listing says was missed
_NEVER = 2**63  # sorts an event without a time after every timed one
LISTING_PAGE = 50
LISTING_PAGES = 20

OnItem = Callable[[ConversationItem, ChatEvent, MiawState], None]


@dataclass
class StreamResult:
    """What a poll run printed: the event names and kinds (sets, so a follower's memory stays flat), and how
    it ended."""

    types: set[str] = field(default_factory=set)
    kinds: set[str] = field(default_factory=set)
    shown: int = 0
    recovered: int = 0
    reconnects: int = 0
    ended: EventKind | None = None
    end_reason: str = ""
    ended_elsewhere: str = ""


class EndedElsewhere(SessionGoneError):
    """The state file went away while this process followed the stream: another step ended the session."""


def run_poll(
    ctx: Context,
    on_item: OnItem,
    *,
    follow: bool = False,
    until: Iterable[str] = (),
    timeout: float | None = None,
    stop: Callable[[], bool] | None = None,
) -> StreamResult:
    """Follow the stream under the rules above; `on_item(item, event, state)` prints one item. `stop` (chat's
    poll thread) is asked between reads: once it says so, the run returns, saying nothing."""
    wanted = set(until)
    deadline = Deadline(timeout)
    result = StreamResult()
    with _PollLock(ctx, deadline):
        follower = Follower(ctx, on_item, result, stop)
        try:
            follower.run(follow=follow, wanted=wanted, deadline=deadline)
        finally:
            follower.close()
    if stop is not None and stop():
        return result
    if wanted & (result.types | result.kinds):
        return result
    if result.ended is not None:
        if result.ended is EventKind.FAILED:
            raise NoAgentError(f"no agent took the chat ({result.end_reason})", hint="try again later")
        if result.ended_elsewhere:
            if wanted:
                raise SessionGoneError(result.ended_elsewhere, hint="start a new chat with `liveagent session`")
            ctx.out.note(result.ended_elsewhere)
        elif wanted:
            raise SessionGoneError(
                f"the chat ended ({result.end_reason}) before {' or '.join(sorted(wanted))} arrived",
                hint="send a message to start a new messaging session, or `liveagent end`",
            )
        return result
    if (follow or wanted) and deadline.expired():
        what = " or ".join(sorted(wanted)) if wanted else "the chat to end"
        raise WaitTimeoutError(f"timed out after {timeout:g} s waiting for {what}")
    return result


class Follower:
    """The session's one stream reader for one run of `poll` (or a thread of `chat`)."""

    def __init__(
        self, ctx: Context, on_item: OnItem, result: StreamResult, stop: Callable[[], bool] | None = None
    ) -> None:
        self.ctx = ctx
        self.stopped = stop or (lambda: False)
        self.store = ctx.store
        self.on_item = on_item
        self.result = result
        self.link = Link(ctx)
        self.conversation = self.link.conversation()
        self._stream: EventStream | None = None
        self._settle = Deadline(SETTLE)  # a plain poll's burst ends SETTLE after its last printed event
        self._heard = False

    @property
    def state(self) -> MiawState:
        return self.link.state

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None
        self.link.close()

    # -- the loop ------------------------------------------------------------------------------------------
    def run(self, *, follow: bool, wanted: set[str], deadline: Deadline) -> None:
        plain = not (follow or wanted)
        hold = Deadline(POLL_HOLD).earliest(deadline) if plain else deadline
        # the cuts in a row of streams that delivered nothing, and their budget, which starts at the first of
        # them: a stream that delivered before it was cut worked, however long ago the last cut was
        retries: Retries | None = None
        while True:
            try:
                self._open(deadline)
            except NetworkError:
                if deadline.expired() or (plain and hold.expired()):
                    return  # the caller's own deadline came first: it ends the wait, not the silence
                raise
            try:
                self._catch_up()
                if self._heard:
                    retries = None  # the stream works: a later cut starts afresh
                while not self._finished(wanted) and not self.stopped():
                    if plain and self.result.shown and self._settle.expired():
                        return  # the burst is over
                    if (plain and not self.result.shown and hold.expired()) or deadline.expired():
                        return
                    if self._read_one(plain, hold, deadline):
                        retries = None  # the stream works: a later cut starts afresh
                return
            except StreamEnded as ended:
                if self.result.ended_elsewhere:
                    return
                if ended.why == "expired":
                    raise SessionGoneError(
                        "the access token expired: the server ended the event stream",
                        hint=TOKEN_HINT,
                        reason="the access token expired",
                    ) from None
                cut = NetworkError("the server closed the event stream", failure=NetworkFailure.DROPPED)
            except NetworkError as exc:
                cut = exc
            finally:
                if self._stream is not None:
                    self._stream.close()
                    self._stream = None
            if (plain and (self.result.shown or hold.expired())) or deadline.expired() or self.stopped():
                return
            self.result.reconnects += 1
            if self._heard:  # it delivered (in the catch-up, say) before it was cut: it worked
                retries = None
            if retries is None:
                retries = self._retries(deadline)
            try:
                retries.after(cut)
            except NetworkError as final:
                if final.failure not in DEFINITE and deadline.expired():
                    return
                raise

    def _finished(self, wanted: set[str]) -> bool:
        return bool(wanted & (self.result.types | self.result.kinds)) or self.result.ended is not None

    def _retries(self, deadline: Deadline) -> Retries:
        return Retries(Deadline(self.link.give_up).earliest(deadline), self.ctx.out.note)

    def _open(self, deadline: Deadline) -> None:
        position = self.state.last_event_id
        budget = Deadline(self.link.give_up).earliest(deadline)
        self._stream = self.link.request(lambda client, timeout: client.open_stream(position), budget)
        self._heard = False  # whether this stream has delivered anything (a ping counts)

    def _read_one(self, plain: bool, hold: Deadline, deadline: Deadline) -> bool:
        """Read and handle the next event; True when one came (a ping counts: the stream is alive)."""
        assert self._stream is not None
        window = (self._settle if self.result.shown else hold).remaining() if plain else deadline.remaining()
        wait = CHECK_EVERY if window is None else max(0.0, min(window, CHECK_EVERY))
        event = self._stream.next(wait)
        if event is None:
            if not self.store.exists():
                self._ended_elsewhere()
            return False
        if event.event != PING:
            self._take(event)
        return True

    # -- one event -----------------------------------------------------------------------------------------
    def _take(self, event: SseEvent) -> None:
        self._handle(from_stream(event.event, event.data, event.id))

    def _handle(self, item: ConversationItem) -> None:
        if (item.conversation_id and item.conversation_id != self.conversation) or self._seen(item):
            if item.id is not None and item.id != self.state.last_event_id:
                self._record(item, None)  # passed over, but the stream has moved past it
            return
        meaning = interpret(item)
        self.on_item(item, meaning, self.state)
        self.result.shown += 1
        self._settle = Deadline(SETTLE)
        self.result.recovered += item.recovered
        self.result.types.add(item.type)
        self.result.kinds.add(str(meaning.kind))
        if self._record(item, meaning) and self.result.ended is None:
            self.result.ended, self.result.end_reason = meaning.kind, meaning.reason

    def _seen(self, item: ConversationItem) -> bool:
        if item.entry_id and self.state.has_seen(item.entry_id):
            return True
        return item.timestamp is not None and item.timestamp < self.state.last_entry_ms

    def _record(self, item: ConversationItem, meaning: ChatEvent | None) -> bool:
        """After printing: the event's id, entry and meaning into the state, under the state lock; True when
        it ends the current messaging session."""
        ends = False
        with self.store.lock():
            if not self.store.exists():
                self._ended_elsewhere()
            state = records.load(self.store)
            self.link.check_same_session(state)
            if meaning is None:
                if item.id is not None:
                    state.last_event_id = item.id
            else:
                ends = apply_event(state, item, meaning)
            records.save(self.store, state)
        self.link.state = state
        return ends

    def _ended_elsewhere(self) -> None:
        why = f"the session {self.store.name!r} was ended by another process"
        self.result.ended, self.result.end_reason, self.result.ended_elsewhere = EventKind.ENDED, why, why
        raise StreamEnded("elsewhere")

    # -- recovery from the entries listing ------------------------------------------------------------------
    def _catch_up(self) -> None:
        """Right after an open: what the entries listing holds that was never printed is printed, in time
        order with what the stream replays meanwhile. When the listing has nothing new there is nothing to
        wait for. Else the stream is read for up to REPLAY_GRACE (less once a ping, or the replay of every
        such entry, came): a server that replays is seen doing so, and its events, ids and all, are printed;
        an entry it did not replay is printed from the listing, marked recovered."""
        assert self._stream is not None
        missing = self._unprinted_entries()
        if not missing:
            return
        replayed: list[ConversationItem] = []
        grace = Deadline(REPLAY_GRACE)
        try:
            while missing and not grace.expired():
                event = self._stream.next(grace.remaining())
                if event is None:
                    break
                self._heard = True
                if event.event == PING:
                    break
                item = from_stream(event.event, event.data, event.id)
                replayed.append(item)
                missing.pop(item.entry_id, None)
        finally:
            both = replayed + list(missing.values())
            for item in sorted(both, key=lambda i: _NEVER if i.timestamp is None else i.timestamp):
                self._handle(item)

    def _unprinted_entries(self) -> dict[str, ConversationItem]:
        """The listing's entries of this conversation from the newest printed on that were not printed."""
        start = self.state.last_entry_ms or None
        found: dict[str, ConversationItem] = {}
        for _ in range(LISTING_PAGES):
            try:
                page = self._page(start)
            except ApiError as exc:
                if exc.status in (400, 404):
                    return found  # a server without the listing (or the filter): rely on its replay
                raise
            items = [from_entry(self.conversation, entry) for entry in page]
            for item in items:
                if item.entry_id and not self._seen(item):
                    found.setdefault(item.entry_id, item)
            newest = max((i.timestamp for i in items if i.timestamp is not None), default=None)
            if len(page) < LISTING_PAGE or newest is None or newest == start:
                break
            start = newest
        return found

    def _page(self, since: int | None) -> list[dict[str, object]]:
        return self.link.request(
            lambda client, timeout: client.entries(
                self.conversation,
                limit=LISTING_PAGE,
                direction="FromStart",
                start_timestamp=since,
                entry_types=RECOVERED_TYPES,
                timeout=timeout,
            )
        )


class _PollLock:
    """Only one stream per session: a second poller waits for the first (bounded by its deadline)."""

    def __init__(self, ctx: Context, deadline: Deadline) -> None:
        self.ctx, self.deadline = ctx, deadline
        self._cm: contextlib.AbstractContextManager[bool] | None = None

    def __enter__(self) -> None:
        announced = False
        while True:
            cm = self.ctx.store.lock("poll", blocking=False)
            if cm.__enter__():
                self._cm = cm
                return
            cm.__exit__(None, None, None)
            if not announced:
                self.ctx.out.note("another process is following this session's event stream; waiting for it")
                announced = True
            if self.deadline.expired():
                raise WaitTimeoutError(
                    "timed out waiting for another process's poll of this session to finish",
                    hint="one event stream per session: stop the other `poll` (or `chat`) first",
                )
            time.sleep(LOCK_RETRY)

    def __exit__(self, *exc: object) -> None:
        if self._cm is not None:
            self._cm.__exit__(None, None, None)
