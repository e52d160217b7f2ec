"""`chat`: session, init and a live conversation in one process, on either API.

`ChatSession` drives the verbs of the session's API (`ChatApi`, flows/verbs.py): `open_session`, `init`, then a
background thread that is the session's only poller (`poll --follow`, asked to stop when the chat closes)
prints what arrives and keeps `ChatView` (queue position, agent, typing, pending menu or file request) up to
date. Outgoing actions (messages, typing, menu choices, uploads) go through a second thread in order, so a slow
server never freezes the prompt. Each thread has its own connection pool. A line is shown (`You: ...`) and
written to the transcript once the server took it; what arrives while it is on its way waits for it, so an
answer always follows its question. Closing ends the chat with the API's `end` (Enhanced Chat: the
conversation is closed).

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

from liveagent_cli.core.chat_events import ChatEvent, EventKind
from liveagent_cli.core.errors import ApiError, LiveAgentError, NoAgentError, SessionGoneError, WaitTimeoutError
from liveagent_cli.core.output import Output
from liveagent_cli.core.render import describe_event
from liveagent_cli.flows.api_choice import LIVEAGENT, MIAW, IdentityToken, InitOptions, Shown, pick
from liveagent_cli.flows.context import Context
from liveagent_cli.flows.transcript import Transcript
from liveagent_cli.flows.upload import plan_upload

PIPED_AGENT_WAIT = 120.0  # seconds a piped chat waits for an agent unless --timeout says otherwise
HOLD_STEP = 0.05  # how often a held event looks whether the sender waits for this poller (a resync)
# how each API names the other end, and the visitor's message in a transcript
SERVER_WORD = {LIVEAGENT: "the pod", MIAW: "the server"}
MESSAGE_TYPE = {LIVEAGENT: "ChatMessage", MIAW: "CONVERSATION_MESSAGE"}


@dataclass
class ChatOptions:
    init: InitOptions  # as `init` takes them, for the session's API (cli/init_options.py resolve_for)
    reply_wait: float = 10.0
    timeout: float | None = None  # the wait for an agent; None: the mode's default (PIPED_AGENT_WAIT from a pipe)
    replace: bool = False
    transcript: Path | None = None
    identity: IdentityToken | None = None  # Enhanced Chat's verified user


@dataclass(frozen=True)
class ChatOver:
    """How the chat ended on the server's side: ENDED, or FAILED when no agent took it."""

    kind: EventKind
    reason: str


class _Stopped(Exception):
    """Raised inside the poll thread's callback once the chat closes: nothing more is shown."""


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
    ended: ChatOver | None = None  # set once the poll thread saw the chat end (and stored it)
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
    """One chat over the session's API: the poll thread, the ordered sender, and a condition to wait on what
    arrives."""

    def __init__(
        self,
        ctx: Context,
        options: ChatOptions,
        on_shown: Callable[[Shown], None],
        on_said: Callable[[str], None] | None = None,
    ) -> None:
        self.ctx = ctx
        self.options = options
        self.api = pick(ctx, opening=True)  # a chat opens its own session
        self.on_shown = on_shown
        self.on_said = on_said  # shows a line once the server took it
        self.view = ChatView()
        self.cond = threading.Condition()
        self.transcript = Transcript(options.transcript, MESSAGE_TYPE[self.api.name]) if options.transcript else None
        self._send_ctx = ctx.for_thread()  # the sender thread's own connections
        self._asked = 0  # lines handed to the server so far
        self._answered = 0  # of those, the ones it took or refused
        self._ending: ChatOver | None = None  # the end the poll thread printed, until it stored it and returned
        self._stop = threading.Event()
        self._outbox: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._listeners: list[Callable[[], None]] = []
        self._threads: list[threading.Thread] = []
        self._typing_sent = False
        self._opened = False

    # -- lifecycle -----------------------------------------------------------------------------------------
    def start(self) -> None:
        self.api.check_settings(self.ctx)  # checked before a session exists to be left behind
        self.api.open_session(self.ctx, replace=self.options.replace, identity=self.options.identity)
        self._opened = True
        self.api.init(self.ctx, self.options.init)
        for target, name in ((self._poll_loop, "liveagent-poll"), (self._send_loop, "liveagent-send")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def close(self, reason: str = "client") -> None:
        """End the chat (Live Agent: ChatEnd unless the agent ended it; Enhanced Chat: close the conversation)
        and forget the session."""
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
            if self.ctx.store.exists():
                self.api.end(self.ctx, reason=reason, local=False, keep_conversation=False)
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
            if self.view.ended.kind is EventKind.FAILED:
                raise NoAgentError(f"no agent took the chat ({self.view.ended.reason})", hint="try again later")
            if not quiet_end:
                raise SessionGoneError(f"the agent ended the chat ({self.view.ended.reason})")

    # -- outgoing ------------------------------------------------------------------------------------------
    def send_now(self, text: str, ctx: Context | None = None) -> None:
        """Send on the caller's thread (pipe mode; the sender thread), raising the tool's errors. The line is shown
        and recorded only once the server took it; the poll thread holds what arrives meanwhile."""
        with self.cond:
            self._asked += 1
        if self.transcript:
            self.transcript.hold()
        said: str | None = None
        refused = ""
        try:
            self.api.send(ctx or self.ctx, text)
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
                self._answered += 1
                self.cond.notify_all()
        self._typing_sent = False  # the server clears the indicator when the message lands

    def _in_chat(self, exc: LiveAgentError) -> LiveAgentError:
        """The error with a hint for someone inside this chat (the client's hint is for the one-step commands)."""
        if isinstance(exc, ApiError) and exc.status == 500 and self.view.established:
            server = SERVER_WORD[self.api.name]
            exc.hint = f"{server} could not take that message (it was not sent); send it again"
        return exc

    def send(self, text: str) -> None:
        """Queue a message for the sender thread, so the prompt never waits on the server."""
        self._outbox.put(lambda: self.send_now(text, self._send_ctx))

    def send_typing(self, on: bool) -> None:
        """Tell the agent the visitor is typing (or stopped), once per change and only to an agent."""
        if on == self._typing_sent or not self.view.established:
            return
        self._typing_sent = on

        def act() -> None:
            self.api.typing(self._send_ctx, on)

        self._outbox.put(act)

    def choose(self, number: int) -> None:
        def act() -> None:
            text = str(self.api.choose(self._send_ctx, number).document.get("text", ""))
            with self.cond:
                self.view.menu = []
            if self.transcript:
                self.transcript.visitor(f"(chose {number}: {text})")
            self.ctx.out.note(f"you chose {number}: {text}")

        self._outbox.put(act)

    def upload(self, path: Path) -> None:
        plan_upload(path)  # checked at once, so the person hears about a bad file right away

        def act() -> None:
            self.api.upload(self._send_ctx, path, any_type=False, on_progress=None)
            with self.cond:
                self.view.file_requested = False
            self.ctx.out.note(f"uploaded {path.name}")

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
        """`poll --follow` until the chat ends or closes; the end it printed is the view's once it is stored."""
        ctx = self.ctx.for_thread()  # its own connections: the poll runs beside sends and the end
        try:
            try:
                self.api.poll(ctx, self._arrived, follow=True, until=(), timeout=None, stop=self._stop.is_set)
            except NoAgentError:
                pass  # the FAILED line was shown: the view says it, and the main thread raises it
            with self.cond:
                if not self._stop.is_set():
                    self.view.ended = self._ending or ChatOver(EventKind.ENDED, "ended by another process")
                self.cond.notify_all()
        except _Stopped:
            return
        except Exception as exc:  # noqa: BLE001 - handed to the main thread, which reports it
            self._fail(exc)
            return
        finally:
            ctx.close()
        self._changed()

    def _await_sends(self, ctx: Context) -> None:
        """Hold what arrives while a line asked before it is on its way, so the question prints before its answer.
        Nothing is lost: it is printed (then acknowledged or its event id stored) when the send ends. A sender
        that waits for this poller (a Live Agent resync after the pod moved the session) is not waited for."""
        with self.cond:
            asked = self._asked
            while self._answered < asked and not self._stop.is_set():
                if self.api.awaits_poller(ctx):
                    return
                self.cond.wait(HOLD_STEP)

    def _arrived(self, shown: Shown) -> None:
        self._await_sends(self.ctx)
        if self._stop.is_set():
            raise _Stopped
        self.on_shown(shown)  # printed before anyone waiting on the view wakes, so output keeps its order
        event = shown.event
        with self.cond:
            self.view.apply(event)
            if event.kind in (EventKind.ENDED, EventKind.FAILED) and self._ending is None:
                self._ending = ChatOver(event.kind, event.reason)
            self.cond.notify_all()
        if self.transcript:
            self.transcript.pod(shown)
        self._changed()

    def _changed(self) -> None:
        for listener in self._listeners:
            listener()


def show_in_chat(out: Output, shown: Shown) -> None:
    """What arrived, on the chat's stdout: under --json every line as `poll --json` prints it; for people what
    the conversation is made of, so not the echo of your own line (it was shown as `You: ...` when the server
    took it) nor events without words of their own (kind `other`: receipts, routing work, your typing echoed)."""
    if out.json_mode:
        out.data(shown.line)
        return
    if shown.event.kind in (EventKind.ECHO, EventKind.RECEIPT, EventKind.OTHER):
        return
    style, line = describe_event(shown.event, shown.agent)
    out.text(line, style)


def no_agent_in_time(seconds: float, api: str = LIVEAGENT) -> WaitTimeoutError:
    return WaitTimeoutError(
        f"no agent accepted the chat within {seconds:g} s; it was ended on {SERVER_WORD[api]}",
        hint="wait longer with --timeout SECONDS, or see whether agents are online with `liveagent availability`",
    )


def run_piped(ctx: Context, options: ChatOptions, lines: Iterator[str]) -> None:
    """From a pipe: wait for the agent (bounded), send each line, wait for the replies (bounded), end the chat."""

    def said(text: str) -> None:
        if not ctx.out.json_mode:
            ctx.out.text(f"You: {text}", "bold")

    chat = ChatSession(ctx, options, lambda shown: show_in_chat(ctx.out, shown), said)
    wait = PIPED_AGENT_WAIT if options.timeout is None else options.timeout
    try:
        chat.start()
        ctx.out.note("waiting for an agent…")
        if not chat.wait_for(lambda: chat.view.established, time.monotonic() + wait):
            chat.raise_if_over()
            raise no_agent_in_time(wait, chat.api.name)
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
