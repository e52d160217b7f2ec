"""The long-poll loop (liveagent-api.md §6): one poller per session, ack stored only after printing.

A batch is printed (and flushed) before its `sequence` is written back as the next `ack`; if the process
dies in between, the pod re-delivers the batch, so a message may be shown twice but is never lost.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from liveagent_cli.core.errors import NetworkError, NoAgentError, SessionGoneError, WaitTimeoutError
from liveagent_cli.core.state import SessionState
from liveagent_cli.flows.context import Context
from liveagent_cli.flows.steps import live_state

if TYPE_CHECKING:
    from liveagent_cli.core.client import Batch, LiveAgentClient

END_TYPES = frozenset({"ChatEnded", "ChatRequestFail"})
POLL_MARGIN = 5.0  # seconds beyond clientPollTimeout before a held poll counts as lost
MAX_POLL_FAILURES = 4
LOCK_RETRY = 0.05


@dataclass
class PollResult:
    """What a poll run saw: the message types in order and how the chat stands."""

    types: list[str] = field(default_factory=list)
    ended: str | None = None  # "ChatEnded" or "ChatRequestFail"
    end_reason: str = ""


def apply_batch(state: SessionState, batch: Batch) -> None:
    """Fold one delivered batch into the state: ack, offset, and where the chat stands."""
    state.ack = batch.sequence
    if batch.offset is not None:
        state.offset = batch.offset
    for item in batch.messages:
        kind, msg = item.get("type"), item.get("message") or {}
        if kind in ("ChatRequestSuccess", "QueueUpdate") and state.chat in ("session", "requested"):
            state.chat = "queued"
            if isinstance(msg.get("connectionTimeout"), int):
                state.connection_timeout_ms = msg["connectionTimeout"]
        elif kind in ("ChatEstablished", "ChatTransferred"):
            state.chat = "established"
            state.agent_name = str(msg.get("name") or state.agent_name)
        elif kind in END_TYPES:
            state.chat = "ended"
            state.ended_reason = f"{kind}: {msg.get('reason') or 'unknown'}"


class Poller:
    """Polls one stored session; `run` drives the loop, `on_message` sees each item after it is printed."""

    def __init__(self, ctx: Context, on_message: Callable[[dict[str, Any], SessionState], None]) -> None:
        self.ctx = ctx
        self.on_message = on_message
        self.state = live_state(ctx)
        self.client: LiveAgentClient = ctx.client(self.state.pod, self.state.api_version, self.state)

    def poll_once(self, deadline: float | None) -> Batch | None:
        """One long poll, retried on transport failures; None on 204."""
        failures = 0
        while True:
            hold = self.state.client_poll_timeout + POLL_MARGIN
            if deadline is not None:
                hold = max(0.1, min(hold, deadline - time.monotonic()))
            try:
                return self.client.messages(self.state.ack, timeout=hold)
            except NetworkError:
                failures += 1
                if deadline is not None and time.monotonic() >= deadline:
                    return None
                if failures >= MAX_POLL_FAILURES:
                    raise
                time.sleep(min(2.0 ** (failures - 1), 8.0))

    def deliver(self, batch: Batch, result: PollResult) -> None:
        """Print every item, then store the new ack (under the state lock, merged with other writers)."""
        for item in batch.messages:
            self.on_message(item, self.state)
            result.types.append(item["type"])
            if item["type"] in END_TYPES:
                result.ended = item["type"]
                msg = item.get("message") or {}
                result.end_reason = str(msg.get("reason") or "unknown")
        self.state = self.ctx.store.update(lambda s: apply_batch(s, batch))
        self.client.key, self.client.affinity = self.state.key, self.state.affinity


def run_poll(
    ctx: Context,
    on_message: Callable[[dict[str, Any], SessionState], None],
    *,
    follow: bool = False,
    until: Iterable[str] = (),
    timeout: float | None = None,
) -> PollResult:
    """One poll, or a loop until the chat ends (`follow`) or one of `until` arrives; `timeout` bounds it."""
    wanted = set(until)
    deadline = time.monotonic() + timeout if timeout is not None else None
    result = PollResult()
    with _poll_lock(ctx, deadline):
        poller = Poller(ctx, on_message)
        while True:
            batch = poller.poll_once(deadline)
            if batch is not None:
                poller.deliver(batch, result)
                if wanted & set(result.types):
                    return result
                if result.ended:
                    _raise_for_end(result, wanted, follow)
                    return result
            if not (follow or wanted):
                return result
            if deadline is not None and time.monotonic() >= deadline:
                what = " or ".join(sorted(wanted)) if wanted else "the chat to end"
                raise WaitTimeoutError(f"timed out after {timeout:g} s waiting for {what}")


def _raise_for_end(result: PollResult, wanted: set[str], follow: bool) -> None:
    if result.ended == "ChatRequestFail":
        raise NoAgentError(f"no agent took the chat ({result.end_reason})", hint="try again later, or another button")
    if wanted:
        raise SessionGoneError(
            f"the chat ended ({result.end_reason}) before {' or '.join(sorted(wanted))} arrived",
            hint="start a new chat with `liveagent session`",
        )


class _poll_lock:
    """Only one long poll per session: a second poller waits for the first (bounded by the deadline)."""

    def __init__(self, ctx: Context, deadline: float | None) -> None:
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
                self.ctx.out.note("another process is polling this session; waiting for it to finish")
                announced = True
            if self.deadline is not None and time.monotonic() >= self.deadline:
                raise WaitTimeoutError(
                    "timed out waiting for another process's poll of this session to finish",
                    hint="only one long poll may run per session (a second one makes the pod end the chat)",
                )
            time.sleep(LOCK_RETRY)

    def __exit__(self, *exc: object) -> None:
        if self._cm is not None:
            self._cm.__exit__(None, None, None)
