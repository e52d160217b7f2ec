"""`liveagent status`: the stored session, without touching the network; its own module so it starts fast."""

from __future__ import annotations

import typer

from liveagent_cli.cli.common import show_fields, visitor_command
from liveagent_cli.flows.context import Context

app = typer.Typer()


@visitor_command(app, "status")
def status_cmd(ctx: Context) -> None:
    """Show the stored session: pod, ids, ack, next sequence, affinity, age (key hidden)."""
    from liveagent_cli.flows.describe import describe_state

    state = ctx.store.load()
    info = describe_state(state, ctx.store.name, show_secrets=not ctx.out.redactor.enabled)
    if ctx.out.json_mode:
        ctx.out.data(info)
        return
    sources = info.pop("sources", {})
    info.pop("age_seconds", None)
    for name, source in sources.items():  # say where each stored setting came from
        if name in info:
            info[name] = f"{info[name]}  ({source})"
    show_fields(ctx, info)
