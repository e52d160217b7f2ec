"""Behaviours a review found wanting, pinned so they stay fixed."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from liveagent_cli.sandbox import Sandbox
from tests.conftest import LIVEAGENT, Cli, wait_until
from tests.test_concurrency import Follower


def test_usage_errors_are_one_line_and_a_hint(cli: Cli) -> None:
    run = cli("send")
    assert run.code == 2
    assert run.stderr.splitlines() == ["error: Missing argument 'TEXT'.", "hint: see `liveagent send --help`"]
    assert cli("poll", "--bogus").stderr.startswith("error: unknown option --bogus")


def test_an_argument_that_is_not_utf8_is_a_usage_error(cli: Cli, sandbox: Sandbox) -> None:
    cli("session")
    cli("init")
    cli("poll", "--until", "ChatEstablished")
    before = json.loads(cli("status", "--json").stdout)["next_sequence"]
    proc = subprocess.run([LIVEAGENT, "send", os.fsdecode(b"caf\xe9")], capture_output=True, text=True, env=cli.env())
    assert proc.returncode == 2 and "not valid UTF-8" in proc.stderr
    assert json.loads(cli("status", "--json").stdout)["next_sequence"] == before, "no sequence number used up"


def test_chat_with_missing_ids_leaves_no_session_behind(cli: Cli, isolated_env: Path, sandbox: Sandbox) -> None:
    run = cli("chat", input="hi\n", LIVEAGENT_BUTTON_ID="")
    assert run.code == 3 and "no button id" in run.stderr
    assert not (isolated_env / "state" / "default.toml").exists()
    assert sandbox.chats() == []


@pytest.mark.process  # a follower process and the process that replaces its session
def test_a_follower_stops_when_its_session_is_replaced(cli: Cli, sandbox: Sandbox) -> None:
    cli("session")
    cli("init")
    cli("poll", "--until", "ChatEstablished")
    old_chat = sandbox.chats()[0]["id"]
    follower = Follower(cli)
    wait_until(lambda: sandbox.chats()[0]["pollsHeld"] == 1)  # it follows the old session before it is replaced
    assert cli("session", "--replace").code == 0  # which ends the old chat on the pod first (QA2-04)
    assert cli("init").code == 0
    assert [c["state"] for c in sandbox.chats() if c["id"] == old_chat] == ["ended"]
    printed = []
    while (item := follower.next()) is not None:
        printed.append(item["type"])
    code = follower.wait()
    # it saw the old chat end (ChatEnded, or the state saying so), or that the new session replaced it
    assert (code == 0 and printed in ([], ["ChatEnded"])) or (code == 6 and b"was replaced" in follower.stderr), (
        code,
        printed,
        follower.stderr,
    )
    state = json.loads(cli("status", "--json").stdout)
    assert state["chat"] != "ended" and state["id"] != old_chat, "the new session's state is untouched"


def test_smoke_never_ends_a_chat_it_did_not_open(cli: Cli) -> None:
    cli("session", "--session", "mine")
    run = cli("smoke", "--session", "mine", "--skip-availability")
    assert run.code == 2, "the session step refuses to replace a live chat"
    assert cli("status", "--session", "mine").code == 0, "and the user's chat is still there"


def test_an_out_of_sync_409_ahead_of_us_moves_the_sequence_on(cli: Cli, sandbox: Sandbox, isolated_env) -> None:
    cli("session")
    cli("init")
    cli("poll", "--until", "ChatEstablished")
    state_file = isolated_env / "state" / "default.toml"
    import tomllib

    import requests

    state = tomllib.loads(state_file.read_text())["session"]
    headers = {
        "X-LIVEAGENT-API-VERSION": "58",
        "X-LIVEAGENT-AFFINITY": state["affinity"],
        "X-LIVEAGENT-SESSION-KEY": state["key"],
    }
    for seq in (2, 3, 4):  # another client of the session sends three messages we never hear of
        headers["X-LIVEAGENT-SEQUENCE"] = str(seq)
        requests.post(
            sandbox.pod_url + "Chasitor/ChatMessage", json={"text": f"other {seq}"}, headers=headers, timeout=5
        ).raise_for_status()
    state_file.write_text(state_file.read_text().replace("sequence = 1\n", "sequence = 2\n"))
    assert cli("send", "mine").code == 0  # 3 is behind the pod (4): counted as sent, sequence moves to 4
    assert cli("send", "mine too").code == 0
    transcript = sandbox.chats()[0]["transcript"]
    assert transcript[-1] == "mine too"
    assert json.loads(cli("status", "--json").stdout)["next_sequence"] == 6


def test_choose_json_names_the_noun(cli: Cli, sandbox: Sandbox) -> None:
    cli("session")
    cli("init")
    cli("poll", "--until", "ChatEstablished")
    sandbox.agent_action(sandbox.chats()[0]["id"], "menu", items=["A", "B"])
    cli("poll", "--until", "RichMessage")
    assert json.loads(cli("choose", "2", "--json").stdout) == {
        "sent": "RichMessage",
        "session": "default",
        "sequence": 2,
        "choice": 2,
        "text": "B",
    }
