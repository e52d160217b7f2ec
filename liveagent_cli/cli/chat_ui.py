"""The interactive `chat` on a terminal: a prompt_toolkit line editor over a `ChatSession`.

prompt_toolkit keeps the line being typed intact while messages print above it (patch_stdout), and its
bottom toolbar carries what changes in place: the queue position with a spinner while waiting, then
"<agent> is typing…" (last event wins). It is imported only here, so no other command pays for it.
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Any

from liveagent_cli.core.errors import LiveAgentError, UsageError, WaitTimeoutError
from liveagent_cli.flows.chat import ChatOptions, ChatSession
from liveagent_cli.flows.context import Context

HELP = """\
commands:
  /end            end the chat (also /quit, Ctrl-D, Ctrl-C)
  /upload PATH    send a file the agent asked for
  /choose N       answer the agent's menu (a bare number works too)
  /help           this help"""
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


def run_interactive(ctx: Context, options: ChatOptions) -> None:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.patch_stdout import patch_stdout

    session: PromptSession[str] = PromptSession()
    chat = ChatSession(ctx, options, lambda item: ctx.out.message(item, agent=chat.view.agent or "agent"))
    spin = itertools.cycle(SPINNER)
    started = time.monotonic()

    timed_out: list[bool] = []

    def toolbar() -> str:  # redrawn every 0.2 s, so it also watches --timeout
        view = chat.view
        if view.ended or view.error:
            return " chat over: press Enter"
        if not view.established and options.timeout is not None and time.monotonic() - started > options.timeout:
            if not timed_out:
                timed_out.append(True)
                app = session.app
                if app.loop is not None:
                    app.loop.call_soon_threadsafe(lambda: app.exit(exception=EOFError()) if app.is_running else None)
            return " no agent in time"
        if not view.established:
            where = f"position {view.queue_position}" if view.queue_position else "requested"
            wait = f", about {int(view.estimated_wait)} s" if view.estimated_wait is not None else ""
            return f" {next(spin)} waiting for an agent ({where}{wait}) · /help"
        parts = [f" {view.agent}"]
        if view.agent_typing:
            parts.append(f"{view.agent} is typing…")
        if view.menu:
            parts.append("menu: " + "  ".join(f"{i}) {t}" for i, t in enumerate(view.menu, 1)))
        if view.file_requested:
            parts.append("the agent asked for a file: /upload PATH")
        return " · ".join(parts)

    def redraw() -> None:
        app = session.app
        if app.is_running:
            app.invalidate()
            if (chat.view.ended or chat.view.error) and app.loop is not None:
                app.loop.call_soon_threadsafe(lambda: app.exit(exception=EOFError()) if app.is_running else None)

    def typing_changed(buffer: Any) -> None:
        chat.send_typing(bool(buffer.text.strip()) and not buffer.text.startswith("/"))

    session.default_buffer.on_text_changed += typing_changed
    chat.add_listener(redraw)
    ctx.out.note("type a message and press Enter; /help lists commands, /end or Ctrl-D ends the chat")
    interrupted = False
    with patch_stdout(raw=True):
        try:
            chat.start()
            while not (chat.view.ended or chat.view.error):
                if timed_out:
                    raise WaitTimeoutError(f"no agent accepted the chat within {options.timeout:g} s")
                try:
                    line = session.prompt("> ", bottom_toolbar=toolbar, refresh_interval=0.2)
                except EOFError:
                    if timed_out:
                        raise WaitTimeoutError(f"no agent accepted the chat within {options.timeout:g} s") from None
                    break
                except KeyboardInterrupt:
                    interrupted = True
                    break
                if not _handle(chat, ctx, line.strip()):
                    break
            chat.raise_if_over(quiet_end=True)
        finally:
            chat.close()
    ctx.out.note("chat ended")
    if interrupted:
        raise KeyboardInterrupt


def _handle(chat: ChatSession, ctx: Context, line: str) -> bool:
    """Act on one line; False ends the chat."""
    if not line:
        return True
    if line in ("/end", "/quit", "/exit"):
        return False
    if line == "/help":
        ctx.out.note(HELP)
        return True
    try:
        if line.startswith("/upload"):
            path = line[len("/upload") :].strip()
            if not path:
                raise UsageError("/upload needs a path")
            chat.upload(Path(path).expanduser())
        elif line.startswith("/choose") or (line.isdigit() and chat.view.menu):
            number = line[len("/choose") :].strip() if line.startswith("/choose") else line
            if not number.isdigit():
                raise UsageError("/choose needs the item's number")
            chat.choose(int(number))
        elif line.startswith("/"):
            raise UsageError(f"unknown command {line.split()[0]}", hint="/help lists them")
        elif not chat.view.established:
            ctx.out.note("not sent: no agent has joined yet")
        else:
            chat.send_typing(False)
            chat.send(line)
            ctx.out.text(f"You: {line}", "bold")
    except LiveAgentError as exc:
        ctx.out.error(exc.message, exc.hint)
    return True
