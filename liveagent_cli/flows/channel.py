"""One session as seen by one process: the state file, a client, and the protocol's recovery rules.

Rules (liveagent-api.md §6), and who does what when several processes share a session:
- Three locks (core/state.py). `NAME.state.lock` is held only to read, change and write the state file, never
  across a request, so a stopped or hung process cannot hold up the others' bookkeeping (a poller storing its
  ack). `NAME.send.lock` is held across one sequenced POST: every Chasitor POST takes its
  X-LIVEAGENT-SEQUENCE and sends it while holding it, so numbers reach the pod in order whatever the number of
  `send` processes; it also covers ReconnectSession, which restarts the numbers. `NAME.poll.lock` is the one
  long poll. Taken in that order (poll, send, state), and every wait for one is bounded by the step's budget.
- A POST whose answer was lost is retried with the *same* number: the pod drops a repeat, so it never acts
  twice. A 409 `Out of sync Ack. Expected N. Actual M` is settled by the numbers: M >= N means the pod
  already has it (it counts as sent); M < N means continue from M + 1 and retry once. A POST the pod refused
  (a 4xx or 500: it did not take it) gives its number back, so the next POST does not meet a 409; unless an
  earlier attempt's answer was lost, as that attempt may have landed.
- A 503 means the pod moved the session. Whoever meets it first runs ReconnectSession under the send lock
  and stores the new affinity and sequence; anyone else who meets a 503 afterwards sees the stored affinity
  differ from the one it used and simply adopts it, so one move costs one ReconnectSession.
- After a reconnect the pod's next poll answer starts with ChasitorSessionData, and nothing else should be
  sent before it is processed and ChasitorResyncState posted. The session's poller does that; a `send` that
  finds a resync pending waits for the poller, or, when no process is polling, polls once itself. What that
  poll receives is stored in the state file (`undelivered`) with its ack, and the next `poll` prints it first:
  nothing is lost on a pod that hands each message out once, nothing shown twice on one that re-delivers.
- A ChatMessage whose answer was lost and whose retry then met a 503 may or may not have landed before the
  move. The visitor entries of the pod's ChasitorSessionData transcript settle it: more than the messages we
  know were confirmed means it landed (counted as sent), otherwise it is sent again with the new sequence.
- A long poll is recorded in the state before it goes out (`poll_held_until`, now + clientPollTimeout) and
  cleared when it is answered. A poll cut off (`--timeout`, Ctrl-C, kill -9) leaves the record, and the next
  poll waits until then: the pod may not have seen the client go, and a second long poll makes it end the chat.
- 403 means the chat is over; 409 on a poll means the pod saw two polls and ended the chat. Both mark the
  state ended (exit 6).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from enum import Enum
from typing import TYPE_CHECKING

from liveagent_cli.core.errors import (
    ApiError,
    DuplicatePollError,
    LiveAgentError,
    NetworkError,
    OutOfSyncError,
    PodMovedError,
    SessionGoneError,
    WaitTimeoutError,
)
from liveagent_cli.core.messages import apply_batch
from liveagent_cli.core.state import ChatPhase, SessionState
from liveagent_cli.flows.context import Context
from liveagent_cli.flows.deadline import Deadline, give_up_seconds
from liveagent_cli.flows.describe import warn_ignored_flags
from liveagent_cli.flows.retry import DEFINITE, POST_TIMEOUT, Retries, retrying

if TYPE_CHECKING:
    from liveagent_cli.core.client import Batch, LiveAgentClient

POLL_MARGIN = 5.0  # seconds beyond clientPollTimeout before a held poll counts as lost
RESYNC_WAIT_STEP = 0.05
MAX_RECONNECTS_PER_STEP = 10

Send = Callable[["LiveAgentClient", int, float], None]


class Outcome(Enum):
    """How one POST attempt round ended."""

    SENT = "sent"  # the pod has it
    MOVED = "moved"  # a 503 moved the session before the pod took it: resync, then send it again
    MOVED_UNSURE = "moved-unsure"  # an answer was lost before the move: the pod may have it already


class EndedElsewhere(SessionGoneError):
    """The state file went away, or says ended, while this process polled: another step ended the chat."""


def live_state(ctx: Context) -> SessionState:
    """The stored state, refusing one whose chat already ended."""
    state = ctx.store.load()
    ctx.out.redactor.add(state.key)
    if state.chat == ChatPhase.ENDED:
        raise SessionGoneError(
            f"the chat on session {ctx.store.name!r} has ended"
            + (f" ({state.ended_reason})" if state.ended_reason else ""),
            hint="start a new chat with `liveagent session`, or clear this one with `liveagent end`",
        )
    return state


def refused(exc: ApiError) -> bool:
    """The pod answered and did not take the POST (a 4xx, or 500 before ChatEstablished): its number is free."""
    return exc.status is not None and 400 <= exc.status < 600 and exc.status not in (409, 503)


class Channel:
    """A session's client plus the rules above, for one process (or one thread of `chat`)."""

    def __init__(self, ctx: Context, *, ended_ok: bool = False) -> None:
        """`ended_ok`: take a chat that ended too (a poller with messages still to show), else refuse it."""
        self.ctx = ctx
        self.store = ctx.store
        self.state = ctx.store.load() if ended_ok else live_state(ctx)
        warn_ignored_flags(ctx, self.state)
        ctx.out.redactor.add(self.state.key)
        self.client = ctx.client(self.state.pod, self.state.api_version, self.state)
        self.give_up = give_up_seconds(ctx.environ)
        self.polled_with = ""  # the affinity the last poll was sent with
        self._noted_held_poll = False

    def adopt(self, state: SessionState) -> None:
        self.state = state
        self.client.key, self.client.affinity = state.key, state.affinity
        self.ctx.out.redactor.add(state.key)

    def update(self, change: Callable[[SessionState], None]) -> SessionState:
        """Change this session's stored state under the state lock (never another session that replaced it)."""

        def same_session_then(state: SessionState) -> None:
            self.check_same_session(state)
            change(state)

        return self.store.update(same_session_then)

    # -- POSTs ---------------------------------------------------------------------------------------------
    def post(
        self,
        send: Send,
        *,
        prepare: Callable[[SessionState], None] | None = None,
        done: Callable[[SessionState], None] | None = None,
        in_transcript: bool = False,
    ) -> SessionState:
        """Send one Chasitor POST in sequence order, recovering from lost answers, 409 and 503.

        `prepare` runs under the state lock before the number is taken (it may refuse by raising); `done`
        changes the state once the pod has the POST. `in_transcript`: the POST is a ChatMessage, which the
        pod's transcript shows after a move.
        """
        deadline = Deadline(self.give_up)
        confirmed_before: int | None = None  # set when a lost answer was followed by a move
        for _ in range(MAX_RECONNECTS_PER_STEP):
            with self.store.lock("send", within=deadline.remaining()):
                taken = self.take_number(prepare, confirmed_before)
                if taken is Outcome.SENT:
                    return self.update(done or (lambda state: None))
                if isinstance(taken, int):  # else a resync is pending: wait for it below, then try again
                    outcome = self.send_with_retries(send, taken, deadline)
                    if outcome is Outcome.SENT:
                        return self.update(done or (lambda state: None))
                    confirmed_before = self.settle_after_move(outcome, deadline, in_transcript)
            self.await_resync(deadline)
        raise NetworkError("the pod kept moving the session; giving up", hint="try again later")

    def take_number(
        self, prepare: Callable[[SessionState], None] | None, confirmed_before: int | None
    ) -> int | Outcome:
        """Under the state lock (the send lock held): the next sequence number, recorded before it is sent.

        Or what is already known: SENT when the pod's transcript after a move shows the message landed,
        MOVED while a resync is still pending.
        """
        with self.store.lock():
            state = live_state(self.ctx)
            self.check_same_session(state)
            self.adopt(state)
            if state.resync_pending:
                return Outcome.MOVED
            if confirmed_before is not None and state.pod_chasitor_count > confirmed_before:
                return Outcome.SENT
            if prepare:
                prepare(state)
            state.sequence += 1
            self.store.save(state)
            return state.sequence

    def send_with_retries(self, send: Send, number: int, deadline: Deadline) -> Outcome:
        """The POST with `number`, no state lock held: retried after a lost answer, settled on 409; a refused
        POST gives its number back, and 403 marks the chat ended (both raise)."""
        retries, resynced_409, answer_lost = Retries(deadline, self.ctx.out.note), False, False
        while True:
            try:
                send(self.client, number, deadline.cap(POST_TIMEOUT))
                return Outcome.SENT
            except NetworkError as exc:
                answer_lost = True
                retries.after(exc)
            except OutOfSyncError as exc:
                if exc.actual >= exc.sent:
                    # the pod already has this one (its first answer was lost): carry on from where it is
                    self.store_sequence(max(number, exc.actual))
                    return Outcome.SENT
                if resynced_409:
                    raise
                resynced_409, number = True, exc.actual + 1
                self.store_sequence(number)
            except PodMovedError:
                return Outcome.MOVED_UNSURE if answer_lost else Outcome.MOVED
            except SessionGoneError as exc:
                self.mark_ended(exc.reason)
                raise
            except ApiError as exc:
                if refused(exc) and not answer_lost:
                    self.give_back(number)
                raise

    def store_sequence(self, number: int) -> None:
        """Record the last number used, after a 409 told us where the pod is (the send lock is still held)."""
        self.update(lambda state: setattr(state, "sequence", number))

    def give_back(self, number: int) -> None:
        """A refused POST's number is used again by the next POST (the send lock is still held)."""

        def reuse(state: SessionState) -> None:
            if state.sequence == number:
                state.sequence -= 1

        self.update(reuse)

    def settle_after_move(self, outcome: Outcome, deadline: Deadline, in_transcript: bool) -> int | None:
        """After a 503 (send lock held): follow the session to its new server. Returns, when a lost answer came
        before the move, the ChatMessages confirmed so far, to tell from the pod's transcript if ours landed."""
        self._follow_move_locked(deadline)
        if outcome is Outcome.MOVED_UNSURE and in_transcript:
            return self.store.load().messages_sent
        return None

    # -- reconnect and resync -------------------------------------------------------------------------------
    def follow_move(self, deadline: Deadline, *, force: bool = False) -> None:
        """After a 503: ReconnectSession under the send lock, unless another process already did."""
        with self.store.lock("send", within=deadline.remaining()):
            self._follow_move_locked(deadline, force=force)

    def _follow_move_locked(self, deadline: Deadline, *, force: bool = False) -> None:
        """The send lock is held, so no number is taken while the sequence restarts."""
        used = self.client.affinity
        stored = self.store.load()
        self.check_same_session(stored)
        if stored.affinity != used and not force:
            self.adopt(stored)
            return
        token, reset = retrying(
            lambda timeout: self.client.reconnect_session(stored.offset, timeout=timeout),
            deadline,
            self.ctx.out.note,
            retry_on=(NetworkError, PodMovedError),
        )

        def moved(state: SessionState) -> None:
            state.affinity = token
            if reset:
                state.sequence = 0
            state.resync_pending = True
            state.pod_chasitor_count = -1
            state.reconnects += 1

        self.adopt(self.update(moved))
        self.ctx.out.note("the pod moved the session to another server; reconnected")

    def resync(self) -> None:
        """Post ChasitorResyncState once ChasitorSessionData was taken, then clear the pending flag either way.

        No lock is held while it goes out: it carries no number, and every POST waits for the flag to clear.
        """
        state = self.store.load()
        if not state.resync_pending:
            return
        self.adopt(state)
        if state.chat == ChatPhase.ENDED:  # what the resync poll brought ended the chat: nothing to resync
            self.update(lambda s: setattr(s, "resync_pending", False))
            return
        try:
            retrying(
                lambda timeout: self.client.chasitor_resync_state(state.org_id, timeout=timeout),
                Deadline(self.give_up),
                self.ctx.out.note,
            )
        except LiveAgentError as exc:
            self.ctx.out.warn(f"ChasitorResyncState failed ({exc.message}); carrying on")
        self.update(lambda s: setattr(s, "resync_pending", False))

    def await_resync(self, deadline: Deadline) -> None:
        """Wait for the session's poller to resync, or resync by polling once ourselves if nobody polls.

        A poller gets at most half of what is left of the step's budget, so the POST keeps the other half.
        """
        left = deadline.remaining()
        wait = Deadline(None if left is None else left / 2)
        while not wait.expired():
            with self.store.lock("poll", blocking=False) as got:
                if got:
                    self._resync_by_peeking(deadline)
                    return
            if not self.store.load().resync_pending:
                return
            time.sleep(RESYNC_WAIT_STEP)
        self.ctx.out.warn("no poller took ChasitorSessionData in time; sending anyway")
        self.update(lambda s: setattr(s, "resync_pending", False))

    def _resync_by_peeking(self, deadline: Deadline) -> None:
        """With the poll lock held: poll once, keep what came (with its ack) for the next `poll`, then resync.

        A peek that gets no answer is retried like any request; when the step's budget runs out its error is
        the step's, so the cause is named (not taken for one more move of the session).
        """
        state = self.store.load()
        if not state.resync_pending:
            return
        self.adopt(state)
        left = deadline.remaining()
        if not self.wait_out_held_poll(state, Deadline(None if left is None else left / 2)):  # half, as for a poller
            self.ctx.out.warn(
                "a cut-off long poll may still be held, so ChasitorSessionData was not fetched; sending anyway"
            )
            self.update(lambda s: setattr(s, "resync_pending", False))
            return
        retries = Retries(deadline, self.ctx.out.note)
        while True:
            try:
                batch = self.messages(deadline.cap(state.client_poll_timeout + POLL_MARGIN))
                break
            except PodMovedError:
                self.follow_move(deadline)
                return
            except NetworkError as exc:
                retries.after(exc)

        def keep(state: SessionState) -> None:
            state.poll_held_until = None
            if batch is not None:
                state.undelivered.extend(json.dumps(item, ensure_ascii=False) for item in batch.messages)
                apply_batch(state, batch)  # ack, offset, phase; ChasitorSessionData's count of our messages

        self.update(keep)
        self.resync()

    # -- polls ---------------------------------------------------------------------------------------------
    def messages(self, hold: float) -> Batch | None:
        """One GET System/Messages with the current ack, recorded in the state before it goes out, so a
        poll cut off (or a process killed) mid-hold leaves word for the next poller."""
        held_until = time.time() + self.state.client_poll_timeout
        self.update(lambda s: setattr(s, "poll_held_until", held_until))
        self.polled_with = self.client.affinity or ""
        return self.client.messages(self.state.ack, timeout=hold)

    def wait_out_held_poll(self, state: SessionState, deadline: Deadline) -> bool:
        """Wait until a poll another process cut off can no longer be held by the pod; False if `deadline`
        comes first. A pod that did not see that client go (a load balancer in between) would take a new long
        poll now for a second one and end the chat (409)."""
        until = state.poll_held_until
        now = time.time()
        if until is None or until <= now:
            return True
        if not self._noted_held_poll:
            self._noted_held_poll = True
            self.ctx.out.note(
                f"the last long poll of this session was cut off and the pod may hold it {until - now:.0f} s more; "
                "waiting, as a second long poll would make the pod end the chat"
            )
        left = deadline.remaining()
        time.sleep(until - now if left is None else max(0.0, min(until - now, left)))
        return time.time() >= until

    def poll_once(self, deadline: Deadline) -> Batch | None:
        """One long poll: transport failures retried until nothing has answered for the give-up budget
        (bounded by the chat's connectionTimeout), 503 recovered; None on 204 or when `deadline` passed.

        The state file gone, or marked ended by another process, is EndedElsewhere."""
        fresh = self.fresh_state()
        if fresh.affinity != self.state.affinity:
            self.adopt(fresh)
        if not self.wait_out_held_poll(fresh, deadline):
            return None
        budget = self.give_up
        if self.state.connection_timeout_ms:
            budget = min(budget, self.state.connection_timeout_ms / 1000)
        silence = Deadline(budget).earliest(deadline)
        retries = Retries(silence, self.ctx.out.note)
        while True:
            hold = silence.cap(self.state.client_poll_timeout + POLL_MARGIN)
            try:
                batch = self.messages(hold)
                if batch is None:  # a 204: nothing to deliver, so the poll's record is cleared here
                    self.update(lambda s: setattr(s, "poll_held_until", None))
                return batch
            except NetworkError as exc:
                if deadline.expired():
                    return None
                try:
                    retries.after(exc)
                except NetworkError as final:
                    if silence is deadline and final.failure not in DEFINITE:
                        return None  # the caller's own deadline came first: it ends the wait, not the silence
                    raise
            except PodMovedError:
                self.follow_move(Deadline(self.give_up))
                silence = Deadline(budget).earliest(deadline)
                retries = Retries(silence, self.ctx.out.note)
            except (SessionGoneError, DuplicatePollError) as exc:
                self.settle_gone(exc)
                raise

    def settle_gone(self, exc: SessionGoneError | DuplicatePollError) -> None:
        """A poll the pod refused (403, 409): if another step ended the chat (`end`, `session --replace`), that
        is EndedElsewhere; else the chat is marked ended here. An `end` marks the state while it holds the send
        lock, so the lock is waited for first (a 403 can come before the ChatEnd's own answer)."""
        try:
            with self.store.lock("send", within=self.give_up):
                self.fresh_state()
        except WaitTimeoutError:
            pass  # a stopped sender: the 403 is all we know
        self.mark_ended(exc.reason)

    def fresh_state(self) -> SessionState:
        """The stored state for a poller: the same session, not ended by another process."""
        if not self.store.exists():
            raise self.ended_elsewhere()
        fresh = self.store.load()  # pick up a reconnect another process made
        self.check_same_session(fresh)
        if fresh.chat == ChatPhase.ENDED and self.state.chat != ChatPhase.ENDED:
            raise self.ended_elsewhere(fresh.ended_reason)
        return fresh

    def ended_elsewhere(self, why: str = "") -> EndedElsewhere:
        return EndedElsewhere(
            f"the chat on session {self.store.name!r} was ended by another process" + (f" ({why})" if why else ""),
            reason=why or "ended by another process",
        )

    def check_same_session(self, fresh: SessionState) -> None:
        """A step must never carry on into a session that replaced the one it started with."""
        if fresh.id != self.state.id:
            raise SessionGoneError(
                f"session {self.store.name!r} was replaced by another process while this one used it",
                hint="poll the new session with a new `liveagent poll`",
            )

    def mark_ended(self, why: str) -> None:
        """Record that the chat is over, unless the session is gone or was replaced meanwhile."""
        with self.store.lock():
            if not self.store.exists():
                return
            state = self.store.load()
            if state.id == self.state.id:
                state.chat, state.ended_reason = ChatPhase.ENDED, why
                self.store.save(state)
