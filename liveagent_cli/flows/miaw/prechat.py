"""Pre-chat values against the deployment's pre-chat form (miaw-api.md §2.2, §5), before anything is created.

The token response's `context.configuration.embeddedServiceConfig.forms` holds the form: fields by `name`
(`_firstName`, `Email__c`...), each with `required`, `maxLength`, `isHidden`; `hiddenFormFields` are set by
the client, not shown. The values travel as `routingAttributes` keyed by those names. `--visitor-name`
fills the first-name field when the form has one. A name the form does not have, a required field left
out, or a value too long is one line naming the field (exit 3): the server would otherwise drop it
silently or route without it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from liveagent_cli.core.errors import ConfigError

FIRST_NAME = "_firstName"


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    required: bool
    max_length: int | None
    hidden: bool


def form_of(configuration: dict[str, Any]) -> tuple[str, list[FormField]]:
    """(displayContext, fields) of the PreChat form of a deployment's configuration; ("", []) when it has none."""
    forms = configuration.get("forms")
    for form in forms if isinstance(forms, list) else []:
        if not isinstance(form, dict) or form.get("formType") != "PreChat":
            continue
        fields = [_field(f, hidden=False) for f in form.get("formFields") or [] if isinstance(f, dict)]
        fields += [_field(f, hidden=True) for f in form.get("hiddenFormFields") or [] if isinstance(f, dict)]
        context = form.get("displayContext")
        return (context if isinstance(context, str) else "Conversation"), [f for f in fields if f.name]
    return "", []


def _field(raw: dict[str, Any], *, hidden: bool) -> FormField:
    name = raw.get("name")
    label = raw.get("label") or raw.get("labelText")
    length = raw.get("maxLength")
    return FormField(
        name if isinstance(name, str) else "",
        label if isinstance(label, str) else (name if isinstance(name, str) else ""),
        raw.get("required") is True,
        length if isinstance(length, int) and not isinstance(length, bool) and length > 0 else None,
        hidden or raw.get("isHidden") is True,
    )


def encode_form(configuration: dict[str, Any]) -> str:
    """The form as the state file keeps it (JSON), so `init` checks against what the token response said."""
    context, fields = form_of(configuration)
    return json.dumps({"displayContext": context, "fields": [f.__dict__ for f in fields]}, separators=(",", ":"))


def decode_form(stored: str) -> tuple[str, list[FormField]]:
    if not stored:
        return "", []
    data = json.loads(stored)
    return str(data.get("displayContext") or ""), [FormField(**f) for f in data.get("fields") or []]


def routing_attributes(stored_form: str, values: dict[str, str], visitor_name: str | None) -> dict[str, str]:
    """The routingAttributes for `values` (field name -> value) and the visitor's name, checked against the
    form; a ConfigError naming the first field that does not fit."""
    _, fields = decode_form(stored_form)
    by_name = {f.name: f for f in fields}
    chosen = dict(values)
    if visitor_name and FIRST_NAME in by_name and FIRST_NAME not in chosen:
        chosen[FIRST_NAME] = visitor_name
    for name, value in chosen.items():
        field = by_name.get(name)
        if field is None:
            known = ", ".join(f.name for f in fields) or "none"
            raise ConfigError(
                f"pre-chat field {name!r} is not in the deployment's pre-chat form",
                hint=f"its fields: {known} (`liveagent visitor-settings` shows the form)",
            )
        if field.max_length is not None and len(value) > field.max_length:
            raise ConfigError(
                f"pre-chat field {name!r} takes at most {field.max_length} characters, not {len(value)}",
                hint="shorten the value",
            )
    for field in fields:
        if field.required and not field.hidden and not chosen.get(field.name, "").strip():
            raise ConfigError(
                f"pre-chat field {field.name!r} ({field.label}) is required by the deployment's pre-chat form",
                hint=f"pass --prechat {field.name}=VALUE"
                + (" (or --visitor-name NAME)" if field.name == FIRST_NAME else ""),
            )
    return chosen


def read_values_file(path: Path) -> dict[str, str]:
    """`--prechat-file` for Enhanced Chat: TOML or JSON, a table of field name -> value (or the same under
    `routingAttributes`); values are strings, numbers or booleans, sent as text."""
    import tomllib

    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read pre-chat file {path}: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(
            f"pre-chat file {path} is not valid {'JSON' if path.suffix == '.json' else 'TOML'}: {exc}"
        ) from None
    if isinstance(data, dict) and isinstance(data.get("routingAttributes"), dict):
        data = data["routingAttributes"]
    if not isinstance(data, dict):
        raise ConfigError(f"pre-chat file {path} must hold a table of field names and values")
    values: dict[str, str] = {}
    for name, value in data.items():
        if isinstance(value, bool):
            values[name] = "true" if value else "false"
        elif isinstance(value, (str, int, float)):
            values[name] = str(value)
        else:
            raise ConfigError(
                f"pre-chat file {path}: {name} must be a text, number or true/false, not {type(value).__name__}",
                hint="Enhanced Chat takes one value per pre-chat field, keyed by the field's name",
            )
    return values
