"""One session as seen by one process: the state file, a client, and the protocol's recovery rules.

Rules (liveagent-api.md §6), and who does what when several processes share a session:
- Every Chasitor POST takes its X-LIVEAGENT-SEQUENCE under the state lock, records it first, and is sent
  while the lock is held, so numbers reach the pod in order whatever the number of `send` processes.
- A POST whose answer was lost is retried with the *same* number: the pod drops a repeat, so it never acts
  twice. A 409 `Out of sync Ack. Expected N. Actual M` is settled by the numbers: M >= N means the pod
  already has it (it counts as sent); M < N means continue from M + 1 and retry once.
- A 503 means the pod moved the session. Whoever meets it first runs ReconnectSession under the state lock
  and stores the new affinity and sequence; anyone else who meets a 503 afterwards sees the stored affinity
  differ from the one it used and simply adopts it, so one move costs one ReconnectSession.
- After a reconnect the pod's next poll answer starts with ChasitorSessionData, and nothing else should be
  sent before it is processed and ChasitorResyncState posted. The session's poller does that; a `send` that
  finds a resync pending waits for the poller, or, when no process is polling, polls once itself without
  storing the ack (so the batch is delivered again to the next `poll` and nothing is lost).
- A ChatMessage whose answer was lost and whose retry then met a 503 may or may not have landed before the
  move. The visitor entries of the pod's ChasitorSessionData transcript settle it: more than the messages we
  know were confirmed means it landed (counted as sent), otherwise it is sent again with the new sequence.
- 403 means the chat is over; 409 on a poll means the pod saw two polls and ended the chat. Both mark the
  state ended (exit 6).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from liveagent_cli.core.errors import (
    DuplicatePollError,
    LiveAgentError,
    NetworkError,
    OutOfSyncError,
    PodMovedError,
    SessionGoneError,
)
from liveagent_cli.core.messages import MessageType, count_visitor_entries
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
SENT, MOVED, MOVED_UNSURE = "sent", "moved", "moved-unsure"


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


class Channel:
    """A session's client plus the rules above; `poller=True` for the one process (or thread) that polls."""

    def __init__(self, ctx: Context, *, poller: bool = False) -> None:
        self.ctx = ctx
        self.store = ctx.store
        self.poller = poller
        self.state = live_state(ctx)
        warn_ignored_flags(ctx, self.state)
        self.client = ctx.client(self.state.pod, self.state.api_version, self.state)
        self.give_up = give_up_seconds(ctx.environ)
        self.polled_with = ""  # the affinity the last poll was sent with

    def adopt(self, state: SessionState) -> None:
        self.state = state
        self.client.key, self.client.affinity = state.key, state.affinity
        self.ctx.out.redactor.add(state.key)

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

        `in_transcript`: the POST is a ChatMessage, which the pod's transcript shows after a move.
        """
        deadline = Deadline(self.give_up)
        confirmed_before: int | None = None  # set when a lost answer was followed by a move
        for _ in range(MAX_RECONNECTS_PER_STEP):
            with self.store.lock():
                state = live_state(self.ctx)
                if not (state.resync_pending and not self.poller):
                    landed = confirmed_before is not None and state.pod_chasitor_count > confirmed_before
                    outcome = SENT if landed else None
                    if outcome is None:
                        if prepare:
                            prepare(state)
                        outcome = self._post_locked(state, send, deadline)
                    if outcome == SENT:
                        if done:
                            done(state)
                            self.store.save(state)
                        return state
                    if outcome == MOVED_UNSURE and in_transcript:
                        confirmed_before = state.messages_sent
            self.await_resync(deadline)
        raise NetworkError("the pod kept moving the session; giving up", hint="try again later")

    def _post_locked(self, state: SessionState, send: Send, deadline: Deadline) -> str:
        """SENT once the pod has the POST; MOVED when a 503 moved the session and a resync must come first;
        MOVED_UNSURE when, before the move, an answer was lost (the pod may have the POST already)."""
        state.sequence += 1
        self.store.save(state)
        self.adopt(state)
        retries, resynced_409, answer_lost = Retries(deadline, self.ctx.out.note), False, False
        while True:
            try:
                send(self.client, state.sequence, deadline.cap(POST_TIMEOUT))
                return SENT
            except NetworkError as exc:
                answer_lost = True
                retries.after(exc)
            except OutOfSyncError as exc:
                if exc.actual >= exc.sent:
                    # the pod already has this one (its first answer was lost): carry on from where it is
                    state.sequence = max(state.sequence, exc.actual)
                    self.store.save(state)
                    return SENT
                if resynced_409:
                    raise
                resynced_409 = True
                state.sequence = exc.actual + 1
                self.store.save(state)
            except PodMovedError:
                self.reconnect_locked(state, deadline)
                if self.poller:
                    # the poller itself resyncs on its next poll; its POSTs may follow at once
                    state.sequence += 1
                    self.store.save(state)
                    self.adopt(state)
                    continue
                return MOVED_UNSURE if answer_lost else MOVED
            except SessionGoneError as exc:
                self.mark_ended(state, exc.reason)
                raise

    # -- reconnect and resync -------------------------------------------------------------------------------
    def reconnect_locked(self, state: SessionState, deadline: Deadline, *, force: bool = False) -> None:
        """Run ReconnectSession unless another process already did (the stored affinity moved on)."""
        used = self.client.affinity
        if state.affinity != used and not force:
            self.adopt(state)
            return
        token, reset = retrying(
            lambda timeout: self.client.reconnect_session(state.offset, timeout=timeout),
            deadline,
            self.ctx.out.note,
            retry_on=(NetworkError, PodMovedError),
        )
        state.affinity = token
        if reset:
            state.sequence = 0
        state.resync_pending = True
        state.pod_chasitor_count = -1
        state.reconnects += 1
        self.store.save(state)
        self.adopt(state)
        self.ctx.out.note("the pod moved the session to another server; reconnected")

    def resync_locked(self, state: SessionState) -> None:
        """Post ChasitorResyncState once ChasitorSessionData was taken; clears the pending flag either way."""
        if not state.resync_pending:
            return
        self.adopt(state)
        try:
            retrying(
                lambda timeout: self.client.chasitor_resync_state(state.org_id, timeout=timeout),
                Deadline(self.give_up),
                self.ctx.out.note,
            )
        except LiveAgentError as exc:
            self.ctx.out.warn(f"ChasitorResyncState failed ({exc.message}); carrying on")
        state.resync_pending = False
        self.store.save(state)

    def await_resync(self, deadline: Deadline) -> None:
        """Wait for the session's poller to resync, or resync by polling once ourselves if nobody polls."""
        while not deadline.expired():
            with self.store.lock("poll", blocking=False) as got:
                if got:
                    self._resync_by_peeking(deadline)
                    return
            if not self.store.load().resync_pending:
                return
            time.sleep(RESYNC_WAIT_STEP)
        self.ctx.out.warn("no poller took ChasitorSessionData in time; sending anyway")
        self.store.update(lambda s: setattr(s, "resync_pending", False))

    def _resync_by_peeking(self, deadline: Deadline) -> None:
        """Poll once without storing the ack, so the next `poll` still sees everything, then resync.

        A peek that gets no answer is retried like any request; when the step's budget runs out its error is
        the step's, so the cause is named (not taken for one more move of the session).
        """
        state = self.store.load()
        if not state.resync_pending:
            return
        self.adopt(state)
        retries = Retries(deadline, self.ctx.out.note)
        while True:
            try:
                batch = self.client.messages(state.ack, timeout=deadline.cap(state.client_poll_timeout + POLL_MARGIN))
                break
            except PodMovedError:
                with self.store.lock():
                    self.reconnect_locked(self.store.load(), deadline)
                return
            except NetworkError as exc:
                retries.after(exc)
        with self.store.lock():
            state = self.store.load()
            for item in batch.messages if batch is not None else []:
                if item.get("type") == MessageType.SESSION_DATA:
                    state.pod_chasitor_count = count_visitor_entries(item.get("message"))
            self.resync_locked(state)

    # -- polls ---------------------------------------------------------------------------------------------
    def poll_once(self, deadline: Deadline) -> Batch | None:
        """One long poll: transport failures retried until nothing has answered for the give-up budget
        (bounded by the chat's connectionTimeout), 503 recovered; None on 204 or when `deadline` passed."""
        fresh = self.store.load()  # pick up a reconnect another process made
        self.check_same_session(fresh)
        if fresh.affinity != self.state.affinity:
            self.adopt(fresh)
        budget = self.give_up
        if self.state.connection_timeout_ms:
            budget = min(budget, self.state.connection_timeout_ms / 1000)
        silence = Deadline(budget).earliest(deadline)
        retries = Retries(silence, self.ctx.out.note)
        while True:
            hold = silence.cap(self.state.client_poll_timeout + POLL_MARGIN)
            try:
                self.polled_with = self.client.affinity or ""
                return self.client.messages(self.state.ack, timeout=hold)
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
                with self.store.lock():
                    self.reconnect_locked(self.store.load(), Deadline(self.give_up))
                silence = Deadline(budget).earliest(deadline)
                retries = Retries(silence, self.ctx.out.note)
            except (SessionGoneError, DuplicatePollError) as exc:
                with self.store.lock():
                    if self.store.exists():
                        self.mark_ended(self.store.load(), exc.reason)
                raise

    def check_same_session(self, fresh: SessionState) -> None:
        """A poller must never carry on into a session that replaced the one it started with."""
        if fresh.id != self.state.id:
            raise SessionGoneError(
                f"session {self.store.name!r} was replaced by another process while this one polled it",
                hint="poll the new session with a new `liveagent poll`",
            )

    def mark_ended(self, state: SessionState, why: str) -> None:
        state.chat, state.ended_reason = ChatPhase.ENDED, why
        self.store.save(state)
