"""Pre-chat details and entities for ChasitorInit, from `--prechat Label=Value` and `--prechat-file`.

The file is TOML or JSON with `details` (CustomDetail) and `entities` (Entity), named as the API names them
(liveagent-api.md §4). It is checked before anything is sent.
"""

from __future__ import annotations

import json
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


def parse_pairs(pairs: list[str]) -> list[dict[str, Any]]:
    """`Label=Value` pairs from the command line into CustomDetail objects shown to the agent."""
    out = []
    for pair in pairs:
        label, sep, value = pair.partition("=")
        if not sep or not label.strip():
            raise UsageError(
                f"--prechat {pair!r} is not Label=Value", hint='for example --prechat "Email=ada@example.com"'
            )
        out.append(detail(label.strip(), value))
    return out


def load_file(path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(details, entities) from a TOML or JSON pre-chat file."""
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
        except ValueError as exc:
            raise ConfigError(f"pre-chat file {path} is not valid JSON: {exc}") from None
    else:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"pre-chat file {path} is not valid TOML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"pre-chat file {path} must hold a table with `details` and `entities`")
    unknown = sorted(set(data) - {"details", "entities"})
    if unknown:
        raise ConfigError(
            f"pre-chat file {path} has unknown keys: {', '.join(unknown)}",
            hint="only `details` and `entities` are read",
        )
    details = [_detail(path, i, d) for i, d in enumerate(_list(path, data, "details"), 1)]
    entities = [_entity(path, i, e) for i, e in enumerate(_list(path, data, "entities"), 1)]
    return details, entities


def _list(path: Path, data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise ConfigError(f"pre-chat file {path}: `{key}` must be a list")
    return value


def _detail(path: Path, index: int, item: Any) -> dict[str, Any]:
    where = f"pre-chat file {path}: details #{index}"
    if not isinstance(item, dict):
        raise ConfigError(f"{where} is not a table")
    unknown = sorted(set(item) - DETAIL_KEYS)
    if unknown:
        raise ConfigError(
            f"{where} has unknown keys: {', '.join(unknown)}", hint="keys: " + ", ".join(sorted(DETAIL_KEYS))
        )
    if not isinstance(item.get("label"), str) or not item["label"]:
        raise ConfigError(f"{where} needs a `label`")
    if not isinstance(item.get("value"), str):
        raise ConfigError(f"{where} ({item['label']}) needs a string `value`")
    fields = item.get("transcriptFields", [])
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        raise ConfigError(f"{where} ({item['label']}): `transcriptFields` must be a list of field names")
    result = detail(
        item["label"], item["value"], display=bool(item.get("displayToAgent", True)), transcript_fields=fields
    )
    if "entityMaps" in item:
        result["entityMaps"] = item["entityMaps"]
    return result


def _entity(path: Path, index: int, item: Any) -> dict[str, Any]:
    where = f"pre-chat file {path}: entities #{index}"
    if not isinstance(item, dict):
        raise ConfigError(f"{where} is not a table")
    unknown = sorted(set(item) - ENTITY_KEYS)
    if unknown:
        raise ConfigError(
            f"{where} has unknown keys: {', '.join(unknown)}",
            hint="keys: " + ", ".join(sorted(ENTITY_KEYS)) + " (note the s in entityFieldsMaps)",
        )
    if not isinstance(item.get("entityName"), str) or not item["entityName"]:
        raise ConfigError(f"{where} needs an `entityName` (case-sensitive, e.g. Contact, Case)")
    return {"entityFieldsMaps": [], **item}
