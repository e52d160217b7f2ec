"""The visitor commands besides the steps: typing, sneak-peek, event, choose, breadcrumb, upload, reconnect,
availability and visitor-settings. Their flows: signals, menus, upload, visitor_resources and steps."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from liveagent_cli.cli.common import shown, visitor_command
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
    from liveagent_cli.flows.signals import send_typing

    if state not in ("on", "off"):
        raise UsageError(f"typing takes on or off, not {state!r}")
    final = send_typing(ctx, state == "on")
    _sent(ctx, "ChasitorTyping" if state == "on" else "ChasitorNotTyping", final.sequence)


@visitor_command(app, "sneak-peek")
def sneak_peek_cmd(
    ctx: Context,
    text: Annotated[str, typer.Argument(help="what the visitor has typed so far", metavar="TEXT")],
    position: Annotated[
        int | None, typer.Option("--position", help="cursor position (default: end of TEXT)", min=0, metavar="N")
    ] = None,
) -> None:
    """Show the agent what the visitor is typing (ChasitorSneakPeek)."""
    from liveagent_cli.flows.signals import sneak_peek

    final = sneak_peek(ctx, text, position)
    _sent(ctx, "ChasitorSneakPeek", final.sequence)


@visitor_command(app, "event")
def event_cmd(
    ctx: Context,
    kind: Annotated[str, typer.Argument(help="the event type", metavar="TYPE")],
    data: Annotated[str, typer.Argument(help="the event data", metavar="DATA")],
) -> None:
    """Send a custom event to the agent (CustomEvent {type, data})."""
    from liveagent_cli.flows.signals import custom_event

    final = custom_event(ctx, kind, data)
    _sent(ctx, "CustomEvent", final.sequence, type=kind)


@visitor_command(app, "choose")
def choose_cmd(
    ctx: Context,
    number: Annotated[int, typer.Argument(help="the menu item, counting from 1 as `poll` shows them", metavar="N")],
) -> None:
    """Answer the agent's last menu (RichMessage) with item N."""
    from liveagent_cli.flows.menus import choose

    final, text = choose(ctx, number)
    if ctx.out.json_mode:
        ctx.out.data(
            {
                "sent": "RichMessage",
                "session": ctx.store.name,
                "sequence": final.sequence,
                "choice": number,
                "text": text,
            }
        )
    else:
        ctx.out.note(f"sent menu choice {number} ({text})")


@visitor_command(app, "breadcrumb")
def breadcrumb_cmd(
    ctx: Context,
    url: Annotated[str, typer.Argument(help="the page the visitor is on", metavar="URL")],
) -> None:
    """Tell the pod which page the visitor is on (Visitor/Breadcrumb)."""
    from liveagent_cli.flows.visitor_resources import breadcrumb

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
    from liveagent_cli.flows.upload import plan_upload, upload

    plan = plan_upload(file.expanduser(), any_type=any_type)
    with _progress(ctx, plan.path.name, plan.size) as advance:
        upload(ctx, plan, advance)
    if ctx.out.json_mode:
        ctx.out.data({"uploaded": plan.path.name, "bytes": plan.size, "contentType": plan.content_type})
    else:
        ctx.out.note(f"uploaded {plan.path.name} ({plan.size} bytes); the pod confirms with FileTransfer Success")


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
    from liveagent_cli.flows.steps import reconnect

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
    from liveagent_cli.core.render import wait_phrase
    from liveagent_cli.flows.visitor_resources import availability

    result = availability(ctx, ids or [])
    if ctx.out.json_mode:
        ctx.out.data({"available": result.available, "results": result.results})
    else:
        for line in result.entries:
            state = "available" if line.available else "unavailable"
            ctx.out.text(f"{line.id}  {state}{wait_phrase(line.estimated_wait)}")
    if not result.available:  # each id's line said it
        raise shown(ctx.out, NoAgentError("no agent is online for " + ", ".join(line.id for line in result.entries)))


@visitor_command(app, "visitor-settings")
def visitor_settings_cmd(ctx: Context, ids: Ids = None) -> None:
    """The deployment's settings and buttons as the pod reports them (Visitor/Settings)."""
    from liveagent_cli.flows.visitor_resources import visitor_settings

    settings = visitor_settings(ctx, ids or [])
    if ctx.out.json_mode:
        ctx.out.data(settings)
        return
    for key in ("pingRate", "contentServerUrl"):
        if key in settings:
            ctx.out.text(f"{key}  {settings[key]}")
    for button in settings.get("buttons") or []:
        if isinstance(button, dict):
            state = "available" if button.get("isAvailable") is True else "unavailable"
            ctx.out.text(f"button {button.get('id')}  {button.get('type', '')}  {state}")
