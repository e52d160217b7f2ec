"""The scripted agent's file format (`--agent script:FILE`, TOML): parsed and checked once, at start-up.

    accept_after = 0.5            # seconds before accepting; or  accept = "manual"  (sandbox agent accept)
    agent_name = "Scripted Agent" # the name in ChatEstablished and ChatMessage (default "Sandbox Agent")
    on_finish = "idle"            # after the last step: "idle" (default), "echo" or "end"

    [[steps]]
    expect = "(?i)hello (?P<who>\\w+)"  # wait for a visitor ChatMessage matching this regex
    timeout = 10                        # optional, seconds; then  on_timeout = "end" (default) | "continue"
    [[steps]]
    say = "Hi {name}! You said: {text}"

Every step has exactly one action key: `expect`, `wait`, `say`, `typing`, `pause`, `menu`, `transfer`,
`join`, `leave`, `request_file`, `cancel_file`, `event`, `end`; the README lists each with its options.
Strings the agent sends may use `{name}` (the visitor's name), `{agent}` (the agent's), `{text}` (the last
visitor message a step waited for), `{choice}` (the last menu item chosen), `{file}` (the last file
uploaded) and the named groups of `expect`/`match` patterns; `{{` and `}}` are literal braces.

Errors name the file, the step (1-based) and the key, e.g. `script bot.toml: step 3: unknown key 'sya'`.
"""

from __future__ import annotations

import difflib
import math
import re
import string
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from liveagent_cli.sandbox.defaults import AGENT_NAME, MENU_TYPE_KINDS

ACTIONS = (
    "expect",
    "wait",
    "say",
    "typing",
    "pause",
    "menu",
    "transfer",
    "join",
    "leave",
    "request_file",
    "cancel_file",
    "event",
    "end",
)
WAIT_OPTIONS = ("timeout", "on_timeout")
OPTIONS: dict[str, tuple[str, ...]] = {
    "expect": WAIT_OPTIONS,
    "wait": ("match", *WAIT_OPTIONS),
    "menu": ("menu_type", "header", "expect_menu", *WAIT_OPTIONS),
    "request_file": ("expect_file", *WAIT_OPTIONS),
    "event": ("data",),
}
# The script format names visitor events as Live Agent does (its first API): name -> the event kind an agent
# sees (model/agent_port.py), whichever API the chat came by.
WAITABLE = {
    "ChatMessage": "message",
    "ChasitorTyping": "typing",
    "ChasitorNotTyping": "not-typing",
    "ChasitorSneakPeek": "sneak-peek",
    "CustomEvent": "custom-event",
    "RichMessage": "choice",
    "FileUpload": "file",
    "ChasitorIdleTimeoutWarningEvent": "idle-warning",
    "SensitiveDataRuleTriggered": "sensitive-data",
    "Breadcrumb": "breadcrumb",
}
MENU_TYPES = tuple(MENU_TYPE_KINDS)
FINISH = ("idle", "echo", "end")
TOP_LEVEL = ("accept_after", "accept", "agent_name", "on_finish", "steps")
BUILTIN_FIELDS = ("name", "agent", "text", "choice", "file")


class ScriptError(ValueError):
    """A script that cannot run; the message names the file, the step and the key."""


@dataclass(frozen=True, slots=True)
class Wait:
    """What a step waits for after its action: a visitor event of `kind` (the script calls it `name`), its
    text matching `pattern`."""

    name: str  # as the script names it: ChatMessage, RichMessage...
    kind: str  # the event kind (model/agent_port.py)
    pattern: re.Pattern[str] | None
    timeout: float | None
    on_timeout: str  # "end" or "continue"


@dataclass(frozen=True, slots=True)
class Step:
    number: int
    action: str  # one of ACTIONS ("expect" and "wait" act by waiting only)
    value: Any  # the action key's value, checked: str, float, list[str] or bool
    wait: Wait | None = None
    data: str = ""  # `event`: the CustomEvent data
    menu_kind: str = "menu"  # model/agent_port.py's MENU_KINDS (the script's menu_type, mapped)
    header: str | None = None


@dataclass(frozen=True, slots=True)
class Script:
    path: str
    accept_after: float | None  # None: accept = "manual"
    agent_name: str
    on_finish: str
    steps: tuple[Step, ...]
    fields: tuple[str, ...]  # placeholder names a template may use


def load_script(path: str, *, default_accept_after: float = 1.0) -> Script:
    """Read and check a script file; ScriptError for anything wrong, naming where."""
    where = f"script {path}"
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ScriptError(f"{where}: cannot read it ({exc.strerror or exc})") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ScriptError(f"{where}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScriptError(f"{where}: not valid TOML: {exc}") from None
    return parse_script(data, path, default_accept_after=default_accept_after)


def parse_script(data: dict[str, Any], path: str = "<script>", *, default_accept_after: float = 1.0) -> Script:
    where = f"script {path}"
    unknown = sorted(set(data) - set(TOP_LEVEL))
    if unknown:
        raise ScriptError(f"{where}: unknown top-level key {unknown[0]!r} (expected one of: {', '.join(TOP_LEVEL)})")
    if "accept" in data and "accept_after" in data:
        raise ScriptError(f'{where}: give either `accept_after` or `accept = "manual"`, not both')
    accept_after: float | None = default_accept_after
    if "accept" in data:
        if data["accept"] != "manual":
            raise ScriptError(f'{where}: `accept` can only be "manual" (use accept_after = SECONDS for a delay)')
        accept_after = None
    elif "accept_after" in data:
        accept_after = _seconds(data["accept_after"], f"{where}: accept_after")
    agent_name = data.get("agent_name", AGENT_NAME)
    if not isinstance(agent_name, str) or not agent_name:
        raise ScriptError(f"{where}: agent_name must be a non-empty string")
    on_finish = data.get("on_finish", "idle")
    if on_finish not in FINISH:
        raise ScriptError(f"{where}: on_finish must be one of: {', '.join(FINISH)}")
    raw_steps = data.get("steps", [])
    if not isinstance(raw_steps, list) or not all(isinstance(s, dict) for s in raw_steps):
        raise ScriptError(f"{where}: `steps` must be an array of tables ([[steps]])")
    steps = tuple(_step(s, n, where) for n, s in enumerate(raw_steps, start=1))
    groups: set[str] = set()
    for step in steps:
        if step.wait is not None and step.wait.pattern is not None:
            groups.update(step.wait.pattern.groupindex)
    fields = tuple(sorted(set(BUILTIN_FIELDS) | groups))
    for step in steps:
        _check_templates(step, fields, where)
    return Script(path, accept_after, agent_name, on_finish, steps, fields)


def _seconds(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise ScriptError(f"{what} must be a number of seconds, 0 or more")
    return float(value)


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise ScriptError(f"{what} must be a non-empty string")
    return value


def _pattern(value: Any, what: str) -> re.Pattern[str]:
    if not isinstance(value, str):
        raise ScriptError(f"{what} must be a regular expression (a string)")
    try:
        return re.compile(value)
    except re.error as exc:
        raise ScriptError(f"{what}: invalid regular expression: {exc}") from None


def _flag(step: dict[str, Any], key: str, at: str) -> bool:
    value = step.get(key, False)
    if not isinstance(value, bool):
        raise ScriptError(f"{at}: `{key}` must be true or false")
    return value


def _wait(step: dict[str, Any], name: str, pattern: re.Pattern[str] | None, at: str) -> Wait:
    timeout = None
    if "timeout" in step:
        timeout = _seconds(step["timeout"], f"{at}: timeout")
        if timeout == 0:
            raise ScriptError(f"{at}: timeout must be more than 0 seconds")
    on_timeout = step.get("on_timeout", "end")
    if on_timeout not in ("end", "continue"):
        raise ScriptError(f'{at}: on_timeout must be "end" or "continue"')
    return Wait(name, WAITABLE[name], pattern, timeout, on_timeout)


def _step(step: dict[str, Any], number: int, where: str) -> Step:
    at = f"{where}: step {number}"
    actions = [k for k in step if k in ACTIONS]
    if not actions:
        known = {*ACTIONS, *(o for options in OPTIONS.values() for o in options)}
        unknown = [k for k in step if k not in known]
        if unknown:
            close = difflib.get_close_matches(unknown[0], ACTIONS, n=1)
            guess = f" (did you mean {close[0]!r}?)" if close else f"; a step's action is one of: {', '.join(ACTIONS)}"
            raise ScriptError(f"{at}: unknown key {unknown[0]!r}{guess}")
    if len(actions) != 1:
        found = f"found {', '.join(actions)}" if actions else "found none"
        raise ScriptError(f"{at}: needs exactly one action key of: {', '.join(ACTIONS)} ({found})")
    action = actions[0]
    allowed = OPTIONS.get(action, ())
    for key in step:
        if key != action and key not in allowed:
            hint = f"; {action} takes: {', '.join(allowed)}" if allowed else f"; {action} takes no options"
            raise ScriptError(f"{at}: unknown key {key!r}{hint}")
    value = step[action]
    if action in ("say", "transfer", "join", "leave"):
        return Step(number, action, _text(value, f"{at}: {action}"))
    if action in ("typing", "pause"):
        return Step(number, action, _seconds(value, f"{at}: {action}"))
    if action == "expect":
        return Step(number, action, value, _wait(step, "ChatMessage", _pattern(value, f"{at}: expect"), at))
    if action == "wait":
        if value not in WAITABLE:
            raise ScriptError(f"{at}: wait must name a visitor event: {', '.join(WAITABLE)}")
        pattern = _pattern(step["match"], f"{at}: match") if "match" in step else None
        return Step(number, action, value, _wait(step, value, pattern, at))
    if action == "menu":
        if not isinstance(value, list) or not value or not all(isinstance(i, str) and i for i in value):
            raise ScriptError(f"{at}: menu must be a non-empty array of non-empty strings")
        menu_type = step.get("menu_type", MENU_TYPES[0])
        if menu_type not in MENU_TYPES:
            raise ScriptError(f"{at}: menu_type must be one of: {', '.join(MENU_TYPES)}")
        header = step.get("header")
        if header is not None and not isinstance(header, str):
            raise ScriptError(f"{at}: header must be a string")
        wait = _wait(step, "RichMessage", None, at) if _flag(step, "expect_menu", at) else None
        _no_wait_options(step, wait, at, "expect_menu")
        return Step(number, action, list(value), wait, menu_kind=MENU_TYPE_KINDS[menu_type], header=header)
    if action in ("request_file", "cancel_file"):
        if value is not True:
            raise ScriptError(f"{at}: {action} must be true")
        wait = None
        if action == "request_file" and _flag(step, "expect_file", at):
            wait = _wait(step, "FileUpload", None, at)
        _no_wait_options(step, wait, at, "expect_file")
        return Step(number, action, True, wait)
    if action == "event":
        data = step.get("data", "")
        if not isinstance(data, str):
            raise ScriptError(f"{at}: data must be a string")
        return Step(number, action, _text(value, f"{at}: event"), data=data)
    # end
    if value is True:
        value = "agent"
    return Step(number, action, _text(value, f"{at}: end"))


def _no_wait_options(step: dict[str, Any], wait: Wait | None, at: str, flag: str) -> None:
    if wait is None:
        for key in WAIT_OPTIONS:
            if key in step:
                raise ScriptError(f"{at}: `{key}` only applies with {flag} = true")


def _check_templates(step: Step, fields: tuple[str, ...], where: str) -> None:
    texts: list[str] = []
    if step.action in ("say", "transfer", "join", "leave", "end", "event"):
        texts.append(step.value)
    if step.action == "event":
        texts.append(step.data)
    if step.action == "menu":
        texts.extend(step.value)
        if step.header:
            texts.append(step.header)
    for text in texts:
        try:
            parsed = list(string.Formatter().parse(text))
        except ValueError as exc:
            raise ScriptError(
                f"{where}: step {step.number}: {step.action}: bad braces ({exc}); "
                "write {{ and }} for literal braces"
            ) from None
        for _, name, spec, conversion in parsed:
            if name is None:
                continue
            if name not in fields or spec or conversion:
                raise ScriptError(
                    f"{where}: step {step.number}: {step.action}: unknown placeholder {{{name}}} "
                    f"(known: {', '.join('{' + f + '}' for f in fields)})"
                )


def render(template: str, values: dict[str, str]) -> str:
    """Fill a checked template; values are plain text, never re-parsed."""
    return template.format_map(values)
