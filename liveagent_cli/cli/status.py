"""`liveagent status`: the stored session, without touching the network; its own module so it starts fast."""

from __future__ import annotations

import typer

from liveagent_cli.cli.common import show_fields, visitor_command
from liveagent_cli.flows.context import Context

app = typer.Typer()


@visitor_command(app, "status")
def status_cmd(ctx: Context) -> None:
    """Show the stored session: pod, ids, ack, next sequence, affinity, age (key hidden); for Enhanced Chat the
    conversation, the last event id and when the token expires (the token hidden)."""
    from liveagent_cli.flows.api_choice import pick

    done = pick(ctx).status(ctx, show_secrets=not ctx.out.redactor.enabled)
    if ctx.out.json_mode:
        ctx.out.data(done.document)
        return
    info = dict(done.fields or done.document)
    sources = info.pop("sources", {})
    info.pop("age_seconds", None)
    for name, source in sources.items():  # say where each stored setting came from
        if name in info:
            info[name] = f"{info[name]}  ({source})"
    show_fields(ctx, info)
