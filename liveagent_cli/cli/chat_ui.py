"""The interactive `chat` on a terminal: a prompt_toolkit line editor over a `ChatSession`.

Everything the chat prints while the prompt runs goes through prompt_toolkit (`AboveThePrompt`, the stream the
Output writes to), so incoming messages appear above the line being typed and never inside it, and the bottom
toolbar, which
carries what changes in place (the queue position with a spinner while waiting, then the agent, "… is typing",
a pending menu or file request), is redrawn where it belongs. The prompt draws on stdout when it is the terminal,
else on stderr or /dev/tty, so `chat | tee log` is still a conversation. prompt_toolkit is imported only here, so
no other command pays for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import io
import itertools
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TextIO, cast

from liveagent_cli.cli.common import Terminated
from liveagent_cli.cli.environment import Environment
from liveagent_cli.core.errors import LiveAgentError, UsageError
from liveagent_cli.core.output import printable
from liveagent_cli.flows.chat import ChatOptions, ChatSession, no_agent_in_time, show_in_chat
from liveagent_cli.flows.context import Context
from liveagent_cli.flows.verbs import Shown

if TYPE_CHECKING:
    from prompt_toolkit import PromptSession

HELP = """\
commands:
  /end            end the chat (also /quit, Ctrl-D, Ctrl-C)
  /upload PATH    send a file (on Live Agent, once the agent asked for one)
  /choose N       answer the agent's menu (a bare number works too)
  /help           this help"""
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
REFRESH = 0.2  # seconds between toolbar redraws (the spinner)


@contextlib.contextmanager
def prompt_terminal(env: Environment) -> Iterator[IO[str]]:
    """Where the line editor draws: stdout when it is the terminal, else stderr, else /dev/tty (`chat > log
    2>&1`, typed at a terminal)."""
    if env.stdout_isatty:
        yield env.stdout
    elif env.stderr_isatty:
        yield env.stderr
    else:
        try:
            tty = open("/dev/tty", "w", encoding="utf-8")  # noqa: SIM115 - closed by the with below
        except OSError:
            raise UsageError(
                "no terminal to show the chat's prompt on", hint="pipe the lines in instead: liveagent chat < FILE"
            ) from None
        with tty:
            yield tty


def run_interactive(ctx: Context, options: ChatOptions, env: Environment, terminal: IO[str]) -> None:
    from prompt_toolkit.application import create_app_session
    from prompt_toolkit.input import create_input
    from prompt_toolkit.output import create_output

    # the Environment's stdin is bytes; prompt_toolkit reads its descriptor and wants a text stream's encoding
    keyboard = open(env.stdin.fileno(), encoding="utf-8", closefd=False)  # noqa: SIM115 - closed below
    with (
        keyboard,
        create_app_session(input=create_input(keyboard), output=create_output(stdout=cast(TextIO, terminal))),
    ):
        ui = InteractiveChat(ctx, options)
        above = cast(IO[str], AboveThePrompt(ui.session))
        with ctx.out.redirected(
            stdout=above if env.stdout_isatty else None, stderr=above if env.stderr_isatty else None
        ):
            ui.run()
    ctx.out.note("chat ended")
    if ui.interrupted:
        raise KeyboardInterrupt


class AboveThePrompt(io.TextIOBase):
    """A text stream for the chat's terminal lines while the line editor runs: each whole line is handed to the
    editor's event loop, which takes the prompt away, writes the line and draws the prompt again below it
    (`run_in_terminal`). Written from any thread; when no prompt runs, lines go straight to the terminal.

    prompt_toolkit's own StdoutProxy cannot serve here: its writer thread looks the running prompt up in a
    context of its own, where the terminal chosen for this chat (stderr or /dev/tty too) is not the one in use.
    """

    def __init__(self, session: PromptSession[str]) -> None:
        super().__init__()
        self.session = session
        self.context = contextvars.copy_context()  # the app session this chat's prompt runs in
        self._partial = ""
        self._lock = threading.Lock()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"

    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> int:
        with self._lock:
            whole, newline, self._partial = (self._partial + text).rpartition("\n")
            if newline:
                self._emit(whole + newline)
        return len(text)

    def flush(self) -> None:
        """Lines are passed on whole; a partial line waits for its end."""

    def _emit(self, text: str) -> None:
        app = self.session.app
        loop = app.loop if app.is_running else None
        if loop is not None:
            try:
                loop.call_soon_threadsafe(self._above, text, context=self.context)
                return
            except RuntimeError:  # the loop closed in between
                pass
        self._write(text)

    def _above(self, text: str) -> None:
        from prompt_toolkit.application import run_in_terminal

        run_in_terminal(lambda: self._write(text), in_executor=False)

    def _write(self, text: str) -> None:
        output = self.session.app.output
        output.enable_autowrap()
        output.write_raw(text)  # raw: Rich's colours pass; the pod's own escapes were made visible already
        output.flush()


class InteractiveChat:
    """One conversation at the prompt: reads lines until /end, Ctrl-D, Ctrl-C, the end of the chat, or
    `--timeout` without an agent (a timer on the event loop)."""

    def __init__(self, ctx: Context, options: ChatOptions) -> None:
        from prompt_toolkit import PromptSession

        self.ctx, self.options = ctx, options
        self.session: PromptSession[str] = PromptSession(erase_when_done=True)  # the line is shown once, as You:
        self.chat = ChatSession(ctx, options, self._show, self._said)
        self.spin = itertools.cycle(SPINNER)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.timed_out = False
        self.interrupted = False
        self.signalled: int | None = None  # SIGTERM or SIGHUP arrived while the prompt ran

    def run(self) -> None:
        self.session.default_buffer.on_text_changed += self._typing_changed
        self.chat.add_listener(self._changed)
        self.ctx.out.note("type a message and press Enter; /help lists commands, /end or Ctrl-D ends the chat")
        try:
            self.chat.start()
            with self._signals_leave_the_prompt():
                asyncio.run(self._converse())
            if self.signalled is not None:
                raise Terminated(self.signalled)
            if self.timed_out:
                raise no_agent_in_time(self.options.timeout or 0, self.chat.api.name)
            self.chat.raise_if_over(quiet_end=True)
        finally:
            self.chat.close()

    @contextlib.contextmanager
    def _signals_leave_the_prompt(self) -> Iterator[None]:
        """While the event loop runs, SIGTERM and SIGHUP end the prompt the way /end does (then `Terminated` is
        raised), rather than raising inside prompt_toolkit; the handlers in place before are put back after."""
        watched = (signal.SIGTERM, signal.SIGHUP)
        before = {sig: signal.getsignal(sig) for sig in watched}
        try:
            yield
        finally:
            for sig, handler in before.items():
                with contextlib.suppress(ValueError, TypeError):  # not the main thread, or no Python handler
                    signal.signal(sig, handler)

    async def _converse(self) -> None:
        self.loop = asyncio.get_running_loop()
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGHUP):
                self.loop.add_signal_handler(sig, self._signal, sig)
        if self.options.timeout is not None:
            self.loop.call_later(self.options.timeout, self._agent_wait_over)
        while not self._over():
            try:
                line = await self.session.prompt_async("> ", bottom_toolbar=self.toolbar, refresh_interval=REFRESH)
            except EOFError:
                break
            except KeyboardInterrupt:
                self.interrupted = True
                break
            if not self._handle(line.strip()):
                break

    def _over(self) -> bool:
        view = self.chat.view
        return self.timed_out or self.signalled is not None or view.ended is not None or view.error is not None

    # -- the event loop's side ---------------------------------------------------------------------------------
    def _agent_wait_over(self) -> None:
        """--timeout passed: without an agent by now, the chat ends (exit 8)."""
        if not self.chat.view.established and not self._over():
            self.timed_out = True
            self._leave_prompt()

    def _signal(self, signum: int) -> None:
        self.signalled = signum
        self._leave_prompt()

    def _leave_prompt(self) -> None:
        app = self.session.app
        if app.is_running:
            app.exit(exception=EOFError())

    def _refresh(self) -> None:
        if self._over():
            self._leave_prompt()
        elif self.session.app.is_running:
            self.session.app.invalidate()

    def _changed(self) -> None:
        """The view changed (called on the poll or send thread): redraw on the loop's thread."""
        loop = self.loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed in between
                loop.call_soon_threadsafe(self._refresh)

    def toolbar(self) -> str:
        view = self.chat.view
        if self._over():
            return " chat over"
        if not view.established:
            where = f"position {view.queue_position}" if view.queue_position else "requested"
            wait = f", about {int(view.estimated_wait)} s" if view.estimated_wait is not None else ""
            return f" {next(self.spin)} waiting for an agent ({where}{wait}) · /help"
        agent = printable(view.agent)
        parts = [f" {agent}"]
        if view.agent_typing:
            parts.append(f"{agent} is typing…")
        if view.menu:
            parts.append("menu: " + "  ".join(f"{i}) {printable(t)}" for i, t in enumerate(view.menu, 1)))
        if view.file_requested:
            parts.append("the agent asked for a file: /upload PATH")
        return " · ".join(parts)

    # -- what the chat shows and sends -------------------------------------------------------------------------
    def _show(self, shown: Shown) -> None:
        show_in_chat(self.ctx.out, shown)

    def _said(self, text: str) -> None:
        self.ctx.out.text(f"You: {text}", "bold")

    def _typing_changed(self, buffer: Any) -> None:
        self.chat.send_typing(bool(buffer.text.strip()) and not buffer.text.startswith("/"))

    def _handle(self, line: str) -> bool:
        """Act on one line; False ends the chat."""
        if not line:
            return True
        command, _, argument = line.partition(" ") if line.startswith("/") else ("", "", "")
        argument = argument.strip()
        if command in ("/end", "/quit", "/exit"):
            return False
        if command == "/help":
            self.ctx.out.note(HELP)
            return True
        chat, view = self.chat, self.chat.view
        try:
            if command == "/upload":
                if not argument:
                    raise UsageError("/upload needs a path", hint="/upload PATH")
                if chat.api.uploads_need_request and not view.file_requested:
                    raise UsageError("the agent has not asked for a file", hint="its request shows here when it comes")
                chat.upload(Path(argument).expanduser())
            elif command == "/choose" or (not command and line.isdigit() and view.menu):
                number = argument if command else line
                if not view.menu:
                    raise UsageError("no menu to answer", hint="the agent's menu shows here when it sends one")
                if not number.isdigit():
                    raise UsageError("/choose needs the item's number", hint=f"/choose 1 to {len(view.menu)}")
                chat.choose(int(number))
            elif command:
                raise UsageError(f"unknown command {command}", hint="/help lists them")
            elif not view.established:
                self.ctx.out.note(f"not sent, no agent has joined yet: {line}")
            else:
                chat.send_typing(False)
                chat.send(line)
        except LiveAgentError as exc:
            self.ctx.out.error(exc.message, exc.hint)
        return True
