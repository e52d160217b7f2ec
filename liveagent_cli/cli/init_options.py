"""The ChasitorInit options that `init` and `chat` share, as one group added to both signatures."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from liveagent_cli.core.errors import UsageError
from liveagent_cli.flows.context import Context

F = TypeVar("F", bound=Callable[..., Any])


def _opt(*decls: str, help: str, metavar: str | None = None) -> Any:
    return typer.Option(*decls, help=help, metavar=metavar, show_default=False)


_GROUP: list[tuple[str, Any, Any]] = [
    ("visitor_name", str | None, _opt("--visitor-name", metavar="NAME", help="name shown to the agent")),
    ("language", str | None, _opt("--language", metavar="LANG", help="e.g. en-US (default)")),
    ("user_agent", str | None, _opt("--user-agent", metavar="TEXT", help="the visitor's user agent")),
    ("screen_resolution", str | None, _opt("--screen-resolution", metavar="WxH", help="e.g. 1920x1080")),
    (
        "prechat",
        list[str] | None,
        _opt("--prechat", metavar="LABEL=VALUE", help="detail shown to the agent (repeatable)"),
    ),
    (
        "prechat_hidden",
        list[str] | None,
        _opt("--prechat-hidden", metavar="LABEL=VALUE", help="detail hidden from the agent (repeatable)"),
    ),
    (
        "transcript_field",
        list[str] | None,
        _opt("--transcript-field", metavar="LABEL=FIELD", help="save a detail to a transcript field (repeatable)"),
    ),
    ("prechat_file", Path | None, _opt("--prechat-file", metavar="FILE", help="TOML or JSON: `details`, `entities`")),
    ("agent_id", str | None, _opt("--agent-id", metavar="ID", help="route straight to this agent (005…)")),
    ("fallback", bool, _opt("--fallback", help="with --agent-id: fall back to the button if the agent declines")),
    (
        "button_override",
        list[str] | None,
        _opt("--button-override", metavar="TARGET", help="routing target: BUTTON, AGENT or AGENT_BUTTON (repeatable)"),
    ),
]
_PARAMS = [
    inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, default=False if kind is bool else None, annotation=Annotated[kind, info]
    )
    for name, kind, info in _GROUP
]
NAMES = [name for name, _, _ in _GROUP]


def with_init_options(func: F) -> F:
    """Append the group to `func(ctx, *, init: dict, ...)`; the values arrive packed as `init`."""
    sig = inspect.signature(func, eval_str=True)
    own = [p for p in sig.parameters.values() if p.name != "init"]

    @functools.wraps(func)
    def wrapper(ctx: Context, **values: Any) -> None:
        raw = {n: values.pop(n) for n in NAMES}
        func(ctx, init=raw, **values)

    wrapper.__signature__ = inspect.Signature(own + _PARAMS)  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def resolve_init(ctx: Context, raw: dict[str, Any]) -> dict[str, Any]:
    """Turn the flags (and the profile's defaults) into the fields `build_init_body` takes, checking them."""
    from liveagent_cli.core import prechat as pc
    from liveagent_cli.core.settings import check_agent_id, check_routing_target

    get = ctx.settings.value  # checked: a profile's `visitor_name = 5` is refused naming the profile
    details = pc.parse_pairs(raw.get("prechat") or []) + pc.parse_pairs(raw.get("prechat_hidden") or [], display=False)
    entities: list[dict[str, Any]] = []
    file = raw.get("prechat_file") or (Path(get("prechat_file")) if get("prechat_file") else None)
    if file is not None:
        file_details, entities = pc.load_file(Path(file).expanduser())
        details = file_details + details
    pc.apply_transcript_fields(details, raw.get("transcript_field") or [])
    pc.check_entities(details, entities, source="the pre-chat options")
    agent_id = raw.get("agent_id")
    if raw.get("fallback") and not agent_id:
        raise UsageError("--fallback needs --agent-id", hint="it means: try this agent first, then the button")
    return {
        "visitor_name": raw.get("visitor_name") or get("visitor_name"),
        "language": raw.get("language") or get("language"),
        "user_agent": raw.get("user_agent") or get("user_agent"),
        "screen_resolution": raw.get("screen_resolution") or get("screen_resolution"),
        "prechat_details": details,
        "prechat_entities": entities,
        "agent_id": check_agent_id(agent_id) if agent_id else "",
        "do_fallback": bool(raw.get("fallback")),
        "button_overrides": [check_routing_target(t) for t in raw.get("button_override") or []],
    }


def resolve_for(ctx: Context, api: str, raw: dict[str, Any]) -> Any:
    """The `init` options for the session's API (flows/verbs.py InitOptions): Live Agent's ChasitorInit fields, or
    Enhanced Chat's pre-chat values by field name (`--prechat NAME=VALUE`, `--prechat-hidden`, a file of them)."""
    from liveagent_cli.flows.verbs import MIAW, InitOptions

    if api != MIAW:
        return InitOptions(resolve_init(ctx, raw))
    from liveagent_cli.core import prechat as pc
    from liveagent_cli.flows.miaw.prechat import read_values_file

    for name in ("agent_id", "button_override", "transcript_field", "fallback"):
        if raw.get(name):
            flag = "--" + name.replace("_", "-")
            raise UsageError(
                f"{flag} is for Live Agent", hint="Enhanced Chat routes by the deployment's routing config"
            )
    for name in ("user_agent", "screen_resolution"):
        if raw.get(name):
            ctx.out.warn(f"--{name.replace('_', '-')} is ignored: Enhanced Chat does not take it")
    get = ctx.settings.value
    values: dict[str, str] = {}
    file = raw.get("prechat_file") or (Path(get("prechat_file")) if get("prechat_file") else None)
    if file is not None:
        values.update(read_values_file(Path(file).expanduser()))
    pairs = pc.parse_pairs(raw.get("prechat") or []) + pc.parse_pairs(raw.get("prechat_hidden") or [], display=False)
    values.update({d["label"]: d["value"] for d in pairs})
    fields = {
        "visitor_name": raw.get("visitor_name") or get("visitor_name"),
        "language": raw.get("language") or get("language"),
    }
    return InitOptions(fields, values)
