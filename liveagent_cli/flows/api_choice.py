"""The one place that picks the API a step talks to (the verbs themselves: flows/verbs.py).

The API is chosen once, when the session is opened (`--api`, LIVEAGENT_API, else from the pod's host: an
Enhanced Chat Messaging URL ends in salesforce-scrt.com), and stored with it: later steps follow the
stored session, whatever the settings say (a differing --api is named in a warning).
"""

from __future__ import annotations

from liveagent_cli.core.errors import UsageError
from liveagent_cli.flows.context import Context
from liveagent_cli.flows.verbs import (  # the verbs' types, for callers that take them from here
    API_WORDS,
    LIVEAGENT,
    MIAW,
    Available,
    ChatApi,
    Done,
    IdentityToken,
    InitOptions,
    OnShown,
    PollOutcome,
    Shown,
)

__all__ = [
    "LIVEAGENT",
    "MIAW",
    "Available",
    "ChatApi",
    "Done",
    "IdentityToken",
    "InitOptions",
    "OnShown",
    "PollOutcome",
    "Shown",
    "chosen_api",
    "no_counterpart",
    "pick",
]


def chosen_api(ctx: Context, *, opening: bool = False) -> str:
    """The API of this step: the stored session's (unless `opening` a new one), else the settings'."""
    if not opening:
        from liveagent_cli.core.miaw.state import stored_api

        stored = stored_api(ctx.store)
        if stored is not None:
            wanted = ctx.settings.sources.get("api") == "flag" and ctx.settings.api()
            if wanted and wanted != stored:
                ctx.out.warn(f"--api {wanted} is ignored: session {ctx.store.name!r} is a {API_WORDS[stored]} session")
            return stored
    return ctx.settings.api()


def pick(ctx: Context, *, opening: bool = False) -> ChatApi:
    """The sibling that implements the verbs for this step's API."""
    if chosen_api(ctx, opening=opening) == MIAW:
        from liveagent_cli.flows.miaw.verbs import EnhancedChat

        return EnhancedChat()
    from liveagent_cli.flows.liveagent_verbs import LiveAgent

    return LiveAgent()


def no_counterpart(ctx: Context, command: str) -> None:
    """A command only Live Agent has (sneak-peek, breadcrumb, event, reconnect): exit 2 on Enhanced Chat."""
    if chosen_api(ctx) == MIAW:
        raise UsageError(
            f"`{command}` has no counterpart in Enhanced Chat",
            hint="it exists only for Live Agent sessions (--api liveagent)",
        )
