"""Pre-chat details and entities for ChasitorInit, from the command line and from `--prechat-file`.

The file is TOML or JSON with `details` (CustomDetail) and `entities` (Entity), named as the API names them
(liveagent-api.md §4). It is checked before anything is sent, with errors that name the line: entity names
are case-sensitive (`case` fails where `Case` works, KB 000229076) and every `entityFieldsMaps` label must
match a detail's label, the two mistakes that make pre-chat records silently not appear.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

from liveagent_cli.core.errors import ConfigError, UsageError

DETAIL_KEYS = {"label", "value", "displayToAgent", "transcriptFields", "entityMaps"}
ENTITY_KEYS = {
    "entityName",
    "saveToTranscript",
    "showOnCreate",
    "linkToEntityName",
    "linkToEntityField",
    "entityFieldsMaps",
}
FIELD_MAP_KEYS = {"fieldName", "label", "doFind", "isExactMatch", "doCreate"}
# standard objects people map pre-chat data to; a custom object (…__c) is taken as written
STANDARD_OBJECTS = ("Account", "Case", "Contact", "Lead", "LiveChatTranscript", "Opportunity", "User", "Individual")


def detail(
    label: str, value: str, *, display: bool = True, transcript_fields: list[str] | None = None
) -> dict[str, Any]:
    return {
        "label": label,
        "value": value,
        "displayToAgent": display,
        "transcriptFields": transcript_fields or [],
        "entityMaps": [],
    }


def parse_pairs(pairs: list[str], *, display: bool = True) -> list[dict[str, Any]]:
    """`Label=Value` pairs from the command line into CustomDetail objects."""
    out = []
    flag = "--prechat" if display else "--prechat-hidden"
    for pair in pairs:
        label, sep, value = pair.partition("=")
        if not sep or not label.strip():
            raise UsageError(f"{flag} {pair!r} is not Label=Value", hint=f'for example {flag} "Email=ada@example.com"')
        out.append(detail(label.strip(), value, display=display))
    return out


def apply_transcript_fields(details: list[dict[str, Any]], pairs: list[str]) -> None:
    """`--transcript-field Label=Field__c`: save that detail's value to a LiveChatTranscript field."""
    by_label = {d["label"]: d for d in details}
    for pair in pairs:
        label, sep, field_name = pair.partition("=")
        if not sep or not label.strip() or not field_name.strip():
            raise UsageError(f"--transcript-field {pair!r} is not Label=Field", hint="e.g. Email=Email__c")
        target = by_label.get(label.strip())
        if target is None:
            raise UsageError(f"--transcript-field names {label.strip()!r}, which no pre-chat detail has")
        if field_name.strip() not in target["transcriptFields"]:
            target["transcriptFields"].append(field_name.strip())


def load_file(path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(details, entities) from a TOML or JSON pre-chat file, checked."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read pre-chat file {path}: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"pre-chat file {path} is not UTF-8") from None
    data: Any
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    else:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    where = _Locator(path, text)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: must hold a table with `details` and `entities`")
    unknown = sorted(set(data) - {"details", "entities"})
    if unknown:
        raise ConfigError(
            f"{where.at(unknown[0])}: unknown key {unknown[0]!r}", hint="a pre-chat file holds `details` and `entities`"
        )
    details = [_detail(where, i, d) for i, d in enumerate(_list(where, data, "details"), 1)]
    entities = [_entity(where, i, e) for i, e in enumerate(_list(where, data, "entities"), 1)]
    check_entities(details, entities, source=str(path), where=where)
    return details, entities


def check_entities(
    details: list[dict[str, Any]], entities: list[dict[str, Any]], *, source: str, where: _Locator | None = None
) -> None:
    """Entity names spelt as Salesforce spells them; every field map's label is a detail's label."""
    labels = {d["label"] for d in details}
    for entity in entities:
        name = entity["entityName"]
        pos = where.at(name) if where else source
        for standard in STANDARD_OBJECTS:
            if name != standard and name.lower() == standard.lower():
                raise ConfigError(
                    f"{pos}: entityName {name!r} must be spelt {standard!r}",
                    hint="entity names are case-sensitive: a wrong case silently creates no record",
                )
        for fmap in entity.get("entityFieldsMaps", []):
            label = fmap.get("label")
            if label not in labels:
                near = [lab for lab in labels if isinstance(label, str) and lab.lower() == label.lower()]
                hint = (
                    f"did you mean {near[0]!r}? labels are case-sensitive"
                    if near
                    else "known labels: " + (", ".join(sorted(labels)) or "none")
                )
                raise ConfigError(
                    f"{where.at(str(label)) if where else source}: entityFieldsMaps label {label!r} of {name} "
                    "matches no pre-chat detail",
                    hint=hint,
                )


class _Locator:
    """Finds the line a value sits on, so errors name `file:line` (tomllib and json keep no positions)."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()

    def at(self, needle: str, key: str | None = None) -> str:
        """The line of `needle`; with `key`, the line of that key at or after it (the item's own key)."""
        quoted = re.compile(r"""["']""" + re.escape(needle) + r"""["']|\b""" + re.escape(needle) + r"\b")
        for number, line in enumerate(self.lines, 1):
            if quoted.search(line):
                if key is None:
                    return f"{self.path}:{number}"
                keyed = re.compile(r"""(^|[\s{,"'])""" + re.escape(key) + r"""["']?\s*[=:]""")
                for offset, later in enumerate(self.lines[number - 1 :]):
                    if keyed.search(later):
                        return f"{self.path}:{number + offset}"
                return f"{self.path}:{number}"
        return str(self.path)


def _list(where: _Locator, data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise ConfigError(f"{where.at(key)}: `{key}` must be a list (in TOML: [[{key}]] tables)")
    return value


def _detail(where: _Locator, index: int, item: Any) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise ConfigError(f"{where.path}: details #{index} is not a table")
    label = item.get("label")
    pos = where.at(label) if isinstance(label, str) and label else f"{where.path}: details #{index}"
    unknown = sorted(set(item) - DETAIL_KEYS)
    if unknown:
        raise ConfigError(
            f"{where.at(unknown[0])}: unknown key {unknown[0]!r} in a detail",
            hint="keys: " + ", ".join(sorted(DETAIL_KEYS)),
        )
    if not isinstance(label, str) or not label:
        raise ConfigError(f"{pos}: details #{index} needs a `label`")
    if not isinstance(item.get("value"), str):
        raise ConfigError(f"{where.at(label, 'value')}: detail {label!r} needs a string `value`")
    fields = item.get("transcriptFields", [])
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        raise ConfigError(f"{where.at(label, 'transcriptFields')}: detail {label!r}: `transcriptFields` must be a list")
    display = item.get("displayToAgent", True)
    if not isinstance(display, bool):
        raise ConfigError(
            f"{where.at(label, 'displayToAgent')}: detail {label!r}: `displayToAgent` must be true or false"
        )
    result = detail(label, item["value"], display=display, transcript_fields=list(fields))
    if "entityMaps" in item:
        result["entityMaps"] = item["entityMaps"]
    return result


def _entity(where: _Locator, index: int, item: Any) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise ConfigError(f"{where.path}: entities #{index} is not a table")
    name = item.get("entityName")
    pos = where.at(name) if isinstance(name, str) and name else f"{where.path}: entities #{index}"
    unknown = sorted(set(item) - ENTITY_KEYS)
    if unknown:
        hint = "keys: " + ", ".join(sorted(ENTITY_KEYS))
        if "entityFieldMaps" in unknown:
            hint = "the API spells it entityFieldsMaps (with an s)"
        raise ConfigError(f"{where.at(unknown[0])}: unknown key {unknown[0]!r} in an entity", hint=hint)
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{pos}: entities #{index} needs an `entityName` (case-sensitive, e.g. Contact, Case)")
    maps = item.get("entityFieldsMaps", [])
    if not isinstance(maps, list):
        raise ConfigError(f"{pos}: entity {name}: `entityFieldsMaps` must be a list")
    for fmap in maps:
        if (
            not isinstance(fmap, dict)
            or not isinstance(fmap.get("fieldName"), str)
            or not isinstance(fmap.get("label"), str)
        ):
            raise ConfigError(f"{pos}: entity {name}: each entityFieldsMaps entry needs `fieldName` and `label`")
        extra = sorted(set(fmap) - FIELD_MAP_KEYS)
        if extra:
            raise ConfigError(
                f"{where.at(extra[0])}: unknown key {extra[0]!r} in {name}'s entityFieldsMaps",
                hint="keys: " + ", ".join(sorted(FIELD_MAP_KEYS)),
            )
    return {"entityFieldsMaps": [], **item}
