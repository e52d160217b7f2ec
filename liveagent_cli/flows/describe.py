"""What `session` and `status` show of a stored session: everything but the key, unless asked.

Kept apart from the steps so `status` imports nothing that talks to a pod.
"""

from __future__ import annotations

import time
from typing import Any

from liveagent_cli.core.state import ChatPhase, SessionState
from liveagent_cli.flows.context import Context

PHASE_WORDS = {
    ChatPhase.SESSION: "no chat requested yet",
    ChatPhase.REQUESTED: "a chat requested, no answer yet",
    ChatPhase.QUEUED: "a chat waiting for an agent",
    ChatPhase.ESTABLISHED: "a chat with an agent",
    ChatPhase.ENDED: "a chat that has ended",
}


def age(state: SessionState) -> str:
    seconds = max(0, int(time.time() - state.created_at))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


def describe_state(state: SessionState, name: str, *, show_secrets: bool) -> dict[str, Any]:
    """What `status` shows: everything but the key, unless asked."""
    info: dict[str, Any] = {
        "session": name,
        "pod": state.pod,
        "id": state.id,
        "chat": state.chat,
        "ack": state.ack,
        "next_sequence": state.sequence + 1,
        "affinity": state.affinity,
        "offset": state.offset,
        "api_version": state.api_version,
        "client_poll_timeout": state.client_poll_timeout,
        "age_seconds": round(time.time() - state.created_at, 1),
        "age": age(state),
    }
    # always present, null until `init` (or the agent, or the end) sets them: a script can test them directly
    for name_, value in (
        ("org_id", state.org_id),
        ("deployment_id", state.deployment_id),
        ("button_id", state.button_id),
        ("visitor_name", state.visitor_name),
        ("agent", state.agent_name),
        ("ended_reason", state.ended_reason),
    ):
        info[name_] = value or None
    info["sources"] = dict(state.sources)
    if show_secrets:
        info["key"] = state.key
    return info


def warn_ignored_flags(ctx: Context, state: SessionState) -> None:
    """A step on a stored session talks to the pod, and with the ids, the session was opened with: say so when
    flags ask for others (they are checked first: a malformed one is refused)."""
    held = {name: getattr(state, name) for name in ("pod", "api_version", "org_id", "deployment_id", "button_id")}
    ignored = ctx.settings.ignored_flags(held)
    if ignored:
        ctx.out.warn(
            f"{', '.join(ignored)} {'is' if len(ignored) == 1 else 'are'} ignored: session {ctx.store.name!r} keeps "
            "the pod and ids it was opened with (start another with `liveagent session --session NAME`)"
        )
