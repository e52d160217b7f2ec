"""Text from the pod or an agent never steers the terminal (QA2-06): escape and control characters reach human
output as visible escapes; `--json` keeps them, JSON-escaped."""

from __future__ import annotations

import io
import json

from liveagent_cli.core.output import Output, printable
from liveagent_cli.sandbox import Sandbox
from tests.conftest import Cli

HOSTILE = "\x1b]0;pwned\x07\x1b[2J\x1b[31mred"
SPOOF = "line1\rFAKE: spoofed"
C1_AND_BIDI = "csi\x9b31m rtl\u202eevil"
RAW_CONTROLS = ("\x1b", "\x07", "\r", "\x9b", "\u202e")


def _agent_said(cli: Cli, sandbox: Sandbox, *texts: str, agent: str = "") -> str:
    cli.established()
    chat_id = sandbox.chats()[0]["id"]
    if agent:
        sandbox.agent_action(chat_id, "transfer", name=agent)
    for text in texts:
        sandbox.agent_action(chat_id, "say", text=text)
    return chat_id


def test_an_agents_escape_codes_are_shown_not_obeyed(cli: Cli, sandbox: Sandbox) -> None:
    _agent_said(cli, sandbox, HOSTILE, SPOOF, C1_AND_BIDI, agent="Eve\x1b[8m")
    run = cli("poll", "--until", "ChatMessage,message", "--timeout", "5")
    assert run.code == 0, run.stderr
    for char in RAW_CONTROLS:
        assert char not in run.stdout + run.stderr, f"{char!r} reached the terminal raw"
    assert "chat transferred to Eve\\x1b[8m" in run.stdout
    assert "Eve\\x1b[8m: \\x1b]0;pwned\\x07\\x1b[2J\\x1b[31mred" in run.stdout
    assert "Eve\\x1b[8m: line1\\x0dFAKE: spoofed" in run.stdout
    assert "csi\\x9b31m rtl\\u202eevil" in run.stdout


def test_json_keeps_the_text_as_sent_but_escaped(cli: Cli, sandbox: Sandbox) -> None:
    _agent_said(cli, sandbox, HOSTILE, C1_AND_BIDI)
    run = cli("poll", "--until", "ChatMessage,message", "--timeout", "5", "--json")
    assert run.code == 0, run.stderr
    for char in RAW_CONTROLS:
        assert char not in run.stdout, f"{char!r} reached stdout unescaped"
    texts = [json.loads(line)["message"].get("text") for line in run.stdout.splitlines()]
    assert HOSTILE in texts and C1_AND_BIDI in texts, "the program reading --json gets the text exactly"


def test_notes_warnings_and_errors_are_escaped_too() -> None:
    err = io.StringIO()
    out = Output(stdout=io.StringIO(), stderr=err, stdout_isatty=False, stderr_isatty=False)
    out.note(f"note {HOSTILE}")
    out.warn(SPOOF)
    out.error(C1_AND_BIDI, hint="\x1b[2J")
    written = err.getvalue()
    for char in RAW_CONTROLS:
        assert char not in written
    assert written.splitlines() == [
        "note \\x1b]0;pwned\\x07\\x1b[2J\\x1b[31mred",
        "warning: line1\\x0dFAKE: spoofed",
        "error: csi\\x9b31m rtl\\u202eevil",
        "hint: \\x1b[2J",
    ]


def test_printable_keeps_newlines_tabs_and_ordinary_unicode() -> None:
    assert printable("a\tb\nc é 漢字 🙂") == "a\tb\nc é 漢字 🙂"
    assert printable("\x00\x7f\x85\u2028\u2066") == "\\x00\\x7f\\x85\\u2028\\u2066"
