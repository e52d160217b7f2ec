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
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            f"{path}:{line}: not UTF-8 text (byte 0x{raw[exc.start]:02x})", hint="save the file as UTF-8"
        ) from None
    data: Any
    is_json = path.suffix.lower() == ".json"
    if is_json:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    else:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    where = _Locator(path, text, is_json=is_json)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: must hold a table with `details` and `entities`")
    unknown = sorted(set(data) - {"details", "entities"})
    if unknown:
        raise ConfigError(
            f"{where.top_key(unknown[0])}: unknown key {unknown[0]!r}",
            hint="a pre-chat file holds `details` and `entities`",
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
    for index, entity in enumerate(entities, 1):
        name = entity["entityName"]
        for standard in STANDARD_OBJECTS:
            if name != standard and name.lower() == standard.lower():
                raise ConfigError(
                    f"{where.key('entities', index, 'entityName') if where else source}: entityName {name!r} must be "
                    f"spelt {standard!r}",
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
                pos = where.value("entities", index, str(label), "entityFieldsMaps") if where else source
                raise ConfigError(
                    f"{pos}: entityFieldsMaps label {label!r} of {name} matches no pre-chat detail", hint=hint
                )


class _Locator:
    """The line an item of `details` or `entities`, or a key in one, is on, so errors name `file:line`.

    tomllib and json keep no positions, so the text is scanned, one item at a time: the i-th item starts at
    the i-th `[[details]]` header (TOML) or at the i-th `{` of the `details` array (JSON, TOML inline arrays),
    and a key or value is looked for in that item's lines only. A label that also sits in a comment or in
    another item is therefore never taken for this one.
    """

    def __init__(self, path: Path, text: str, *, is_json: bool) -> None:
        self.path = path
        self.text = text
        self.lines = text.splitlines()
        self.is_json = is_json
        self._spans: dict[str, list[tuple[int, int]]] = {}

    def item(self, section: str, index: int) -> str:
        """`file:line` of the first line of item `index` (from 1) of `section`."""
        return self._at(self._span(section, index)[0])

    def key(self, section: str, index: int, key: str) -> str:
        """`file:line` of `key` inside that item, else of the item."""
        first, last = self._span(section, index)
        pattern = re.compile(r"""(^|[\s{,])["']?""" + re.escape(key) + r"""["']?\s*[=:]""")
        return self._at(self._find(pattern, first, last) or first)

    def value(self, section: str, index: int, needle: str, key: str) -> str:
        """`file:line` of the quoted string `needle` inside that item, else of `key` in it."""
        first, last = self._span(section, index)
        found = self._find(re.compile(r"""["']""" + re.escape(needle) + r"""["']"""), first, last)
        return self._at(found) if found else self.key(section, index, key)

    def top_key(self, key: str) -> str:
        """`file:line` of a key of the file's top level, else the file."""
        if self.is_json:
            pattern = re.compile(r'"' + re.escape(key) + r'"\s*:')
        else:
            pattern = re.compile(r"""^\s*(\[+\s*)?["']?""" + re.escape(key) + r"""["']?\s*[=.\]]""")
        found = self._find(pattern, 1, len(self.lines))
        return self._at(found) if found else str(self.path)

    # -- plumbing --------------------------------------------------------------------------------------
    def _at(self, line: int) -> str:
        return f"{self.path}:{line}" if line else str(self.path)

    def _find(self, pattern: re.Pattern[str], first: int, last: int) -> int:
        """The first line in first..last (from 1) matching `pattern` outside a comment, or 0."""
        for number in range(max(first, 1), min(last, len(self.lines)) + 1):
            line = self.lines[number - 1]
            if not self.is_json and line.lstrip().startswith("#"):
                continue
            if pattern.search(line):
                return number
        return 0

    def _span(self, section: str, index: int) -> tuple[int, int]:
        """(first, last) line of item `index` of `section`; the whole file when it cannot be told."""
        if section not in self._spans:
            self._spans[section] = self._table_headers(section) or self._array_items(section)
        spans = self._spans[section]
        return spans[index - 1] if 0 < index <= len(spans) else (0, len(self.lines))

    def _table_headers(self, section: str) -> list[tuple[int, int]]:
        """TOML `[[section]]` tables: each runs to the next header that is not one of its own sub-tables."""
        if self.is_json:
            return []
        mine = re.compile(r"""^\s*\[\[\s*["']?""" + re.escape(section) + r"""["']?\s*\]\]""")
        own = re.compile(r"""^\s*\[\[?\s*["']?""" + re.escape(section) + r"""["']?\s*\.""")
        header = re.compile(r"^\s*\[")
        starts = [n for n, line in enumerate(self.lines, 1) if mine.match(line)]
        spans = []
        for start in starts:
            end = start
            while end < len(self.lines):
                following = self.lines[end]
                if header.match(following) and not own.match(following):
                    break
                end += 1
            spans.append((start, end))
        return spans

    def _array_items(self, section: str) -> list[tuple[int, int]]:
        """The tables of `section = [{...}, ...]` (TOML) or `"section": [{...}, ...]` (JSON), by scanning the
        array's characters with its strings (and TOML comments) skipped."""
        if self.is_json:
            opening = re.compile(r'"' + re.escape(section) + r'"\s*:\s*\[')
        else:
            opening = re.compile(r"""(?m)^\s*["']?""" + re.escape(section) + r"""["']?\s*=\s*\[""")
        match = opening.search(self.text)
        if not match:
            return []
        text, pos, depth, start = self.text, match.end(), 0, 0
        spans = []
        while pos < len(text):
            char = text[pos]
            if char in "\"'":
                pos = _after_string(text, pos)
                continue
            if char == "#" and not self.is_json:
                newline = text.find("\n", pos)
                pos = len(text) if newline < 0 else newline
                continue
            if char in "[{":
                if depth == 0 and char == "{":
                    start = pos
                depth += 1
            elif char in "]}":
                if depth == 0:
                    break  # the array's own `]`
                depth -= 1
                if depth == 0 and char == "}":
                    spans.append((text.count("\n", 0, start) + 1, text.count("\n", 0, pos) + 1))
            pos += 1
        return spans


def _after_string(text: str, pos: int) -> int:
    """The index just past the TOML or JSON string that starts at `pos` (basic, literal or multi-line)."""
    quote = text[pos]
    if text.startswith(quote * 3, pos):
        end = text.find(quote * 3, pos + 3)
        return len(text) if end < 0 else end + 3
    pos += 1
    while pos < len(text) and text[pos] not in (quote, "\n"):
        pos += 2 if quote == '"' and text[pos] == "\\" else 1
    return pos + 1


def _list(where: _Locator, data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise ConfigError(f"{where.top_key(key)}: `{key}` must be a list (in TOML: [[{key}]] tables)")
    return value


def _detail(where: _Locator, index: int, item: Any) -> dict[str, Any]:
    pos = where.item("details", index)
    if not isinstance(item, dict):
        raise ConfigError(f"{pos}: detail #{index} is not a table")
    unknown = sorted(set(item) - DETAIL_KEYS)
    if unknown:
        raise ConfigError(
            f"{where.key('details', index, unknown[0])}: unknown key {unknown[0]!r} in detail #{index}",
            hint="keys: " + ", ".join(sorted(DETAIL_KEYS)),
        )
    label = item.get("label")
    if not isinstance(label, str) or not label:
        raise ConfigError(f"{where.key('details', index, 'label')}: detail #{index} needs a label")
    if not isinstance(item.get("value"), str):
        raise ConfigError(f"{where.key('details', index, 'value')}: detail {label!r} needs a string `value`")
    fields = item.get("transcriptFields", [])
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        raise ConfigError(
            f"{where.key('details', index, 'transcriptFields')}: detail {label!r}: `transcriptFields` must be a list"
        )
    display = item.get("displayToAgent", True)
    if not isinstance(display, bool):
        raise ConfigError(
            f"{where.key('details', index, 'displayToAgent')}: detail {label!r}: `displayToAgent` must be true or false"
        )
    result = detail(label, item["value"], display=display, transcript_fields=list(fields))
    if "entityMaps" in item:
        result["entityMaps"] = item["entityMaps"]
    return result


def _entity(where: _Locator, index: int, item: Any) -> dict[str, Any]:
    pos = where.item("entities", index)
    if not isinstance(item, dict):
        raise ConfigError(f"{pos}: entity #{index} is not a table")
    unknown = sorted(set(item) - ENTITY_KEYS)
    if unknown:
        hint = "keys: " + ", ".join(sorted(ENTITY_KEYS))
        if "entityFieldMaps" in unknown:
            hint = "the API spells it entityFieldsMaps (with an s)"
        raise ConfigError(
            f"{where.key('entities', index, unknown[0])}: unknown key {unknown[0]!r} in entity #{index}", hint=hint
        )
    name = item.get("entityName")
    if not isinstance(name, str) or not name:
        raise ConfigError(
            f"{where.key('entities', index, 'entityName')}: entity #{index} needs an `entityName` "
            "(case-sensitive, e.g. Contact, Case)"
        )
    maps = item.get("entityFieldsMaps", [])
    at_maps = where.key("entities", index, "entityFieldsMaps")
    if not isinstance(maps, list):
        raise ConfigError(f"{at_maps}: entity {name}: `entityFieldsMaps` must be a list")
    for fmap in maps:
        if (
            not isinstance(fmap, dict)
            or not isinstance(fmap.get("fieldName"), str)
            or not isinstance(fmap.get("label"), str)
        ):
            raise ConfigError(f"{at_maps}: entity {name}: each entityFieldsMaps entry needs `fieldName` and `label`")
        extra = sorted(set(fmap) - FIELD_MAP_KEYS)
        if extra:
            raise ConfigError(
                f"{where.key('entities', index, extra[0])}: unknown key {extra[0]!r} in {name}'s entityFieldsMaps",
                hint="keys: " + ", ".join(sorted(FIELD_MAP_KEYS)),
            )
    return {"entityFieldsMaps": [], **item}
