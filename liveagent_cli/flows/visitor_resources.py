"""The Visitor resources: breadcrumbs, availability and the deployment's settings.

They need no chat: Availability and Settings go out as bare visitor calls, a breadcrumb carries the stored
session's key when there is one. All three are retried like SessionId when the network fails them: the GETs
change nothing, and a breadcrumb only records where the visitor is, so a repeat (after an answer that was
lost) records the same page again and nothing a chat shows depends on it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from liveagent_cli.core.errors import ConfigError, UsageError
from liveagent_cli.core.messages import AvailabilityResult
from liveagent_cli.core.settings import check_api_version, check_id, normalize_pod
from liveagent_cli.flows.channel import Channel
from liveagent_cli.flows.context import Context
from liveagent_cli.flows.deadline import Deadline, give_up_seconds
from liveagent_cli.flows.retry import retrying

T = TypeVar("T")


def breadcrumb(ctx: Context, location: str) -> None:
    """Visitor/Breadcrumb: with the stored session's key when there is one, else as a bare visitor call."""
    if not location.strip():
        raise UsageError("the URL is empty", hint="liveagent breadcrumb https://example.com/pricing")
    if ctx.store.exists():
        client = Channel(ctx).client
    else:
        client = ctx.client(*_pod(ctx))
    _retrying(ctx, lambda timeout: client.breadcrumb(location, timeout=timeout))


def availability(ctx: Context, extra_ids: list[str]) -> AvailabilityResult:
    """Visitor/Availability for the button (or the given button and agent ids)."""
    pod, api_version = _pod(ctx)
    org, deployment = _org_and_deployment(ctx)
    ids = [check_button_or_agent(i) for i in extra_ids] or [
        check_id("button_id", str(ctx.settings.require("button_id")))
    ]
    client = ctx.client(pod, api_version)
    return AvailabilityResult.read(
        _retrying(ctx, lambda timeout: client.availability(org, deployment, ids, timeout=timeout))
    )


def visitor_settings(ctx: Context, extra_ids: list[str]) -> dict[str, Any]:
    pod, api_version = _pod(ctx)
    org, deployment = _org_and_deployment(ctx)
    ids = [check_button_or_agent(i) for i in extra_ids]
    if not ids and ctx.settings.get("button_id"):
        ids = [check_id("button_id", str(ctx.settings.get("button_id")))]
    client = ctx.client(pod, api_version)
    return _retrying(ctx, lambda timeout: client.visitor_settings(org, deployment, ids, timeout=timeout))


def check_button_or_agent(value: str) -> str:
    """Availability takes button ids (573…) and agent user ids (005…)."""
    if value.startswith("005"):
        if len(value) not in (15, 18) or not value.isalnum():
            raise ConfigError(f"agent id {value!r} is not a valid Salesforce id")
        return value
    return check_id("button_id", value)


def _retrying(ctx: Context, call: Callable[[float], T]) -> T:
    return retrying(call, Deadline(give_up_seconds(ctx.environ)), ctx.out.note)


def _pod(ctx: Context) -> tuple[str, str]:
    pod = normalize_pod(str(ctx.settings.require("pod")), insecure=bool(ctx.settings.get("insecure")))
    return pod, check_api_version(str(ctx.settings.require("api_version")))


def _org_and_deployment(ctx: Context) -> tuple[str, str]:
    return (
        check_id("org_id", str(ctx.settings.require("org_id"))),
        check_id("deployment_id", str(ctx.settings.require("deployment_id"))),
    )
