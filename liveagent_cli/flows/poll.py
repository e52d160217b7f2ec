"""The long-poll loop (liveagent-api.md §6): one poller per session, ack stored only after printing.

A batch is printed (and flushed) before its `sequence` is written back as the next `ack`; if the process
dies in between, the pod re-delivers the batch, so a message may be shown twice but is never lost (docs/
client.md says why this cannot be narrowed further). A chat that another process ends (`liveagent end`: the
state file goes away) ends the run as the pod's ChatEnded would: `--follow` exits 0. What each
message means, and what it changes in the state, is core/messages.py's business; this is only the loop.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from liveagent_cli.core.chat_events import EventKind
from liveagent_cli.core.errors import NoAgentError, SessionGoneError, WaitTimeoutError
from liveagent_cli.core.messages import MessageType, apply_batch, interpret
from liveagent_cli.core.state import ChatPhase, SessionState
from liveagent_cli.flows.channel import Channel, EndedElsewhere, live_state
from liveagent_cli.flows.context import Context
from liveagent_cli.flows.deadline import Deadline

if TYPE_CHECKING:
    from liveagent_cli.core.client import Batch

LOCK_RETRY = 0.05


@dataclass
class PollResult:
    """What a poll run saw: the message types that arrived and how the chat stands."""

    types: set[str] = field(default_factory=set)  # a set, so a follower's memory stays flat
    kinds: set[str] = field(default_factory=set)  # the neutral kinds of what arrived: `until` takes either
    ended: EventKind | None = None  # ENDED, or FAILED when no agent took the chat
    end_reason: str = ""
    ended_elsewhere: str = ""  # the words for a chat another process ended (`end`): the state file went away


class Poller:
    """The session's one poller: prints each item through `on_message`, then stores the ack."""

    def __init__(self, ctx: Context, on_message: Callable[[dict[str, Any], SessionState], None]) -> None:
        self.ctx = ctx
        self.on_message = on_message
        # a chat that ended may still hold messages a `send` received for us (`undelivered`): shown first
        self.channel = Channel(ctx, ended_ok=bool(ctx.store.load().undelivered))

    def poll_once(self, deadline: Deadline) -> Batch | None:
        return self.channel.poll_once(deadline)

    def show(self, items: list[dict[str, Any]], result: PollResult) -> None:
        """Print each item and note what it means for the run."""
        for item in items:
            self.on_message(item, self.channel.state)
            result.types.add(item["type"])
            event = interpret(item)
            result.kinds.add(event.kind)
            if event.kind in (EventKind.ENDED, EventKind.FAILED):
                result.ended, result.end_reason = event.kind, event.reason

    def show_undelivered(self, result: PollResult) -> bool:
        """Print what a `send`'s resync poll received and kept in the state, then forget it; False if none.

        That poll already stored the ack, so the pod will not send these again: this is their only showing.
        """
        kept = list(self.channel.state.undelivered)
        if not kept:
            return False
        self.show([json.loads(raw) for raw in kept], result)

        def shown(state: SessionState) -> None:
            del state.undelivered[: len(kept)]

        state = self.channel.update(shown)
        if result.ended is None and state.chat == ChatPhase.ENDED:
            live_state(self.ctx)  # ended for another reason (say a 403): said as any poll of an ended chat says it
        return True

    def deliver(self, batch: Batch | None, result: PollResult) -> None:
        """Print every item, then store the new ack; after a reconnect, post ChasitorResyncState."""
        if batch is not None:
            self.show(batch.messages, result)
        resync = False
        with self.ctx.store.lock():
            if not self.ctx.store.exists():
                raise self.channel.ended_elsewhere()
            state = self.ctx.store.load()
            self.channel.check_same_session(state)
            ended_before = state.chat == ChatPhase.ENDED and self.channel.state.chat != ChatPhase.ENDED
            if batch is not None:
                apply_batch(state, batch)
                state.poll_held_until = None  # answered: no poll of ours is held any more
                self.ctx.store.save(state)
            self.channel.adopt(state)
            if state.resync_pending and state.chat != ChatPhase.ENDED and batch is not None:
                # ChasitorSessionData comes first after ReconnectSession; a pod that sends none is resynced
                # on the first batch fetched with the new affinity
                has_data = any(item.get("type") == MessageType.SESSION_DATA for item in batch.messages)
                resync = has_data or self.channel.polled_with == state.affinity
        if ended_before and result.ended is None:
            raise self.channel.ended_elsewhere(state.ended_reason)
        if resync:
            self.channel.resync()  # outside the state lock: it is a request

    def poll_and_deliver(self, deadline: Deadline, result: PollResult) -> None:
        """One poll, shown and acked; another process ending the chat meanwhile ends the run as the pod would."""
        try:
            batch = self.poll_once(deadline)
            if batch is not None or not deadline.expired():
                self.deliver(batch, result)
        except EndedElsewhere as exc:
            result.ended, result.end_reason, result.ended_elsewhere = EventKind.ENDED, exc.reason, exc.message


def run_poll(
    ctx: Context,
    on_message: Callable[[dict[str, Any], SessionState], None],
    *,
    follow: bool = False,
    until: Iterable[str] = (),
    timeout: float | None = None,
    stop: Callable[[], bool] | None = None,
) -> PollResult:
    """One poll, or a loop until the chat ends (`follow`) or one of `until` (message types or event kinds)
    arrives; `timeout` bounds it. What a `send` kept for this poll (see channel.py) counts as the first poll.
    `stop` (chat's poll thread) is asked before each poll: once it says so, the run returns, saying nothing."""
    wanted = set(until)
    deadline = Deadline(timeout)
    result = PollResult()
    stopped = stop or (lambda: False)
    with PollLock(ctx, deadline):
        poller = Poller(ctx, on_message)
        kept = poller.show_undelivered(result)
        while True:
            if stopped():
                return result
            if not kept:
                poller.poll_and_deliver(deadline, result)
            kept = False
            if wanted & (result.types | result.kinds):
                return result
            if result.ended:
                _raise_for_end(result, wanted)
                if result.ended_elsewhere and not stopped():
                    ctx.out.note(result.ended_elsewhere)
                return result
            if not (follow or wanted):
                return result
            if deadline.expired():
                what = " or ".join(sorted(wanted)) if wanted else "the chat to end"
                raise WaitTimeoutError(f"timed out after {timeout:g} s waiting for {what}")


def _raise_for_end(result: PollResult, wanted: set[str]) -> None:
    if result.ended is EventKind.FAILED:
        raise NoAgentError(f"no agent took the chat ({result.end_reason})", hint="try again later, or another button")
    if wanted:
        raise SessionGoneError(
            f"the chat ended ({result.end_reason}) before {' or '.join(sorted(wanted))} arrived",
            hint="start a new chat with `liveagent session`",
        )


class PollLock:
    """Only one long poll per session: a second poller waits for the first (bounded by the deadline)."""

    def __init__(self, ctx: Context, deadline: Deadline) -> None:
        self.ctx, self.deadline = ctx, deadline
        self._cm: Any = None

    def __enter__(self) -> None:
        announced = False
        while True:
            cm = self.ctx.store.lock("poll", blocking=False)
            if cm.__enter__():
                self._cm = cm
                return
            cm.__exit__(None, None, None)
            if not announced:
                self.ctx.out.note(
                    f"another process is polling this session ({self.ctx.store.holder('poll')}); "
                    "waiting for it to finish"
                )
                announced = True
            if self.deadline.expired():
                raise WaitTimeoutError(
                    "timed out waiting for another process's poll of this session to finish",
                    hint="only one long poll may run per session (a second one makes the pod end the chat)",
                )
            time.sleep(LOCK_RETRY)

    def __exit__(self, *exc: object) -> None:
        if self._cm is not None:
            self._cm.__exit__(None, None, None)
