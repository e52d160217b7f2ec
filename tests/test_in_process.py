"""The Environment seam: a command run in-process takes its variables and streams from its Environment only.

These pin what lets most CLI tests skip the process start: nothing on the command path reads the test
process's own os.environ, sys.stdin or sys.stdout, and what an in-process run prints still feeds the leak check.
"""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from liveagent_cli.cli.environment import Environment
from liveagent_cli.sandbox import Sandbox
from tests.cli import invoke
from tests.conftest import EVERY_KEY, EVERY_OUTPUT, Cli, InProcessCli


@pytest.fixture
def here(sandbox: Sandbox) -> Iterator[InProcessCli]:
    """The in-process runner whatever the default of `cli` is, with the same leak check."""
    runner = InProcessCli(sandbox)
    yield runner
    EVERY_KEY.update(sandbox.issued_keys())
    assert runner.leaked() == [], "a session key appeared in the CLI's output"


def test_state_folder_session_and_config_come_from_the_environment(here: Cli, tmp_path: Path) -> None:
    ours = tmp_path / "ours"
    config = tmp_path / "ours.toml"
    config.write_text('[profiles.p]\napi_version = "58"\n')
    chosen = {"LIVEAGENT_STATE_DIR": str(ours), "LIVEAGENT_SESSION": "mine", "LIVEAGENT_CONFIG": str(config)}
    run = here("session", "--json", LIVEAGENT_PROFILE="p", **chosen)
    assert run.code == 0, run.stderr
    assert json.loads(run.stdout)["session"] == "mine"
    assert (ours / "mine.toml").exists()
    assert not Path(os.environ["LIVEAGENT_STATE_DIR"]).exists(), "the test process's own state folder is untouched"
    status = json.loads(here("status", "--json", **chosen).stdout)
    assert status["api_version"] == "58" and status["sources"]["api_version"] == "profile p"


def test_the_give_up_budget_comes_from_the_environment(here: Cli) -> None:
    run = here("session", "--pod", "http://127.0.0.1:9/", LIVEAGENT_NETWORK_TIMEOUT="nonsense")
    assert run.code == 3 and "LIVEAGENT_NETWORK_TIMEOUT='nonsense'" in run.stderr


def test_help_usage_and_version_go_to_the_environments_streams(capfd: pytest.CaptureFixture[str]) -> None:
    environ = dict(os.environ)
    shown = invoke("--help", environ=environ)
    assert shown.code == 0 and shown.stdout.startswith("Usage: liveagent [OPTIONS] COMMAND")
    bare = invoke(environ=environ)
    assert bare.code == 2 and bare.stderr.startswith("Usage: liveagent") and bare.stdout == ""
    missing = invoke("send", environ=environ)
    assert missing.code == 2 and missing.stderr.startswith("error: Missing argument 'TEXT'.")
    assert invoke("--version", environ=environ).stdout.startswith("liveagent ")
    real = capfd.readouterr()
    assert real.out == "" and real.err == "", "nothing reached the test process's own stdout or stderr"


def test_stdin_comes_from_the_environment(here: Cli, sandbox: Sandbox) -> None:
    here.established()
    assert here("send", "-", input="from the environment\n").code == 0
    assert sandbox.chats()[0]["transcript"] == ["from the environment"]


def test_what_an_in_process_run_prints_feeds_the_leak_check(here: Cli) -> None:
    run = here("session", "--json")
    assert EVERY_OUTPUT[-1] == run.stdout + run.stderr
    shown = here("status", "--json", "--show-secrets")
    assert EVERY_OUTPUT[-1] != shown.stdout + shown.stderr, "a --show-secrets run is not recorded"
    here.outputs.append(shown.stdout)
    assert here.leaked(), "the detector notices a key printed in-process"
    here.outputs.pop()


def test_variables_only_a_process_honours_are_refused(here: Cli) -> None:
    with pytest.raises(ValueError, match="REQUESTS_CA_BUNDLE"):
        here("session", REQUESTS_CA_BUNDLE="/tmp/ca.pem")


def test_from_process_takes_this_processs_arguments_variables_and_streams(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["liveagent", "status", "--json"])
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"piped")))
    env = Environment.from_process()
    assert env.argv == ["status", "--json"]
    assert env.environ is os.environ
    assert env.stdin.read() == b"piped" and env.stdin_isatty is False
    assert env.stdout is sys.stdout and env.stderr is sys.stderr
    monkeypatch.setattr(sys, "stdin", None)  # started with stdin closed
    assert Environment.from_process().stdin.read() == b""
