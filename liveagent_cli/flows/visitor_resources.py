"""The Visitor resources: breadcrumbs, availability and the deployment's settings.

They need no chat, and go out as bare visitor calls carrying the API version alone (the reference's rule
for the Visitor resources): a breadcrumb never carries the session key, one place fewer for the secret to
travel; with a stored session it goes to that session's pod. All three are retried like SessionId when the
network fails them: the GETs change nothing, and a breadcrumb only records where the visitor is, so a repeat
(after an answer that was lost) records the same page again and nothing a chat shows depends on it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from liveagent_cli.core.errors import UsageError
from liveagent_cli.core.messages import AvailabilityResult
from liveagent_cli.core.settings import check_agent_id, check_id
from liveagent_cli.flows.context import Context
from liveagent_cli.flows.deadline import Deadline, give_up_seconds
from liveagent_cli.flows.retry import retrying

T = TypeVar("T")


def breadcrumb(ctx: Context, location: str) -> None:
    """Visitor/Breadcrumb, as a bare visitor call: to the stored session's pod when there is one."""
    if not location.strip():
        raise UsageError("the URL is empty", hint="liveagent breadcrumb https://example.com/pricing")
    if ctx.store.exists():
        state = ctx.store.load()
        client = ctx.client(state.pod, state.api_version)
    else:
        client = ctx.client(*ctx.settings.endpoint())
    _retrying(ctx, lambda timeout: client.breadcrumb(location, timeout=timeout))


def availability(ctx: Context, extra_ids: list[str]) -> AvailabilityResult:
    """Visitor/Availability for the button (or the given button and agent ids)."""
    org, deployment = _org_and_deployment(ctx)
    ids = [check_button_or_agent(i) for i in extra_ids] or [ctx.settings.require("button_id")]
    client = ctx.client(*ctx.settings.endpoint())
    return AvailabilityResult.read(
        _retrying(ctx, lambda timeout: client.availability(org, deployment, ids, timeout=timeout))
    )


def visitor_settings(ctx: Context, extra_ids: list[str]) -> dict[str, Any]:
    org, deployment = _org_and_deployment(ctx)
    ids = [check_button_or_agent(i) for i in extra_ids]
    if not ids and ctx.settings.value("button_id"):
        ids = [ctx.settings.require("button_id")]
    client = ctx.client(*ctx.settings.endpoint())
    return _retrying(ctx, lambda timeout: client.visitor_settings(org, deployment, ids, timeout=timeout))


def check_button_or_agent(value: str) -> str:
    """Availability takes button ids (573…) and agent user ids (005…)."""
    if value.startswith("005"):
        return check_agent_id(value, flag="an agent id")
    return check_id("button_id", value)


def _retrying(ctx: Context, call: Callable[[float], T]) -> T:
    return retrying(call, Deadline(give_up_seconds(ctx.environ)), ctx.out.note)


def _org_and_deployment(ctx: Context) -> tuple[str, str]:
    return ctx.settings.require("org_id"), ctx.settings.require("deployment_id")
