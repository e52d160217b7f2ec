"""Fault rules: the failures a real pod produces only now and then, on demand and reproducibly.

A rule is written `KIND[:key=value,...]` (`--fault`, or `POST /_sandbox/faults`), e.g. `503:every=4`,
`drop:path=Messages,times=1`, `delay:ms=800,p=0.2`, `status:code=500,path=ChatMessage`.

Kinds:
  503            the pod moves the session: new affinity token, 503 `Invalid Affinity Token`, not processed;
                 every later request of that session gets 503 until ReconnectSession
  drop           the connection is closed with no answer; `when=after` (default: the request IS processed,
                 its answer lost) or `when=before` (not processed)
  delay          the answer comes `ms=N` milliseconds late (the request is processed at once)
  status         the answer is `code=N` with a short body, and the request is not processed
  expire         the session becomes invalid: this request and every later one get 403
  switch-server  a Visitor resource answers SwitchServer, pointing at the sandbox's second pod prefix
  sse-drop       (Enhanced Chat) the event stream is cut after its `after=N`-th event (pings not counted)

Selectors (all optional; together they must all hold):
  every=N   the Nth, 2Nth... request this rule applies to (counted per rule, across all sessions)
  p=0.x     at random with that probability (reproducible with --seed)
  times=N   at most N firings
  path=NOUN only requests to that resource (Messages, ChatMessage, SessionId, Availability...; for
            Enhanced Chat the last word of the path: message, entries, sse, access-token...)

Where a kind applies: `503` and `expire` only to requests that name a live session, never to SessionId,
ReconnectSession, ResyncSession or ChasitorResyncState (there is no session yet, or it is the way out of a
503, which must be able to finish); `switch-server` only to
Visitor resources; `sse-drop` only to event streams; the others to every Chat API request. Each API says
which kinds its requests can meet (Enhanced Chat: drop, delay, status, expire, sse-drop; there `expire`
makes the access token expire). Never to the control API or the upload servlet.
At most one fault fires per request: rules are tried in the order they were added.
"""

from __future__ import annotations

import math
import random
from collections.abc import Container
from dataclasses import dataclass, field
from typing import Any

from liveagent_cli.sandbox.defaults import MIAW_NOUNS, NOUNS

KINDS = ("503", "drop", "delay", "status", "expire", "switch-server", "sse-drop")
SELECTORS = ("every", "p", "times", "path")
KIND_KEYS: dict[str, tuple[str, ...]] = {
    "drop": ("when",),
    "delay": ("ms",),
    "status": ("code",),
    "sse-drop": ("after",),
}
REQUIRED: dict[str, tuple[str, ...]] = {"delay": ("ms",), "status": ("code",), "sse-drop": ("after",)}
# 503 and expire need a session, and never hit the way out of a 503 (the recovery must be able to finish).
_EXEMPT_NOUNS = ("SessionId", "ReconnectSession", "ResyncSession", "ChasitorResyncState")
MAX_DELAY_MS = 600_000


class FaultSpecError(ValueError):
    """A fault spec that cannot be used; the message says which part and why."""


@dataclass(slots=True)
class FaultRule:
    kind: str
    every: int | None = None
    p: float | None = None
    times: int | None = None
    path: str | None = None
    when: str = "after"
    ms: int = 0
    code: int = 0
    after: int = 0  # sse-drop: events before the cut
    id: int = 0
    seen: int = 0  # requests this rule applied to
    fired: int = 0
    spec: str = field(default="")

    def applies(self, prefix: str, noun: str, has_session: bool) -> bool:
        if self.path is not None and self.path != noun:
            return False
        if self.kind in ("503", "expire"):
            return has_session and noun not in _EXEMPT_NOUNS and prefix != "Visitor"
        if self.kind == "switch-server":
            return prefix == "Visitor"
        if self.kind == "sse-drop":
            return noun == "sse"
        return True

    def view(self) -> dict[str, Any]:
        shown: dict[str, Any] = {"id": self.id, "spec": self.spec, "kind": self.kind}
        for name in ("every", "p", "times", "path"):
            value = getattr(self, name)
            if value is not None:
                shown[name] = value
        if self.kind == "drop":
            shown["when"] = self.when
        if self.kind == "delay":
            shown["ms"] = self.ms
        if self.kind == "status":
            shown["code"] = self.code
        if self.kind == "sse-drop":
            shown["after"] = self.after
        shown.update(seen=self.seen, fired=self.fired)
        return shown


def parse_fault(spec: str) -> FaultRule:
    """`KIND[:key=value,...]` → a rule (not yet added); FaultSpecError names what is wrong."""
    if not isinstance(spec, str) or not spec.strip():
        raise FaultSpecError("empty fault spec; write KIND[:key=value,...], e.g. 503:every=4")
    kind, _, rest = spec.strip().partition(":")
    params: dict[str, str] = {}
    for item in rest.split(",") if rest.strip() else []:
        name, eq, value = item.partition("=")
        name, value = name.strip(), value.strip()
        if not eq or not name or not value:
            raise FaultSpecError(f"fault {spec!r}: {item.strip()!r} is not key=value")
        if name in params:
            raise FaultSpecError(f"fault {spec!r}: {name} is given twice")
        params[name] = value
    return build_fault(kind.strip(), params, spec)


def fault_from_json(data: dict[str, Any]) -> FaultRule:
    """`{"spec": "503:every=4"}` or `{"kind": "503", "every": 4, ...}` (the control API)."""
    if "spec" in data:
        if set(data) != {"spec"}:
            raise FaultSpecError("give either `spec` alone, or `kind` with its keys")
        return parse_fault(data["spec"])
    kind = data.get("kind")
    if not isinstance(kind, str):
        raise FaultSpecError('a fault needs `spec` ("503:every=4") or `kind`')
    params = {}
    for name, value in data.items():
        if name == "kind":
            continue
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise FaultSpecError(f"fault key {name}: a string or a number is needed")
        params[name] = str(value)
    spec = kind + (":" + ",".join(f"{k}={v}" for k, v in params.items()) if params else "")
    return build_fault(kind, params, spec)


def build_fault(kind: str, params: dict[str, str], spec: str) -> FaultRule:
    where = f"fault {spec!r}"
    if kind not in KINDS:
        raise FaultSpecError(f"{where}: unknown kind {kind!r}; use one of: {', '.join(KINDS)}")
    allowed = SELECTORS + KIND_KEYS.get(kind, ())
    for name in params:
        if name not in allowed:
            raise FaultSpecError(f"{where}: unknown key {name!r}; {kind} takes: {', '.join(allowed)}")
    for name in REQUIRED.get(kind, ()):
        if name not in params:
            raise FaultSpecError(f"{where}: {kind} needs {name}=N")
    rule = FaultRule(kind)
    if "every" in params:
        rule.every = _integer(params["every"], where, "every", 1, 10**9)
    if "times" in params:
        rule.times = _integer(params["times"], where, "times", 1, 10**9)
    if "p" in params:
        try:
            p = float(params["p"])
        except ValueError:
            p = math.nan
        if not 0 < p <= 1:
            raise FaultSpecError(f"{where}: p must be a probability above 0 and at most 1")
        rule.p = p
    if "path" in params:
        noun = params["path"].strip("/").rsplit("/", 1)[-1]
        if noun not in NOUNS and noun not in MIAW_NOUNS:
            known = ", ".join((*NOUNS, *MIAW_NOUNS))
            raise FaultSpecError(f"{where}: unknown path {params['path']!r}; use a resource: {known}")
        rule.path = noun
    if "when" in params:
        if params["when"] not in ("before", "after"):
            raise FaultSpecError(f"{where}: when must be before or after")
        rule.when = params["when"]
    if "ms" in params:
        rule.ms = _integer(params["ms"], where, "ms", 0, MAX_DELAY_MS)
    if "code" in params:
        rule.code = _integer(params["code"], where, "code", 200, 599)
    if "after" in params:
        rule.after = _integer(params["after"], where, "after", 1, 10**9)
    rule.spec = spec.strip()
    return rule


def _integer(raw: str, where: str, name: str, low: int, high: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise FaultSpecError(f"{where}: {name} must be a whole number") from None
    if not low <= value <= high:
        raise FaultSpecError(f"{where}: {name} must be between {low} and {high}")
    return value


class Faults:
    """The rules in force; `pick` decides, per Chat API request, which one fires (if any)."""

    def __init__(self, seed: int | None = None) -> None:
        # Its own generator, so the faults that fire depend only on the seed and the requests seen.
        self._rng = random.Random(f"faults-{seed}") if seed is not None else random.Random()
        self._rules: list[FaultRule] = []
        self._next_id = 1

    def add(self, rule: FaultRule) -> FaultRule:
        rule.id = self._next_id
        self._next_id += 1
        self._rules.append(rule)
        return rule

    def rules(self) -> list[FaultRule]:
        return list(self._rules)

    def remove(self, rule_id: int) -> bool:
        before = len(self._rules)
        self._rules = [r for r in self._rules if r.id != rule_id]
        return len(self._rules) != before

    def clear(self) -> int:
        count, self._rules = len(self._rules), []
        return count

    def __bool__(self) -> bool:
        return bool(self._rules)

    def pick(self, prefix: str, noun: str, has_session: bool, kinds: Container[str] | None = None) -> FaultRule | None:
        """Count the request against every rule that applies (of `kinds`, the API's: all when None); return
        the first one that fires."""
        chosen: FaultRule | None = None
        for rule in self._rules:
            if kinds is not None and rule.kind not in kinds:
                continue
            if not rule.applies(prefix, noun, has_session):
                continue
            rule.seen += 1
            fires = rule.times is None or rule.fired < rule.times
            if rule.every is not None and rule.seen % rule.every:
                fires = False
            if rule.p is not None and self._rng.random() >= rule.p:  # drawn for every request: reproducible
                fires = False
            if fires and chosen is None:
                rule.fired += 1
                chosen = rule
        return chosen
