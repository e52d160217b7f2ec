"""`chat`: session, init and a live conversation in one process.

A background thread runs the poll loop (the only poller of the session) and prints what arrives; the main
thread reads lines and sends them. From a pipe it waits for the agent to accept, sends each line, waits a
bounded time for the agent's replies, ends the chat and returns; on a terminal it keeps going until `/end`,
end of input or Ctrl-C.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from liveagent_cli.core.errors import LiveAgentError, NoAgentError, SessionGoneError, WaitTimeoutError
from liveagent_cli.core.state import SessionState
from liveagent_cli.flows.context import Context
from liveagent_cli.flows.deadline import Deadline
from liveagent_cli.flows.poll import Poller, PollLock, PollResult
from liveagent_cli.flows.steps import end_chat, init_chat, open_session, send_text


@dataclass
class ChatOptions:
    init: dict[str, Any]
    reply_wait: float = 10.0
    timeout: float | None = None
    interactive: bool = False
    replace: bool = False


class Conversation:
    """Shared between the poll thread and the sender: what arrived, signalled with one condition."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.established = False
        self.agent_messages = 0
        self.ended: PollResult | None = None
        self.error: LiveAgentError | None = None

    def wait_for(self, predicate: Callable[[], bool], deadline: float | None) -> bool:
        with self.cond:
            while not predicate():
                if self.ended or self.error:
                    return predicate()
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self.cond.wait(remaining)
            return True


def _poll_thread(ctx: Context, conv: Conversation, stop: threading.Event) -> None:
    def on_message(item: dict[str, Any], state: SessionState) -> None:
        ctx.out.message(item, agent=state.agent_name or "agent")
        with conv.cond:
            if item["type"] in ("ChatEstablished", "ChatTransferred"):
                conv.established = True
            elif item["type"] == "ChatMessage":
                conv.agent_messages += 1
            conv.cond.notify_all()

    try:
        forever = Deadline(None)
        result = PollResult()
        with PollLock(ctx, forever):  # so a `send` elsewhere never opens a second long poll
            poller = Poller(ctx, on_message)
            while not stop.is_set() and not result.ended:
                batch = poller.poll_once(forever)
                if not stop.is_set():
                    poller.deliver(batch, result)
        with conv.cond:
            conv.ended = result if result.ended else None
            conv.cond.notify_all()
    except LiveAgentError as exc:
        with conv.cond:
            if not stop.is_set():
                conv.error = exc
            conv.cond.notify_all()


def run_chat(ctx: Context, options: ChatOptions, lines: Iterator[str], prompt: Callable[[], None]) -> None:
    """The whole conversation; raises the tool's errors for the CLI to turn into exit codes."""
    open_session(ctx, replace=options.replace)
    init_chat(ctx, options.init)
    conv = Conversation()
    stop = threading.Event()
    thread = threading.Thread(target=_poll_thread, args=(ctx, conv, stop), name="liveagent-poll", daemon=True)
    thread.start()
    ended_by_pod = False
    try:
        deadline = time.monotonic() + options.timeout if options.timeout is not None else None
        ctx.out.note("waiting for an agent…")
        if not conv.wait_for(lambda: conv.established, deadline):
            _raise_if_over(conv)
            raise WaitTimeoutError(f"no agent accepted the chat within {options.timeout:g} s")
        sent, replies_before = 0, conv.agent_messages
        last_sent = time.monotonic()
        for line in _lines_with_prompt(lines, prompt, options.interactive):
            text = line.rstrip("\r\n")
            if options.interactive and text.strip() in ("/end", "/quit", "/exit"):
                break
            if not text.strip():
                continue
            if options.interactive and (conv.ended or conv.error):
                break  # the agent ended it; the poll thread has already said so
            _raise_if_over(conv)
            send_text(ctx, text)
            if not ctx.out.json_mode and not options.interactive:
                ctx.out.text(f"You: {text}", "bold")
            sent += 1
            last_sent = time.monotonic()
        if not options.interactive and sent:
            conv.wait_for(
                lambda: conv.agent_messages - replies_before >= sent,
                last_sent + options.reply_wait,
            )
        ended_by_pod = conv.ended is not None
        _raise_if_over(conv, quiet_end=True)
    finally:
        stop.set()
        if not ended_by_pod and ctx.store.exists():
            try:
                end_chat(ctx, "client")
            except LiveAgentError as exc:
                ctx.out.warn(f"could not end the chat cleanly: {exc.message}")
        elif ctx.store.exists():
            ctx.store.delete()
        thread.join(timeout=0.5)
    ctx.out.note("chat ended")


def _raise_if_over(conv: Conversation, *, quiet_end: bool = False) -> None:
    if conv.error is not None:
        raise conv.error
    if conv.ended is not None:
        if conv.ended.ended == "ChatRequestFail":
            raise NoAgentError(f"no agent took the chat ({conv.ended.end_reason})", hint="try again later")
        if not quiet_end:
            raise SessionGoneError(f"the agent ended the chat ({conv.ended.end_reason})")


def _lines_with_prompt(lines: Iterator[str], prompt: Callable[[], None], interactive: bool) -> Iterator[str]:
    while True:
        if interactive:
            prompt()
        try:
            yield next(lines)
        except StopIteration:
            return
