"""Output rules: data on stdout only, colour only when asked or on a terminal, --quiet, JSON never styled."""

from __future__ import annotations

import json

from liveagent_cli.sandbox import Sandbox
from tests.conftest import Cli


def _established(cli: Cli) -> None:
    assert cli("session").code == 0 and cli("init").code == 0


def test_force_color_colours_human_output_and_no_color_wins(cli: Cli, sandbox: Sandbox) -> None:
    _established(cli)
    coloured = cli("poll", "--until", "ChatEstablished", FORCE_COLOR="1", NO_COLOR="")
    assert "\x1b[" in coloured.stdout and "joined the chat" in coloured.stdout
    cli("session", "--replace")
    cli("init")
    plain = cli("poll", "--until", "ChatEstablished", FORCE_COLOR="1", NO_COLOR="1")
    assert "\x1b[" not in plain.stdout + plain.stderr


def test_json_is_never_styled(cli: Cli) -> None:
    _established(cli)
    run = cli("poll", "--until", "ChatEstablished", "--json", FORCE_COLOR="1", NO_COLOR="")
    assert "\x1b[" not in run.stdout
    assert all(json.loads(line)["type"] for line in run.stdout.splitlines())


def test_quiet_silences_notes_but_not_errors(cli: Cli) -> None:
    loud = cli("session")
    assert "next:" in loud.stderr
    quiet = cli("session", "--replace", "--quiet")
    assert quiet.code == 0 and quiet.stderr == ""
    failed = cli("send", "", "--quiet")
    assert failed.code == 2 and failed.stderr.startswith("error: ")


def test_notes_go_to_stderr_and_data_to_stdout(cli: Cli) -> None:
    run = cli("session", "--json")
    assert json.loads(run.stdout)["session"] == "default"
    assert "next:" in run.stderr
    init = cli("init", "--json")
    assert json.loads(init.stdout) == {"requested": True, "session": "default", "sequence": 1}
