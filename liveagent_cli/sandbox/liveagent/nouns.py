"""The bodies of the visitor's Chasitor POSTs: parsed and checked into `VisitorEvent`s, independent of HTTP.

One table names every noun that counts as a visitor event (so MultiNoun can carry it), and how its body is
read; `NOUN_KINDS` maps each Live Agent noun to the API-neutral event kind agents see (model/agent_port.py).
Unknown fields are ignored; a field of the wrong type is a 400 that names it. The `text` of an event is
what a script's `match` is tried against (docs/sandbox.md lists it per noun).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from liveagent_cli.sandbox.jsonbody import JSONBodyError, parse_json
from liveagent_cli.sandbox.model.agent_port import VisitorEvent
from liveagent_cli.sandbox.model.refusals import BadRequest, string_field

# Live Agent noun -> the event kind an agent sees. FileUpload and Breadcrumb are not Chasitor POSTs (the
# upload servlet and Visitor/Breadcrumb) but are recorded on the chat under these names.
NOUN_KINDS: dict[str, str] = {
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
    "ChatEnd": "end",
}
KIND_NOUNS: dict[str, str] = {kind: noun for noun, kind in NOUN_KINDS.items()}


def noun_of(event: VisitorEvent) -> str:
    """The Live Agent noun an event is recorded under on the chat."""
    return KIND_NOUNS[event.kind]


def _event(noun: str, data: dict[str, Any], text: str) -> VisitorEvent:
    return VisitorEvent(NOUN_KINDS[noun], data, text)


def end_reason(body: dict[str, Any]) -> str:
    """ChatEnd's reason in the shapes clients send: {reason}, {type, reason}, {ChatEndReason: {reason}}."""
    reason = body.get("reason")
    nested = body.get("ChatEndReason")
    if reason is None and isinstance(nested, dict):
        reason = nested.get("reason")
    return reason if isinstance(reason, str) and reason else "client"


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _chat_message(body: dict[str, Any]) -> VisitorEvent:
    text = string_field(body, "text", "ChatMessage")
    return _event("ChatMessage", {"text": text}, text)


def _typing(noun: str) -> Callable[[dict[str, Any]], VisitorEvent]:
    def parse(body: dict[str, Any]) -> VisitorEvent:
        return _event(noun, {}, "")

    return parse


def _sneak_peek(body: dict[str, Any]) -> VisitorEvent:
    text = string_field(body, "text", "ChasitorSneakPeek")
    position = body.get("position", 0)
    if not _int(position):
        raise BadRequest("ChasitorSneakPeek needs an integer `position`")
    return _event("ChasitorSneakPeek", {"position": position, "text": text}, text)


def _custom_event(body: dict[str, Any]) -> VisitorEvent:
    type_ = string_field(body, "type", "CustomEvent", non_empty=True)
    data = string_field(body, "data", "CustomEvent", default="")
    return _event("CustomEvent", {"type": type_, "data": data}, f"{type_}:{data}")


def _idle_warning(body: dict[str, Any]) -> VisitorEvent:
    value = body.get("idleTimeoutWarningEvent")
    if value not in ("triggered", "cleared"):
        raise BadRequest('ChasitorIdleTimeoutWarningEvent needs `idleTimeoutWarningEvent`: "triggered" or "cleared"')
    return _event("ChasitorIdleTimeoutWarningEvent", {"idleTimeoutWarningEvent": value}, str(value))


def _sensitive_data(body: dict[str, Any]) -> VisitorEvent:
    rules = body.get("rules")
    if not isinstance(rules, list) or not all(isinstance(r, dict) for r in rules):
        raise BadRequest("SensitiveDataRuleTriggered needs `rules`, an array of {id, name} objects")
    names = ",".join(str(r.get("name", "")) for r in rules)
    return _event("SensitiveDataRuleTriggered", {"rules": rules}, names)


def _rich_message(body: dict[str, Any]) -> VisitorEvent:
    actions = body.get("actions")
    if not isinstance(actions, list) or not actions:
        raise BadRequest("RichMessage needs `actions`, a non-empty array of {type, index} objects")
    parsed = []
    for i, action in enumerate(actions):
        if not isinstance(action, dict) or not isinstance(action.get("type"), str) or not _int(action.get("index")):
            raise BadRequest(f"RichMessage actions[{i}] needs a string `type` and an integer `index`")
        item = {"type": action["type"], "index": action["index"]}
        if "dialogId" in action:
            item["dialogId"] = action["dialogId"]
        parsed.append(item)
    return _event("RichMessage", {"actions": parsed}, "")


def _chat_end(body: dict[str, Any]) -> VisitorEvent:
    reason = end_reason(body)
    return _event("ChatEnd", {"reason": reason}, reason)


# Chasitor nouns that are visitor events (ChasitorInit and ChasitorResyncState are handled on their own).
EVENT_NOUNS: dict[str, Callable[[dict[str, Any]], VisitorEvent]] = {
    "ChatMessage": _chat_message,
    "ChasitorTyping": _typing("ChasitorTyping"),
    "ChasitorNotTyping": _typing("ChasitorNotTyping"),
    "ChasitorSneakPeek": _sneak_peek,
    "CustomEvent": _custom_event,
    "ChasitorIdleTimeoutWarningEvent": _idle_warning,
    "SensitiveDataRuleTriggered": _sensitive_data,
    "RichMessage": _rich_message,
}
# What a MultiNoun may carry: the events, and ChatEnd (the guide's own example ends the chat in one).
MULTI_NOUNS = (*EVENT_NOUNS, "ChatEnd")


def parse_event(noun: str, body: dict[str, Any]) -> VisitorEvent:
    if noun == "ChatEnd":
        return _chat_end(body)
    return EVENT_NOUNS[noun](body)


def parse_multi_noun(body: dict[str, Any]) -> list[VisitorEvent]:
    """`{nouns: [{prefix, noun, object|data}]}`: every item checked before any is processed.

    The guide's example puts the body in `object`; its data-type table says `data` (a string): both are
    read, `data` as an object or as a JSON string holding one.
    """
    nouns = body.get("nouns")
    if not isinstance(nouns, list) or not nouns:
        raise BadRequest("MultiNoun needs `nouns`, a non-empty array of {prefix, noun, object} items")
    events = []
    for i, item in enumerate(nouns):
        if not isinstance(item, dict):
            raise BadRequest(f"MultiNoun nouns[{i}] must be an object")
        prefix, noun = item.get("prefix", "Chasitor"), item.get("noun")
        if prefix != "Chasitor" or noun not in MULTI_NOUNS:
            raise BadRequest(
                f"MultiNoun nouns[{i}]: {prefix}/{noun} cannot be batched; "
                f"use Chasitor/ with one of: {', '.join(MULTI_NOUNS)}"
            )
        payload = item.get("object", item.get("data", {}))
        if isinstance(payload, str):
            try:
                payload = parse_json(payload, required=False, what=f"MultiNoun nouns[{i}] `data`")
            except JSONBodyError as exc:
                raise BadRequest(str(exc)) from None
        if payload is None:
            payload = {}
        if not isinstance(payload, dict):
            raise BadRequest(f"MultiNoun nouns[{i}]: the body of {noun} must be an object")
        try:
            events.append(parse_event(str(noun), payload))
        except BadRequest as exc:
            raise BadRequest(f"MultiNoun nouns[{i}]: {exc.message}") from None
    return events
