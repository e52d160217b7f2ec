"""`chat`: session, init and a live conversation in one process.

A background thread is the session's only poller: it prints what arrives and keeps `ChatView` (queue
position, agent, typing, pending menu or file request) up to date. Outgoing actions (messages, typing,
menu choices, uploads) go through a second thread in order, so a slow pod never freezes the prompt. Each
thread has its own connection pool. A line is shown (`You: ...`) and written to the transcript once the pod
took it; what arrives while it is on its way waits for it, so an answer always follows its question.

From a pipe, `run_piped` waits a bounded time for the agent (`PIPED_AGENT_WAIT` unless `--timeout`), sends each
line, waits a bounded time for the replies and ends; on a terminal the CLI layer drives a `ChatSession` with a
line editor.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from liveagent_cli.core.errors import ApiError, LiveAgentError, NoAgentError, SessionGoneError, WaitTimeoutError
from liveagent_cli.core.events import ChatEvent, EventKind
from liveagent_cli.core.messages import interpret
from liveagent_cli.core.state import SessionState
from liveagent_cli.flows.context import Context
from liveagent_cli.flows.deadline import Deadline
from liveagent_cli.flows.menus import choose
from liveagent_cli.flows.poll import Poller, PollLock, PollResult
from liveagent_cli.flows.signals import send_typing
from liveagent_cli.flows.steps import end_chat, init_chat, open_session, send_text
from liveagent_cli.flows.transcript import Transcript
from liveagent_cli.flows.upload import plan_upload, upload

PIPED_AGENT_WAIT = 120.0  # seconds a piped chat waits for an agent unless --timeout says otherwise
HOLD_STEP = 0.05  # how often a held batch looks whether the sender waits for this poller's resync


@dataclass
class ChatOptions:
    init: dict[str, Any]
    reply_wait: float = 10.0
    timeout: float | None = None  # the wait for an agent; None: the mode's default (PIPED_AGENT_WAIT from a pipe)
    replace: bool = False
    transcript: Path | None = None


@dataclass
class ChatView:
    """What a person needs to see besides the messages; the last event wins (typing may arrive out of order)."""

    queue_position: int | None = None
    estimated_wait: float | None = None
    agent: str = ""
    established: bool = False
    agent_typing: bool = False
    menu: list[str] = field(default_factory=list)
    file_requested: bool = False
    agent_messages: int = 0
    ended: PollResult | None = None
    error: BaseException | None = None  # a failure of the poll or send thread, re-raised by the main thread

    def apply(self, event: ChatEvent) -> None:
        """Fold one event into the view."""
        kind = event.kind
        if kind in (EventKind.REQUESTED, EventKind.QUEUE):
            if event.queue_position is not None:
                self.queue_position = event.queue_position
            self.estimated_wait = event.estimated_wait
        elif kind is EventKind.ESTABLISHED:
            self.established, self.agent = True, event.agent or self.agent or "agent"
            self.agent_typing = False
        elif kind is EventKind.TYPING:
            self.agent_typing = event.typing
        elif kind is EventKind.MESSAGE:
            self.agent_typing = False
            self.agent_messages += 1
        elif kind is EventKind.MENU:
            self.menu = list(event.menu)
        elif kind in (EventKind.FILE_REQUEST, EventKind.FILE_SETTLED):
            self.file_requested = kind is EventKind.FILE_REQUEST


class ChatSession:
    """One chat: the poll thread, the ordered sender, and a condition to wait on what arrives."""

    def __init__(
        self,
        ctx: Context,
        options: ChatOptions,
        on_message: Callable[[dict[str, Any]], None],
        on_said: Callable[[str], None] | None = None,
    ) -> None:
        self.ctx = ctx
        self.options = options
        self.on_message = on_message
        self.on_said = on_said  # shows a line once the pod took it
        self.view = ChatView()
        self.cond = threading.Condition()
        self.transcript = Transcript(options.transcript) if options.transcript else None
        self._send_ctx = ctx.for_thread()  # the sender thread's own connections
        self._sending = 0  # lines on their way to the pod
        self._stop = threading.Event()
        self._outbox: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._listeners: list[Callable[[], None]] = []
        self._threads: list[threading.Thread] = []
        self._typing_sent = False
        self._opened = False

    # -- lifecycle -----------------------------------------------------------------------------------------
    def start(self) -> None:
        self.ctx.settings.ids()  # checked before a session exists to be left behind
        open_session(self.ctx, replace=self.options.replace)
        self._opened = True
        init_chat(self.ctx, self.options.init)
        for target, name in ((self._poll_loop, "liveagent-poll"), (self._send_loop, "liveagent-send")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def close(self, reason: str = "client") -> None:
        """End the chat on the pod (unless the agent already did) and forget the session."""
        self._outbox.put(None)
        for thread in self._threads[1:]:
            thread.join(timeout=5)
        self._stop.set()
        self._send_ctx.close()
        if not self._opened:
            if self.transcript:
                self.transcript.close()
            return
        try:
            if self.view.ended is None and self.ctx.store.exists():
                end_chat(self.ctx, reason)
            elif self.ctx.store.exists():
                self.ctx.store.delete()
        except LiveAgentError as exc:
            self.ctx.out.warn(f"could not end the chat cleanly: {exc.message}")
        if self.transcript:
            if self.transcript.started:  # a chat that never got going leaves an old transcript as it was
                self.transcript.system("chat ended")
            self.transcript.close()
        if self._threads:
            self._threads[0].join(timeout=0.5)

    def add_listener(self, listener: Callable[[], None]) -> None:
        """Called (from the poll thread) whenever the view changes, e.g. to redraw a toolbar."""
        self._listeners.append(listener)

    def wait_for(self, predicate: Callable[[], bool], deadline: float | None) -> bool:
        with self.cond:
            while not predicate():
                if self.view.ended or self.view.error:
                    return predicate()
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self.cond.wait(remaining)
            return True

    def raise_if_over(self, *, quiet_end: bool = False) -> None:
        if self.view.error is not None:
            raise self.view.error
        if self.view.ended is not None:
            if self.view.ended.ended is EventKind.FAILED:
                raise NoAgentError(f"no agent took the chat ({self.view.ended.end_reason})", hint="try again later")
            if not quiet_end:
                raise SessionGoneError(f"the agent ended the chat ({self.view.ended.end_reason})")

    # -- outgoing ------------------------------------------------------------------------------------------
    def send_now(self, text: str, ctx: Context | None = None) -> None:
        """Send on the caller's thread (pipe mode; the sender thread), raising the tool's errors. The line is shown
        and recorded only once the pod took it; the poll thread holds what arrives meanwhile."""
        with self.cond:
            self._sending += 1
        if self.transcript:
            self.transcript.hold()
        said: str | None = None
        refused = ""
        try:
            send_text(ctx or self.ctx, text)
            said = text
            if self.on_said:
                self.on_said(text)
        except LiveAgentError as exc:
            refused = exc.message
            raise self._in_chat(exc) from None
        finally:
            if self.transcript:
                self.transcript.release(said, refused)
            with self.cond:
                self._sending -= 1
                self.cond.notify_all()
        self._typing_sent = False  # the pod clears the indicator when the message lands

    def _in_chat(self, exc: LiveAgentError) -> LiveAgentError:
        """The error with a hint for someone inside this chat (the client's hint is for the one-step commands)."""
        if isinstance(exc, ApiError) and exc.status == 500 and self.view.established:
            exc.hint = "the pod could not take that message (it was not sent); send it again"
        return exc

    def send(self, text: str) -> None:
        """Queue a message for the sender thread, so the prompt never waits on the pod."""
        self._outbox.put(lambda: self.send_now(text, self._send_ctx))

    def send_typing(self, on: bool) -> None:
        """Tell the agent the visitor is typing (or stopped), once per change and only to an agent."""
        if on == self._typing_sent or not self.view.established:
            return
        self._typing_sent = on

        def act() -> None:
            send_typing(self._send_ctx, on)

        self._outbox.put(act)

    def choose(self, number: int) -> None:
        def act() -> None:
            _, text = choose(self._send_ctx, number)
            with self.cond:
                self.view.menu = []
            if self.transcript:
                self.transcript.visitor(f"(chose {number}: {text})")
            self.ctx.out.note(f"you chose {number}: {text}")

        self._outbox.put(act)

    def upload(self, path: Path) -> None:
        plan = plan_upload(path)  # checked at once, so the person hears about a bad file right away

        def act() -> None:
            upload(self._send_ctx, plan)
            with self.cond:
                self.view.file_requested = False
            self.ctx.out.note(f"uploaded {plan.path.name}")

        self._outbox.put(act)

    def _send_loop(self) -> None:
        while (act := self._outbox.get()) is not None:
            try:
                act()
            except LiveAgentError as exc:
                self.ctx.out.error(exc.message, exc.hint)
                if isinstance(exc, SessionGoneError):
                    self._fail(exc)
            except Exception as exc:  # noqa: BLE001 - handed to the main thread, which reports it
                self._fail(exc)

    def _fail(self, exc: BaseException) -> None:
        """A background thread's failure ends the conversation; the main thread re-raises it."""
        with self.cond:
            if self.view.error is None and not self._stop.is_set():
                self.view.error = exc
            self.cond.notify_all()
        self._changed()

    # -- incoming ------------------------------------------------------------------------------------------
    def _poll_loop(self) -> None:
        ctx = self.ctx.for_thread()  # its own connections: the long poll runs beside sends and the end
        try:
            forever = Deadline(None)
            result = PollResult()
            with PollLock(ctx, forever):  # so a `send` elsewhere never opens a second long poll
                poller = Poller(ctx, self._arrived)
                while not self._stop.is_set() and not result.ended:
                    batch = poller.poll_once(forever)
                    if batch is not None:
                        self._await_sends(ctx)
                    if not self._stop.is_set():
                        poller.deliver(batch, result)
            with self.cond:
                self.view.ended = result if result.ended else None
                self.cond.notify_all()
        except Exception as exc:  # noqa: BLE001 - handed to the main thread, which reports it
            self._fail(exc)
            return
        finally:
            ctx.close()
        self._changed()

    def _await_sends(self, ctx: Context) -> None:
        """Hold a batch while a line is on its way, so the question prints before its answer. Nothing is lost:
        the batch is printed (then acked) when the send ends. A sender that waits for this poller to resync
        after the pod moved the session is not waited for."""
        with self.cond:
            while self._sending and not self._stop.is_set():
                if ctx.store.load().resync_pending:
                    return
                self.cond.wait(HOLD_STEP)

    def _arrived(self, item: dict[str, Any], state: SessionState) -> None:
        self.on_message(item)  # printed before anyone waiting on the view wakes, so output keeps its order
        with self.cond:
            self.view.apply(interpret(item))
            self.cond.notify_all()
        if self.transcript:
            self.transcript.pod(item, agent=self.view.agent or "agent")
        self._changed()

    def _changed(self) -> None:
        for listener in self._listeners:
            listener()


def no_agent_in_time(seconds: float) -> WaitTimeoutError:
    return WaitTimeoutError(
        f"no agent accepted the chat within {seconds:g} s; it was ended on the pod",
        hint="wait longer with --timeout SECONDS, or see whether agents are online with `liveagent availability`",
    )


def run_piped(ctx: Context, options: ChatOptions, lines: Iterator[str]) -> None:
    """From a pipe: wait for the agent (bounded), send each line, wait for the replies (bounded), end the chat."""

    def said(text: str) -> None:
        if not ctx.out.json_mode:
            ctx.out.text(f"You: {text}", "bold")

    chat = ChatSession(ctx, options, lambda item: ctx.out.message(item, agent=chat.view.agent or "agent"), said)
    wait = PIPED_AGENT_WAIT if options.timeout is None else options.timeout
    try:
        chat.start()
        ctx.out.note("waiting for an agent…")
        if not chat.wait_for(lambda: chat.view.established, time.monotonic() + wait):
            chat.raise_if_over()
            raise no_agent_in_time(wait)
        sent, replies_before, last_sent = 0, chat.view.agent_messages, time.monotonic()
        for line in lines:
            text = line.rstrip("\r\n")
            if not text.strip():
                continue
            chat.raise_if_over()
            chat.send_now(text)
            sent += 1
            last_sent = time.monotonic()
        if sent:
            chat.wait_for(lambda: chat.view.agent_messages - replies_before >= sent, last_sent + options.reply_wait)
        chat.raise_if_over(quiet_end=True)
    finally:
        chat.close()
    ctx.out.note("chat ended")
