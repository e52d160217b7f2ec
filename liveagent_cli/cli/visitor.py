"""The visitor steps: session, init, poll, send, end, chat, status. Each parses, calls a flow, renders."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import IO, Annotated, Any

import typer

from liveagent_cli.cli.common import show_fields, shown, visitor_command
from liveagent_cli.cli.environment import current
from liveagent_cli.cli.init_options import resolve_init, with_init_options
from liveagent_cli.core.errors import NoAgentError, UsageError
from liveagent_cli.flows.context import Context

app = typer.Typer()


@visitor_command(app, "session")
def session_cmd(
    ctx: Context,
    replace: Annotated[bool, typer.Option("--replace", help="replace a live session stored under this name")] = False,
) -> None:
    """Open a Live Agent session and store it (GET System/SessionId)."""
    from liveagent_cli.flows.describe import describe_state
    from liveagent_cli.flows.steps import open_session

    state = open_session(ctx, replace=replace)
    info = describe_state(state, ctx.store.name, show_secrets=not ctx.out.redactor.enabled)
    keep = ("session", "pod", "id", "affinity", "client_poll_timeout", "key")
    show_fields(ctx, {k: info[k] for k in keep if k in info})
    ctx.out.note("next: `liveagent init` to ask for an agent")


@visitor_command(app, "init")
@with_init_options
def init_cmd(ctx: Context, *, init: dict[str, Any]) -> None:
    """Ask for a chat with an agent (POST Chasitor/ChasitorInit)."""
    from liveagent_cli.flows.steps import init_chat

    state = init_chat(ctx, resolve_init(ctx, init))
    if ctx.out.json_mode:
        ctx.out.data({"requested": True, "session": ctx.store.name, "sequence": state.sequence})
    ctx.out.note("chat requested; next: `liveagent poll --until ChatEstablished`")


@visitor_command(app, "poll")
def poll_cmd(
    ctx: Context,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="keep polling until the chat ends")] = False,
    until: Annotated[
        str | None,
        typer.Option(
            "--until",
            metavar="TYPE[,TYPE]",
            help="poll until one of these arrives: a kind (established, message, ended, failed, ...) or a message "
            "type (ChatEstablished, ChatMessage, ...)",
        ),
    ] = None,
    timeout: Annotated[
        float | None, typer.Option("--timeout", metavar="SECONDS", help="give up after SECONDS (exit 8)", min=0.0)
    ] = None,
) -> None:
    """Long-poll for messages (GET System/Messages) and print what arrived."""
    from liveagent_cli.core.render import AgentName
    from liveagent_cli.flows.poll import run_poll

    wanted = [t.strip() for t in (until or "").split(",") if t.strip()]
    if until is not None and not wanted:
        raise UsageError("--until needs at least one message type", hint="e.g. --until ChatEstablished")
    check_until(wanted)
    agent = AgentName()
    try:
        run_poll(
            ctx,
            lambda item, state: ctx.out.message(item, agent=agent.after(item, state.agent_name)),
            follow=follow,
            until=wanted,
            timeout=timeout,
        )
    except NoAgentError as exc:
        raise shown(ctx.out, exc) from None  # the pod's ChatRequestFail line said it


def check_until(wanted: list[str]) -> None:
    """Refuse a name that is neither an event kind nor a Live Agent message type: a typo would wait forever."""
    import difflib

    from liveagent_cli.core.events import EventKind
    from liveagent_cli.core.messages import MessageType

    kinds, types = [str(k) for k in EventKind], [str(t) for t in MessageType]
    for name in wanted:
        if name not in kinds and name not in types:
            near = difflib.get_close_matches(name, kinds + types, n=1)
            raise UsageError(
                f"--until: {name!r} is neither a kind nor a message type"
                + (f" (did you mean {near[0]}?)" if near else ""),
                hint=f"kinds: {', '.join(kinds)}; types: {', '.join(types)}",
            )


def read_stdin_text(stdin: IO[bytes]) -> str:
    """All of stdin as UTF-8 text without its final newline; invalid UTF-8 is a usage error."""
    raw = stdin.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"stdin is not valid UTF-8 (byte {exc.start})", hint="send UTF-8 text") from None
    return text[:-1] if text.endswith("\n") else text


@visitor_command(app, "send")
def send_cmd(
    ctx: Context,
    text: Annotated[str, typer.Argument(help="the message; - reads it from stdin", show_default=False, metavar="TEXT")],
) -> None:
    """Send a chat message (POST Chasitor/ChatMessage)."""
    from liveagent_cli.flows.steps import send_text

    if text == "-":
        text = read_stdin_text(current().stdin)
    state = send_text(ctx, text)
    if ctx.out.json_mode:
        ctx.out.data({"sent": True, "session": ctx.store.name, "sequence": state.sequence})
    else:
        ctx.out.note("sent ChatMessage")  # as event, typing and choose say what they sent


@visitor_command(app, "end")
def end_cmd(
    ctx: Context,
    reason: Annotated[str, typer.Option("--reason", metavar="TEXT", help="ChatEnd reason")] = "client",
    local: Annotated[
        bool, typer.Option("--local", help="forget the session here without telling the pod (a pod gone for good)")
    ] = False,
) -> None:
    """End the chat (POST Chasitor/ChatEnd; before init, DELETE the session) and forget the session."""
    from liveagent_cli.flows.steps import end_chat

    if not reason.strip():
        raise UsageError("--reason is empty", hint="the pod expects a reason such as client")
    state, was_open = end_chat(ctx, reason, local=local)
    if local:
        if ctx.out.json_mode:
            ctx.out.data({"ended": False, "local": True, "session": ctx.store.name, "was_open": was_open})
        else:
            ctx.out.note("session forgotten here; the pod was not told (a chat still open there times out)")
    elif ctx.out.json_mode:
        ctx.out.data({"ended": True, "session": ctx.store.name, "was_open": was_open, "reason": reason})
    elif was_open:
        ctx.out.note("chat ended; session forgotten")
    else:
        ctx.out.note("the chat had already ended; session forgotten")


@visitor_command(app, "chat")
@with_init_options
def chat_cmd(
    ctx: Context,
    *,
    init: dict[str, Any],
    reply_wait: Annotated[
        float,
        typer.Option(
            "--reply-wait",
            metavar="SECONDS",
            help="from a pipe: seconds to wait for replies after the last line",
            min=0.0,
        ),
    ] = 10.0,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            metavar="SECONDS",
            help="give up if no agent accepts within SECONDS (exit 8); from a pipe the default is 120",
            min=0.0,
        ),
    ] = None,
    transcript: Annotated[
        Path | None,
        typer.Option("--transcript", metavar="FILE", help="write both sides: JSON lines, or Markdown for .md"),
    ] = None,
    replace: Annotated[bool, typer.Option("--replace", help="replace a live session stored under this name")] = False,
) -> None:
    """Session, init and a live conversation; from a pipe, sends each line, waits for replies, ends."""
    from liveagent_cli.flows.chat import ChatOptions, run_piped

    options = ChatOptions(
        init=resolve_init(ctx, init), reply_wait=reply_wait, timeout=timeout, replace=replace, transcript=transcript
    )
    env = current()
    try:
        # line mode only when stdin is not a terminal (or --json): `chat | tee log` is still a conversation
        if env.stdin_isatty and not ctx.out.json_mode:
            from liveagent_cli.cli.chat_ui import prompt_terminal, run_interactive

            with prompt_terminal(env) as terminal:
                run_interactive(ctx, options, env, terminal)
        else:
            run_piped(ctx, options, _stdin_lines(env.stdin))
    except NoAgentError as exc:
        raise shown(ctx.out, exc) from None  # the pod's ChatRequestFail line said it


def _stdin_lines(stdin: IO[bytes]) -> Iterator[str]:
    for number, raw in enumerate(stdin, 1):
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UsageError(
                f"stdin line {number} is not valid UTF-8 (byte {exc.start + 1} of the line)", hint="send UTF-8 text"
            ) from None
