"""Pre-chat files are checked before anything is sent, with errors that name the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from liveagent_cli.core.errors import ConfigError, UsageError
from liveagent_cli.core.prechat import apply_transcript_fields, load_file, parse_pairs

GOOD_TOML = """\
[[details]]
label = "Email"
value = "ada@example.com"
transcriptFields = ["Email__c"]

[[details]]
label = "Order"
value = "A-1"
displayToAgent = false

[[entities]]
entityName = "Contact"
showOnCreate = true
entityFieldsMaps = [{ fieldName = "Email", label = "Email", doFind = true, isExactMatch = true, doCreate = true }]
"""


def test_a_sound_toml_file(tmp_path: Path) -> None:
    path = tmp_path / "prechat.toml"
    path.write_text(GOOD_TOML)
    details, entities = load_file(path)
    assert details[0] == {
        "label": "Email",
        "value": "ada@example.com",
        "displayToAgent": True,
        "transcriptFields": ["Email__c"],
        "entityMaps": [],
    }
    assert details[1]["displayToAgent"] is False
    assert entities[0]["entityName"] == "Contact" and entities[0]["entityFieldsMaps"][0]["label"] == "Email"


def test_json_works_too(tmp_path: Path) -> None:
    path = tmp_path / "prechat.json"
    path.write_text('{"details": [{"label": "Name", "value": "Ada"}], "entities": []}')
    assert load_file(path)[0][0]["label"] == "Name"


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        (GOOD_TOML.replace('entityName = "Contact"', 'entityName = "contact"'), 12, "must be spelt 'Contact'"),
        (GOOD_TOML.replace('label = "Email", doFind', 'label = "E-mail", doFind'), 14, "matches no pre-chat detail"),
        (GOOD_TOML.replace("entityFieldsMaps", "entityFieldMaps"), 14, "unknown key 'entityFieldMaps'"),
        (GOOD_TOML.replace("displayToAgent = false", 'displayToAgent = "no"'), 9, "must be true or false"),
        (GOOD_TOML.replace('value = "A-1"', "value = 1"), 8, "needs a string `value`"),
    ],
)
def test_errors_name_the_line(tmp_path: Path, text: str, line: int, needle: str) -> None:
    path = tmp_path / "prechat.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_file(path)
    assert info.value.message.startswith(f"{path}:{line}:"), info.value.message
    assert needle in info.value.message


def test_label_case_mismatch_gets_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "prechat.toml"
    path.write_text(GOOD_TOML.replace('label = "Email", doFind', 'label = "email", doFind'))
    with pytest.raises(ConfigError) as info:
        load_file(path)
    assert "did you mean 'Email'" in (info.value.hint or "")


def test_invalid_json_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "prechat.json"
    path.write_text('{\n  "details": [\n    {"label": "x",}\n  ]\n}')
    with pytest.raises(ConfigError, match=r"prechat.json:3: not valid JSON"):
        load_file(path)


def test_pairs_hidden_and_transcript_fields() -> None:
    details = parse_pairs(["Email=ada@example.com"]) + parse_pairs(["Token=abc"], display=False)
    apply_transcript_fields(details, ["Email=Email__c"])
    assert details[0]["transcriptFields"] == ["Email__c"] and details[1]["displayToAgent"] is False
    with pytest.raises(UsageError):
        parse_pairs(["no-equals-sign"])
    with pytest.raises(UsageError, match="no pre-chat detail"):
        apply_transcript_fields(details, ["Phone=Phone__c"])
