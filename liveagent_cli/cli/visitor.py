"""The visitor steps: session, init, poll, send, end, chat, status. Each parses, calls a flow, renders."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import IO, Annotated, Any

import typer

from liveagent_cli.cli.common import render, shown, visitor_command
from liveagent_cli.cli.environment import current
from liveagent_cli.cli.init_options import resolve_for, with_init_options
from liveagent_cli.core.errors import NoAgentError, UsageError
from liveagent_cli.flows.context import Context

app = typer.Typer()


@visitor_command(app, "session")
def session_cmd(
    ctx: Context,
    replace: Annotated[bool, typer.Option("--replace", help="replace a live session stored under this name")] = False,
) -> None:
    """Open a session and store it (Live Agent: GET System/SessionId; Enhanced Chat: an access token)."""
    from liveagent_cli.flows.api_choice import pick

    render(ctx, pick(ctx, opening=True).open_session(ctx, replace=replace, identity=identity_token(ctx)))


def identity_token(ctx: Context) -> Any:
    """--identity-token / LIVEAGENT_IDENTITY_TOKEN: a file holding the JWT, `-` for stdin, or (the variable)
    the JWT itself; registered as a secret at once, and stored only as where it came from."""
    from liveagent_cli.flows.verbs import IdentityToken

    value = ctx.settings.get("identity_token")
    if not value:
        return None
    where = ctx.settings.blame("identity_token")
    text = str(value).strip()
    if text.count(".") == 2 and " " not in text and "/" not in text:
        token, source = text, where
    elif text == "-":
        token, source = read_stdin_text(current().stdin).strip(), f"{where} - (stdin)"
    else:
        path = Path(text).expanduser()
        try:
            token = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            if "eyJ" in text:  # a JWT with something around it ("Bearer eyJ…"), not a file name: never echoed
                raise UsageError(
                    f"{where} holds neither a JWT nor the name of a file (its value is not shown: it may be a token)",
                    hint="pass the signed JWT itself (header.claims.signature), a file holding it, or - for stdin",
                ) from None
            raise UsageError(
                f"cannot read the identity token file {path}: {getattr(exc, 'strerror', None) or exc}",
                hint="--identity-token takes a file holding the signed JWT, or - to read it from stdin",
            ) from None
        source = f"{where} {path}"
    ctx.out.redactor.add(token)
    if token.count(".") != 2:
        raise UsageError(f"the identity token from {where} is not a JWT", hint="it must be header.claims.signature")
    return IdentityToken(token, source)


@visitor_command(app, "init")
@with_init_options
def init_cmd(ctx: Context, *, init: dict[str, Any]) -> None:
    """Ask for a chat with an agent (Live Agent: ChasitorInit; Enhanced Chat: create the conversation)."""
    from liveagent_cli.cli.init_options import resolve_for
    from liveagent_cli.flows.api_choice import pick

    api = pick(ctx)
    render(ctx, api.init(ctx, resolve_for(ctx, api.name, init)))


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
            "type (ChatEstablished, CONVERSATION_MESSAGE, ...)",
        ),
    ] = None,
    timeout: Annotated[
        float | None, typer.Option("--timeout", metavar="SECONDS", help="give up after SECONDS (exit 8)", min=0.0)
    ] = None,
) -> None:
    """Print what arrives (Live Agent: a long poll of System/Messages; Enhanced Chat: the event stream)."""
    from liveagent_cli.core.render import describe_event
    from liveagent_cli.flows.api_choice import pick
    from liveagent_cli.flows.verbs import Shown

    wanted = [t.strip() for t in (until or "").split(",") if t.strip()]
    if until is not None and not wanted:
        raise UsageError("--until needs at least one message type", hint="e.g. --until established")
    api = pick(ctx)
    check_until(wanted, api.until_names())

    def show(item: Shown) -> None:
        if ctx.out.json_mode:
            ctx.out.data(item.line)
        else:
            style, line = describe_event(item.event, item.agent)
            ctx.out.text(line, style)

    try:
        api.poll(ctx, show, follow=follow, until=wanted, timeout=timeout)
    except NoAgentError as exc:
        raise shown(ctx.out, exc) from None  # the pod's ChatRequestFail line said it


def check_until(wanted: list[str], types: list[str] | None = None) -> None:
    """Refuse a name that is neither an event kind nor a message type of the API: a typo would wait forever."""
    import difflib

    from liveagent_cli.core.chat_events import EventKind
    from liveagent_cli.core.messages import MessageType

    kinds = [str(k) for k in EventKind]
    types = [str(t) for t in MessageType] if types is None else types
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
    """Send a chat message (Live Agent: Chasitor/ChatMessage; Enhanced Chat: …/conversation/{id}/message)."""
    from liveagent_cli.flows.api_choice import pick

    if text == "-":
        text = read_stdin_text(current().stdin)
    render(ctx, pick(ctx).send(ctx, text))


@visitor_command(app, "end")
def end_cmd(
    ctx: Context,
    reason: Annotated[str, typer.Option("--reason", metavar="TEXT", help="ChatEnd reason")] = "client",
    local: Annotated[
        bool, typer.Option("--local", help="forget the session here without telling the pod (a pod gone for good)")
    ] = False,
    keep_conversation: Annotated[
        bool,
        typer.Option(
            "--keep-conversation", help="Enhanced Chat: end the messaging session only, keep the conversation"
        ),
    ] = False,
) -> None:
    """End the chat and forget the session (Live Agent: ChatEnd, before init DELETE the session; Enhanced Chat:
    DELETE the conversation, or with --keep-conversation its messaging session)."""
    from liveagent_cli.flows.api_choice import pick

    render(ctx, pick(ctx).end(ctx, reason=reason, local=local, keep_conversation=keep_conversation))


@visitor_command(app, "history")
def history_cmd(
    ctx: Context,
    limit: Annotated[int | None, typer.Option("--limit", metavar="N", help="only the newest N entries", min=1)] = None,
) -> None:
    """Print the conversation so far (Enhanced Chat: …/conversation/{id}/entries, paged)."""
    from liveagent_cli.core.render import describe_event
    from liveagent_cli.flows.api_choice import pick

    for item in pick(ctx).history(ctx, limit=limit):
        if ctx.out.json_mode:
            ctx.out.data(item.line)
        else:
            style, line = describe_event(item.event, item.agent)
            ctx.out.text(line, style)


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
    from liveagent_cli.flows.api_choice import pick
    from liveagent_cli.flows.chat import ChatOptions, run_piped

    options = ChatOptions(
        init=resolve_for(ctx, pick(ctx, opening=True).name, init),
        reply_wait=reply_wait,
        timeout=timeout,
        replace=replace,
        transcript=transcript,
        identity=identity_token(ctx),
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
