"""Pre-chat files are checked before anything is sent, with errors that name the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from liveagent_cli.core.errors import ConfigError, UsageError
from liveagent_cli.core.prechat import apply_transcript_fields, load_file, parse_pairs
from tests.conftest import Cli

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


def test_a_detail_without_a_label_is_said_once_with_its_line(tmp_path: Path) -> None:
    """QA2-39: `bad9.toml: details #1: details #1 needs a \\`label\\`` (said twice, no line number)."""
    path = tmp_path / "bad9.toml"
    path.write_text('[[details]]\nvalue = "a"\n')
    with pytest.raises(ConfigError) as info:
        load_file(path)
    assert info.value.message == f"{path}:1: detail #1 needs a label"


def test_a_value_that_also_sits_in_a_comment_or_another_item_is_not_taken_for_it(tmp_path: Path) -> None:
    """Review 2.3: `_Locator.at` took the first line holding the text, so a comment moved the error's line."""
    path = tmp_path / "prechat.toml"
    path.write_text(
        '# Order comes second; value = "x" below\n'  # 1
        "[[details]]\n"  # 2
        'label = "Email"\n'  # 3
        'value = "Order"\n'  # 4
        "\n"  # 5
        "[[details]]\n"  # 6
        'label = "Order"\n'  # 7
        "value = 1\n"  # 8
    )
    with pytest.raises(ConfigError, match=rf"^{path}:8: detail 'Order' needs a string `value`$"):
        load_file(path)


def test_json_and_inline_arrays_name_the_item_line(tmp_path: Path) -> None:
    path = tmp_path / "prechat.json"
    path.write_text(
        '{\n  "details": [\n    {"label": "A", "value": "x"},\n'  # lines 1-3
        '    {"label": "A}", "value": "y"},\n'  # 4: a brace inside a string is no item's end
        '    {\n      "value": "z"\n    }\n  ]\n}\n'  # 5-9
    )
    with pytest.raises(ConfigError, match=rf"^{path}:5: detail #3 needs a label$"):
        load_file(path)
    inline = tmp_path / "inline.toml"
    inline.write_text('details = [\n  { label = "A", value = "x" },  # {\n  { label = "B", value = 2 },\n]\n')
    with pytest.raises(ConfigError, match=rf"^{inline}:3: detail 'B' needs a string `value`$"):
        load_file(inline)


def test_a_file_that_is_not_utf8_names_the_line_and_byte(tmp_path: Path) -> None:
    """QA2-39: doctor's row read `pre-chat file  pre-chat file bad6.toml is not UTF-8`."""
    path = tmp_path / "bad6.toml"
    path.write_bytes(b'[[details]]\nlabel = "\xff\xfe"\n')
    with pytest.raises(ConfigError) as info:
        load_file(path)
    assert info.value.message == f"{path}:2: not UTF-8 text (byte 0xff)"
    assert info.value.hint == "save the file as UTF-8"


def test_doctor_shows_a_bad_prechat_file_once_in_file_line_form(cli: Cli, tmp_path: Path) -> None:
    """QA2-39, through doctor: the row repeated "pre-chat file" and the label error had no line."""
    bad9, bad6 = tmp_path / "bad9.toml", tmp_path / "bad6.toml"
    bad9.write_text('[[details]]\nvalue = "a"\n')
    bad6.write_bytes(b"\xff\xfe")
    for path, says in ((bad9, f"{bad9}:1: detail #1 needs a label"), (bad6, f"{bad6}:1: not UTF-8 text (byte 0xff)")):
        run = cli("doctor", "--prechat-file", str(path))
        assert run.code == 3
        rows = [line for line in run.stdout.splitlines() if "pre-chat file" in line]
        assert rows == [f"✗ pre-chat file  {says}"], rows
        assert (run.stdout + run.stderr).count(says) == 1
