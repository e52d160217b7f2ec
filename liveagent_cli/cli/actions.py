"""The visitor commands besides the steps: typing, sneak-peek, event, choose, breadcrumb, upload, reconnect,
availability and visitor-settings. Their flows: signals, menus, upload, visitor_resources and steps."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from liveagent_cli.cli.common import render, shown, visitor_command
from liveagent_cli.cli.completion import on_off
from liveagent_cli.core.errors import NoAgentError, UsageError
from liveagent_cli.flows.context import Context

app = typer.Typer()


def _sent(ctx: Context, what: str, sequence: int, **extra: Any) -> None:
    if ctx.out.json_mode:
        ctx.out.data({"sent": what, "session": ctx.store.name, "sequence": sequence, **extra})
    else:
        ctx.out.note(f"sent {what}")


@visitor_command(app, "typing")
def typing_cmd(
    ctx: Context,
    state: Annotated[
        str,
        typer.Argument(help="on (ChasitorTyping) or off (ChasitorNotTyping)", metavar="on|off", autocompletion=on_off),
    ],
) -> None:
    """Tell the agent the visitor is typing, or stopped (ChasitorTyping / ChasitorNotTyping)."""
    from liveagent_cli.flows.api_choice import pick

    if state not in ("on", "off"):
        raise UsageError(f"typing takes on or off, not {state!r}")
    render(ctx, pick(ctx).typing(ctx, state == "on"))


@visitor_command(app, "sneak-peek")
def sneak_peek_cmd(
    ctx: Context,
    text: Annotated[str, typer.Argument(help="what the visitor has typed so far", metavar="TEXT")],
    position: Annotated[
        int | None, typer.Option("--position", help="cursor position (default: end of TEXT)", min=0, metavar="N")
    ] = None,
) -> None:
    """Show the agent what the visitor is typing (ChasitorSneakPeek)."""
    from liveagent_cli.flows.api_choice import no_counterpart
    from liveagent_cli.flows.signals import sneak_peek

    no_counterpart(ctx, "sneak-peek")
    final = sneak_peek(ctx, text, position)
    _sent(ctx, "ChasitorSneakPeek", final.sequence)


@visitor_command(app, "event")
def event_cmd(
    ctx: Context,
    kind: Annotated[str, typer.Argument(help="the event type", metavar="TYPE")],
    data: Annotated[str, typer.Argument(help="the event data", metavar="DATA")],
) -> None:
    """Send a custom event to the agent (CustomEvent {type, data})."""
    from liveagent_cli.flows.api_choice import no_counterpart
    from liveagent_cli.flows.signals import custom_event

    no_counterpart(ctx, "event")
    final = custom_event(ctx, kind, data)
    _sent(ctx, "CustomEvent", final.sequence, type=kind)


@visitor_command(app, "choose")
def choose_cmd(
    ctx: Context,
    number: Annotated[int, typer.Argument(help="the menu item, counting from 1 as `poll` shows them", metavar="N")],
) -> None:
    """Answer the agent's last menu (RichMessage) with item N."""
    from liveagent_cli.flows.api_choice import pick

    render(ctx, pick(ctx).choose(ctx, number))


@visitor_command(app, "breadcrumb")
def breadcrumb_cmd(
    ctx: Context,
    url: Annotated[str, typer.Argument(help="the page the visitor is on", metavar="URL")],
) -> None:
    """Tell the pod which page the visitor is on (Visitor/Breadcrumb)."""
    from liveagent_cli.flows.api_choice import no_counterpart
    from liveagent_cli.flows.visitor_resources import breadcrumb

    no_counterpart(ctx, "breadcrumb")
    breadcrumb(ctx, url)
    if ctx.out.json_mode:
        ctx.out.data({"sent": "Breadcrumb", "location": url})
    else:
        ctx.out.note("breadcrumb sent")


@visitor_command(app, "upload")
def upload_cmd(
    ctx: Context,
    file: Annotated[Path, typer.Argument(help="the file the agent asked for", metavar="FILE")],
    any_type: Annotated[bool, typer.Option("--any-type", help="send a file of any type")] = False,
) -> None:
    """Answer the agent's file request: multipart upload to the pod's upload servlet."""
    from liveagent_cli.flows.api_choice import pick

    path = file.expanduser()
    size = path.stat().st_size if path.is_file() else 0
    with _progress(ctx, path.name, size) as advance:
        render(ctx, pick(ctx).upload(ctx, path, any_type=any_type, on_progress=advance))


class _progress:
    """A Rich progress bar on stderr for files over 1 MiB when stderr is a terminal; nothing otherwise."""

    def __init__(self, ctx: Context, name: str, size: int) -> None:
        self.ctx, self.name, self.size = ctx, name, size
        self.bar: Any = None

    def __enter__(self) -> Any:
        if self.size < 1024 * 1024 or self.ctx.out.quiet or not self.ctx.out.stderr_isatty:
            return None
        from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

        self.bar = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            console=self.ctx.out.stderr_console(),
            transient=True,
        )
        self.bar.start()
        task = self.bar.add_task(self.name, total=self.size)
        return lambda n: self.bar.advance(task, n)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


@visitor_command(app, "reconnect")
def reconnect_cmd(ctx: Context) -> None:
    """Recover a session the pod moved (after a 503): ReconnectSession, then ChasitorResyncState."""
    from liveagent_cli.flows.api_choice import no_counterpart
    from liveagent_cli.flows.steps import reconnect

    no_counterpart(ctx, "reconnect")
    state = reconnect(ctx)
    if ctx.out.json_mode:
        ctx.out.data(
            {
                "reconnected": True,
                "session": ctx.store.name,
                "affinity": state.affinity,
                "next_sequence": state.sequence + 1,
            }
        )
    else:
        ctx.out.note(f"reconnected: affinity {state.affinity}, next sequence {state.sequence + 1}")


Ids = Annotated[
    list[str] | None,
    typer.Argument(help="button (573…) or agent (005…) ids; default the --button-id setting", metavar="[ID]..."),
]


@visitor_command(app, "availability")
def availability_cmd(ctx: Context, ids: Ids = None) -> None:
    """Are agents online for the button(s)? Exit 0 when one is, 7 when none (Visitor/Availability)."""
    from liveagent_cli.flows.api_choice import pick

    result = pick(ctx).availability(ctx, ids or [])
    if ctx.out.json_mode:
        ctx.out.data(result.document)
    else:
        for line in result.lines:
            ctx.out.text(line)
    if not result.available:  # each line said it
        raise shown(ctx.out, NoAgentError(result.refusal))


@visitor_command(app, "visitor-settings")
def visitor_settings_cmd(ctx: Context, ids: Ids = None) -> None:
    """The deployment's settings and buttons as the pod reports them (Visitor/Settings)."""
    from liveagent_cli.flows.api_choice import pick

    render(ctx, pick(ctx).visitor_settings(ctx, ids or []))
