"""The client against the sandbox's faults: 503 and reconnect, dropped answers, 409s, expiry.

Every test runs against the usual sandbox and against its strict profile (review D1): a pod that hands each
message out once and never sees a held poll's client go."""

from __future__ import annotations

import json
import os
import subprocess
import tomllib
from pathlib import Path

import pytest
import requests

from liveagent_cli.sandbox import Sandbox
from tests.conftest import LIVEAGENT, PROFILES, Cli
from tests.test_concurrency import Follower

# Each send and its recovery is six or so requests, so in twelve sends the 503 on every 4th request and the lost
# answer on every 5th (every 5th ChatMessage against the strict pod) meet each step of a send and of its
# recovery several times over; forty sends found nothing more and took three times as long.
SENDS = 12


@pytest.mark.process  # sender processes one after another against a follower process
@PROFILES
def test_twelve_sends_through_503s_and_dropped_answers_are_echoed_once_in_order(cli: Cli, sandbox: Sandbox) -> None:
    cli.established()
    sandbox.add_fault("503:every=4")
    # A pod that hands each message out once loses a batch whose answer is dropped: no client can get it back,
    # so against the strict profile the dropped answers are the POSTs' (the client's own recovery) only.
    strict = sandbox.config.strict
    sandbox.add_fault("drop:every=5,path=ChatMessage" if strict else "drop:every=5")
    follower = Follower(cli)
    for i in range(SENDS):
        run = cli("send", f"message {i:02d}")
        assert run.code == 0, run.stderr
    texts = [f"message {i:02d}" for i in range(SENDS)]
    echoes: list[str] = []
    while len(echoes) < SENDS:
        item = follower.next(timeout=60)
        assert item is not None, follower.stderr
        if item["type"] == "ChatMessage":
            echoes.append(item["message"]["text"])
    sandbox.clear_faults()
    sandbox.agent_action(sandbox.chats()[0]["id"], "end")
    while (item := follower.next(timeout=60)) is not None:
        if item["type"] == "ChatMessage":
            echoes.append(item["message"]["text"])
    assert follower.wait() == 0, follower.stderr
    assert echoes == texts, "every echo exactly once, in order"
    [chat] = sandbox.chats()
    assert chat["transcript"] == texts, "the pod processed every message exactly once"
    statuses = [r["status"] for r in sandbox.requests()]
    assert 503 in statuses, "the faults did fire"


@PROFILES
def test_a_send_that_meets_a_503_reconnects_and_resyncs(cli: Cli, sandbox: Sandbox) -> None:
    cli.established()
    sandbox.add_fault("503:times=1,path=ChatMessage")
    run = cli("send", "after the move")
    assert run.code == 0, run.stderr
    nouns = [r["path"].rsplit("/", 1)[-1] for r in sandbox.requests()]
    assert "ReconnectSession" in nouns and "ChasitorResyncState" in nouns
    assert nouns.index("ReconnectSession") < nouns.index("ChasitorResyncState")
    state = json.loads(cli("status", "--json").stdout)
    assert state["affinity"] == sandbox.chats()[0]["affinityToken"]
    assert state["next_sequence"] == 2, "the sequence restarted at 1 after ReconnectSession"
    polled = cli("poll", "--until", "ChatMessage", "--json")
    types = [json.loads(line)["type"] for line in polled.stdout.splitlines()]
    assert types[0] == "ChasitorSessionData" and "ChatMessage" in types
    assert sandbox.chats()[0]["transcript"] == ["after the move"]


@PROFILES
def test_reconnect_by_hand(cli: Cli, sandbox: Sandbox, isolated_env) -> None:
    cli.established()
    assert cli("reconnect").code == 5, "nothing to reconnect before the pod moved the session (405)"
    # the pod moves the session under another client's request (a process that died before recovering)
    sandbox.add_fault("503:times=1")
    state = tomllib.loads((isolated_env / "state" / "default.toml").read_text())["session"]
    headers = {
        "X-LIVEAGENT-API-VERSION": "58",
        "X-LIVEAGENT-AFFINITY": state["affinity"],
        "X-LIVEAGENT-SESSION-KEY": state["key"],
        "X-LIVEAGENT-SEQUENCE": "99",
    }
    assert (
        requests.post(sandbox.pod_url + "Chasitor/ChasitorTyping", json={}, headers=headers, timeout=5).status_code
        == 503
    )
    run = cli("reconnect", "--json")
    assert run.code == 0, run.stderr
    info = json.loads(run.stdout)
    assert info["reconnected"] is True and info["affinity"] == sandbox.chats()[0]["affinityToken"]
    assert cli("send", "still here").code == 0


@PROFILES
def test_a_lost_answer_is_retried_with_the_same_sequence(cli: Cli, sandbox: Sandbox) -> None:
    cli.established()
    sandbox.add_fault("drop:times=1,path=ChatMessage,when=after")
    assert cli("send", "only once").code == 0
    posts = [r for r in sandbox.requests() if r["path"].endswith("/ChatMessage")]
    assert [p["headers"]["x-liveagent-sequence"] for p in posts] == ["2", "2"]
    assert sandbox.chats()[0]["transcript"] == ["only once"]


@PROFILES
def test_out_of_sync_409_is_settled_by_the_numbers(cli: Cli, sandbox: Sandbox, isolated_env) -> None:
    cli.established()
    # another client of the same session used numbers we never heard of: the pod is ahead of us
    state_file = isolated_env / "state" / "default.toml"
    text = state_file.read_text()
    assert "sequence = 1\n" in text
    state_file.write_text(text.replace("sequence = 1\n", "sequence = 5\n"))  # we are ahead of the pod
    run = cli("send", "catch up")
    assert run.code == 0, run.stderr
    posts = [r for r in sandbox.requests() if r["path"].endswith("/ChatMessage")]
    assert [p["status"] for p in posts] == [409, 200]
    assert [p["headers"]["x-liveagent-sequence"] for p in posts] == ["6", "2"]
    assert sandbox.chats()[0]["transcript"] == ["catch up"]


@PROFILES
def test_an_expired_session_is_exit_6_and_the_state_says_so(cli: Cli, sandbox: Sandbox) -> None:
    cli.established()
    sandbox.add_fault("expire:times=1")
    run = cli("send", "anyone?")
    assert run.code == 6
    assert json.loads(cli("status", "--json").stdout)["chat"] == "ended"
    assert cli("end").code == 0, "end still forgets it"


@pytest.mark.parametrize("profile", [[], ["--strict"]], ids=["forgiving", "strict"])
def test_sandbox_exec_with_faults_from_the_command_line(profile: list[str]) -> None:
    script = (
        "liveagent session >/dev/null && liveagent init && liveagent poll --until ChatEstablished >/dev/null "
        "&& liveagent send hi && liveagent poll --until ChatMessage --json"
    )
    run = subprocess.run(
        [LIVEAGENT, "sandbox", "exec", *profile, "--accept-after", "0", "--fault", "503:every=4", "--", "bash"]
        + ["-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PATH": f"{Path(LIVEAGENT).parent}:/usr/bin:/bin"},
    )
    assert run.returncode == 0, run.stderr
    assert [
        json.loads(x)["message"]["text"] for x in run.stdout.splitlines() if json.loads(x)["type"] == "ChatMessage"
    ] == ["hi"]
