"""`smoke` (the CI check) and `doctor` (a deployment's preflight)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from liveagent_cli.cli.common import shown, visitor_command
from liveagent_cli.cli.init_options import with_init_options
from liveagent_cli.flows.context import Context

app = typer.Typer()
MARKS = {"passed": "✓", "failed": "✗", "skipped": "-", "warn": "!", "ok": "✓", "fail": "✗", "info": "·"}


@visitor_command(app, "smoke")
@with_init_options
def smoke_cmd(
    ctx: Context,
    *,
    init: dict[str, Any],
    expect: Annotated[
        str | None, typer.Option("--expect", metavar="REGEX", help="require an agent reply matching REGEX")
    ] = None,
    probe: Annotated[
        str | None, typer.Option("--probe", metavar="TEXT", help="the message to send (default: a timestamped probe)")
    ] = None,
    junit: Annotated[
        Path | None, typer.Option("--junit", metavar="FILE", help="write a JUnit XML report, one testcase per step")
    ] = None,
    accept_timeout: Annotated[
        float, typer.Option("--accept-timeout", metavar="SECONDS", help="wait this long for an agent", min=0.0)
    ] = 120.0,
    reply_timeout: Annotated[
        float, typer.Option("--reply-timeout", metavar="SECONDS", help="wait this long for the reply", min=0.0)
    ] = 30.0,
    skip_availability: Annotated[
        bool,
        typer.Option(
            "--skip-availability",
            help="do not check availability first (Live Agent: Visitor/Availability; Enhanced Chat: business hours)",
        ),
    ] = False,
) -> None:
    """The CI check: availability, session, init, wait for an agent, send a probe, (expect a reply,) end."""
    from liveagent_cli.cli.init_options import resolve_for
    from liveagent_cli.cli.visitor import identity_token
    from liveagent_cli.flows.api_choice import pick
    from liveagent_cli.flows.smoke import (
        SmokeOptions,
        StepResult,
        check_report_path,
        report_target,
        run_smoke,
        write_junit,
    )

    if junit is not None:
        check_report_path(junit)
    if not init.get("visitor_name"):
        init["visitor_name"] = "liveagent smoke"
    api = pick(ctx, opening=True)
    options = SmokeOptions(
        probe=probe or f"liveagent smoke probe {time.strftime('%Y-%m-%dT%H:%M:%S')}",
        expect=expect,
        accept_timeout=accept_timeout,
        reply_timeout=reply_timeout,
        init=resolve_for(ctx, api.name, init),
        check_availability=not skip_availability,
        identity=identity_token(ctx),
    )

    def show(step: StepResult) -> None:
        if not ctx.out.json_mode:
            style = {"passed": "green", "failed": "bold red", "skipped": "dim"}[step.status]
            ctx.out.text(f"{MARKS[step.status]} {step.name:<12} {step.seconds:6.2f} s  {step.detail}", style)

    results = run_smoke(ctx, api, options, show)
    failure = next((r for r in results if r.status == "failed"), None)
    if junit is not None:
        write_junit(junit, results, report_target(ctx, api), api.name)
    if ctx.out.json_mode:
        code = int(failure.error.code) if failure and failure.error else 0
        ctx.out.data({"ok": failure is None, "exit_code": code, "steps": [r.as_json() for r in results]})
    if failure is not None and failure.error is not None:
        raise shown(ctx.out, failure.error)  # the ✗ row said it
    ctx.out.note("smoke check passed")


@visitor_command(app, "doctor")
def doctor_cmd(
    ctx: Context,
    prechat_file: Annotated[
        Path | None, typer.Option("--prechat-file", metavar="FILE", help="also check this pre-chat file")
    ] = None,
) -> None:
    """Preflight a deployment: are its settings sound, and does the server answer for them?

    Live Agent: ids, TLS, API version, Settings, Availability, SwitchServer. Enhanced Chat: Messaging URL, TLS,
    published configuration, deployment type, token, org id, pre-chat form, event stream, business hours.
    """
    from liveagent_cli.flows.api_choice import MIAW, chosen_api
    from liveagent_cli.flows.doctor import verdict

    if chosen_api(ctx, opening=True) == MIAW:
        from liveagent_cli.cli.visitor import identity_token
        from liveagent_cli.flows.miaw.doctor import run_doctor as miaw_doctor

        checks = miaw_doctor(ctx, prechat_file, identity_token(ctx))
    else:
        from liveagent_cli.flows.doctor import run_doctor

        checks = run_doctor(ctx, prechat_file)
    if ctx.out.json_mode:
        ctx.out.data({"ok": all(c.status != "fail" for c in checks), "checks": [c.as_json() for c in checks]})
    else:
        width = max(len(c.name) for c in checks)
        for c in checks:
            style = {"ok": "green", "fail": "bold red", "warn": "yellow", "info": "dim"}[c.status]
            ctx.out.text(f"{MARKS[c.status]} {c.name.ljust(width)}  {c.detail}", style)
    error = verdict(checks)
    if error is not None:
        raise shown(ctx.out, error)  # the ✗ row said it
