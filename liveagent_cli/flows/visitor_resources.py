"""The Visitor resources: breadcrumbs, availability and the deployment's settings.

They need no chat: Availability and Settings go out as bare visitor calls, a breadcrumb carries the stored
session's key when there is one.
"""

from __future__ import annotations

from typing import Any

from liveagent_cli.core.errors import ConfigError, UsageError
from liveagent_cli.core.messages import AvailabilityResult
from liveagent_cli.core.settings import check_api_version, check_id, normalize_pod
from liveagent_cli.flows.channel import POST_TIMEOUT, Channel
from liveagent_cli.flows.context import Context


def breadcrumb(ctx: Context, location: str) -> None:
    """Visitor/Breadcrumb: with the stored session's key when there is one, else as a bare visitor call."""
    if not location.strip():
        raise UsageError("the URL is empty", hint="liveagent breadcrumb https://example.com/pricing")
    if ctx.store.exists():
        channel = Channel(ctx)
        channel.client.breadcrumb(location, timeout=POST_TIMEOUT)
        return
    pod, api_version = _pod(ctx)
    ctx.client(pod, api_version).breadcrumb(location, timeout=POST_TIMEOUT)


def availability(ctx: Context, extra_ids: list[str]) -> AvailabilityResult:
    """Visitor/Availability for the button (or the given button and agent ids)."""
    pod, api_version = _pod(ctx)
    org, deployment = _org_and_deployment(ctx)
    ids = [check_button_or_agent(i) for i in extra_ids] or [
        check_id("button_id", str(ctx.settings.require("button_id")))
    ]
    return AvailabilityResult.read(
        ctx.client(pod, api_version).availability(org, deployment, ids, timeout=POST_TIMEOUT)
    )


def visitor_settings(ctx: Context, extra_ids: list[str]) -> dict[str, Any]:
    pod, api_version = _pod(ctx)
    org, deployment = _org_and_deployment(ctx)
    ids = [check_button_or_agent(i) for i in extra_ids]
    if not ids and ctx.settings.get("button_id"):
        ids = [check_id("button_id", str(ctx.settings.get("button_id")))]
    return ctx.client(pod, api_version).visitor_settings(org, deployment, ids, timeout=POST_TIMEOUT)


def check_button_or_agent(value: str) -> str:
    """Availability takes button ids (573…) and agent user ids (005…)."""
    if value.startswith("005"):
        if len(value) not in (15, 18) or not value.isalnum():
            raise ConfigError(f"agent id {value!r} is not a valid Salesforce id")
        return value
    return check_id("button_id", value)


def _pod(ctx: Context) -> tuple[str, str]:
    pod = normalize_pod(str(ctx.settings.require("pod")), insecure=bool(ctx.settings.get("insecure")))
    return pod, check_api_version(str(ctx.settings.require("api_version")))


def _org_and_deployment(ctx: Context) -> tuple[str, str]:
    return (
        check_id("org_id", str(ctx.settings.require("org_id"))),
        check_id("deployment_id", str(ctx.settings.require("deployment_id"))),
    )
