"""Builds the flows' Context from the parsed shared options."""

from __future__ import annotations

import os
from typing import Any

from liveagent_cli.core.output import Output
from liveagent_cli.core.settings import resolve
from liveagent_cli.core.state import StateStore, state_dir
from liveagent_cli.flows.context import Context

SETTING_FLAGS = ("pod", "org_id", "deployment_id", "button_id", "api_version")


def build_context(common: dict[str, Any], out: Output) -> Context:
    flags = {name: common[name] for name in SETTING_FLAGS}
    if common.get("insecure"):
        flags["insecure"] = True
    settings = resolve(flags, common.get("profile"))
    session = common.get("session") or os.environ.get("LIVEAGENT_SESSION") or "default"
    store = StateStore(state_dir(), session)
    ctx = Context(settings=settings, store=store, out=out, verbose=bool(common.get("verbose")))
    ctx.session_named = bool(common.get("session") or os.environ.get("LIVEAGENT_SESSION"))
    return ctx
