"""history, availability and visitor-settings against Enhanced Chat.

- `history`: the conversation's entries (`GET …/conversation/{id}/entries`), oldest first, paged 50 at a time
  by time (no cursor is documented: the newest time seen starts the next page, its entries de-duplicated).
- `availability`: the deployment's business hours (`GET /embeddedservice/v1/businesshours`): available when
  now falls in one of its windows (exit 0), else not (exit 7). It needs no session.
- `visitor-settings`: the deployment's published configuration and pre-chat form
  (`GET /embeddedservice/v1/embedded-service-config`; 412 when it was never published).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from liveagent_cli.core.miaw.events import ConversationItem, from_entry
from liveagent_cli.flows.context import Context
from liveagent_cli.flows.deadline import Deadline, give_up_seconds
from liveagent_cli.flows.miaw.link import Link, new_client, request

PAGE = 50
MAX_PAGES = 200


def history(ctx: Context, *, limit: int | None = None, entry_types: tuple[str, ...] = ()) -> list[ConversationItem]:
    """The stored conversation's entries, oldest first (at most `limit`, the newest ones)."""
    link = Link(ctx, closed_ok=True)
    try:
        conversation = link.conversation()
        found: dict[str, ConversationItem] = {}
        start: int | None = None
        for _ in range(MAX_PAGES):
            page = _page(link, conversation, start, entry_types)
            items = [from_entry(conversation, entry) for entry in page]
            for item in items:
                found.setdefault(item.entry_id or str(len(found)), item)
            newest = max((i.timestamp for i in items if i.timestamp is not None), default=None)
            if len(page) < PAGE or newest is None or newest == start:
                break
            start = newest
    finally:
        link.close()
    ordered = sorted(found.values(), key=lambda i: i.timestamp or 0)
    return ordered[-limit:] if limit else ordered


def _page(link: Link, conversation: str, since: int | None, entry_types: tuple[str, ...]) -> list[dict[str, Any]]:
    return link.request(
        lambda client, timeout: client.entries(
            conversation,
            limit=PAGE,
            direction="FromStart",
            start_timestamp=since,
            entry_types=entry_types,
            timeout=timeout,
        )
    )


@dataclass(frozen=True)
class BusinessHours:
    available: bool
    windows: list[dict[str, Any]]  # as the server sent them: {startTime, endTime} in epoch ms


def availability(ctx: Context) -> BusinessHours:
    """Whether now is inside the deployment's business hours."""
    return read_hours(_deployment_call(ctx, lambda client, timeout: client.business_hours(timeout=timeout)))


def read_hours(body: dict[str, Any]) -> BusinessHours:
    """A businesshours answer: its windows, and whether now falls in one of them."""
    info = body.get("businessHoursInfo")
    hours = info.get("businessHours") if isinstance(info, dict) else None
    windows = [w for w in hours if isinstance(w, dict)] if isinstance(hours, list) else []
    now = time.time() * 1000
    inside = any(_number(w.get("startTime")) <= now < _number(w.get("endTime"), default=-1.0) for w in windows)
    return BusinessHours(inside, windows)


def visitor_settings(ctx: Context) -> dict[str, Any]:
    """The deployment's published configuration (its forms, branding, channel)."""
    return _deployment_call(ctx, lambda client, timeout: client.embedded_service_config(timeout=timeout))


def _deployment_call(ctx: Context, call: Any) -> dict[str, Any]:
    url, org_id, deployment = ctx.settings.messaging()
    client = new_client(ctx, url, org_id, deployment)
    try:
        result: dict[str, Any] = request(
            ctx, lambda timeout: call(client, timeout), Deadline(give_up_seconds(ctx.environ))
        )
        return result
    finally:
        client.close()


def _number(value: Any, default: float = float("inf")) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return default
