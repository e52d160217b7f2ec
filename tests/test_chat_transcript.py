"""`chat --transcript FILE`: what it records, how, and when it touches the file (QA2-57, review D10)."""

from __future__ import annotations

import json
from pathlib import Path

from liveagent_cli.sandbox import Sandbox
from tests.conftest import Cli


def _entries(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_markdown_transcript_is_escaped(cli: Cli, tmp_path: Path) -> None:
    md = tmp_path / "t.md"
    run = cli("chat", "--visitor-name", "Ada", "--transcript", str(md), input="x | y **b** <i>\n# not a heading\n")
    assert run.code == 0, run.stderr
    text = md.read_text()
    assert "**You:** x \\| y \\*\\*b\\*\\* \\<i\\>" in text
    assert "**Sandbox Agent:** x \\| y \\*\\*b\\*\\* \\<i\\>" in text
    assert "**You:** \\# not a heading" in text
    assert sum("chat requested" in line for line in text.splitlines()) == 1, "the chat request is noted once"


def test_markdown_transcript_makes_control_characters_visible(cli: Cli, sandbox: Sandbox, tmp_path: Path) -> None:
    md = tmp_path / "t.md"
    run = cli("chat", "--transcript", str(md), input="\x1b[2Jbell\x07\n")
    assert run.code == 0, run.stderr
    text = md.read_text()
    assert "\x1b" not in text and "\x07" not in text
    assert "\\\\x1b\\[2Jbell\\\\x07" in text, "shown as \\x1b[2Jbell\\x07 once rendered"


def test_json_lines_say_who_each_entry_is_from(cli: Cli, tmp_path: Path) -> None:
    jsonl = tmp_path / "t.jsonl"
    run = cli("chat", "--transcript", str(jsonl), input="hello\n")
    assert run.code == 0, run.stderr
    entries = _entries(jsonl)
    assert {e["from"] for e in entries} == {"visitor", "agent", "pod", "liveagent"}
    assert [e["text"] for e in entries if e["from"] == "visitor"] == ["hello"]
    assert [e["text"] for e in entries if e["from"] == "liveagent"] == ["chat ended"], "notes are the tool's own"
    assert [e["type"] for e in entries if e["from"] == "pod"][:2] == ["ChatRequestSuccess", "ChatEstablished"]
    said = [e["from"] for e in entries if e["type"] == "ChatMessage"]
    assert said == ["visitor", "agent"], "the answer is written after its question"


def test_a_line_the_pod_refused_is_not_recorded_as_said(cli: Cli, sandbox: Sandbox, tmp_path: Path) -> None:
    jsonl = tmp_path / "t.jsonl"
    big = "x" * (1 << 20)  # over the sandbox's 1 MiB body limit: 413
    run = cli("chat", "--transcript", str(jsonl), input=f"fine\n{big}\n")
    assert run.code == 5, run.stderr
    assert "You: fine" in run.stdout.splitlines()
    assert "You: xxxx" not in run.stdout, "the refused line is not shown as said"
    entries = _entries(jsonl)
    assert [e["text"] for e in entries if e["from"] == "visitor"] == ["fine"]
    notes = [e["text"] for e in entries if e["from"] == "liveagent"]
    assert any(note.startswith("not sent: ") and "413" in note for note in notes), notes


def test_an_old_transcript_is_kept_when_the_chat_cannot_start(cli: Cli, sandbox: Sandbox, tmp_path: Path) -> None:
    old = tmp_path / "t.md"
    old.write_text("the last chat\n")
    bad_id = cli("chat", "--transcript", str(old), input="hello\n", LIVEAGENT_BUTTON_ID="573bad")
    assert bad_id.code == 3
    sandbox.add_fault("status:code=500,path=ChasitorInit,times=1")
    refused = cli("chat", "--transcript", str(old), input="hello\n")
    assert refused.code == 5, refused.stderr
    assert old.read_text() == "the last chat\n", "not truncated before the chat started"
    started = cli("chat", "--transcript", str(old), input="hello\n")
    assert started.code == 0, started.stderr
    assert "the last chat" not in old.read_text(), "a chat that starts writes a transcript of its own"


def test_a_transcript_that_cannot_be_written_is_refused_before_the_chat(cli: Cli, sandbox: Sandbox, tmp_path) -> None:
    run = cli("chat", "--transcript", str(tmp_path / "no" / "such" / "t.md"), input="hello\n")
    assert run.code == 2 and "cannot write transcript" in run.stderr
    assert sandbox.chats() == [], "no chat was opened"
