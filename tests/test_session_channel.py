"""The session channel across processes: nothing lost, nothing sent twice, nothing left open (issue 11).

Each test names the defect it pins: review D1-D3, D7, D9 (findings/review-2026-12.md) and the outside rows
QA2-04, QA2-12 (findings/outside-2026-12.md).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from liveagent_cli.sandbox import Sandbox
from tests.conftest import PROFILES, Cli, wait_until
from tests.test_concurrency import Follower

# A process that holds one of a session's locks (through the store, so it signs it) until its stdin closes.
HOLDER = """
import sys
from pathlib import Path
from liveagent_cli.core.state import StateStore
with StateStore(Path(sys.argv[1]), sys.argv[2]).lock(sys.argv[3]):
    print("holding", flush=True)
    sys.stdin.read()
"""


class LockHolder:
    def __init__(self, folder: Path, kind: str, session: str = "default") -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(folder), session, kind],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None and self.proc.stdout.readline() == "holding\n"

    def release(self) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.close()
        assert self.proc.wait(timeout=10) == 0
        self.proc.stdout.close()


@pytest.fixture
def holders() -> Iterator[list[LockHolder]]:
    started: list[LockHolder] = []
    yield started
    for holder in started:
        if holder.proc.poll() is None:
            holder.release()


def _posts(sandbox: Sandbox, noun: str) -> list[tuple[str | None, int | None]]:
    """(sequence, status) of every POST to `noun` the pod received, in order; status None: no answer sent."""
    return [
        (r["headers"].get("x-liveagent-sequence"), r["status"])
        for r in sandbox.requests()
        if r["method"] == "POST" and r["path"].endswith("/" + noun)
    ]


def _texts(*runs_stdout: str) -> list[str]:
    items = [json.loads(line) for out in runs_stdout for line in out.splitlines()]
    return [item["message"]["text"] for item in items if item["type"] == "ChatMessage"]


def _in_flight(cli: Cli, sandbox: Sandbox, text: str) -> subprocess.Popen[bytes]:
    """`send TEXT` as a process whose POST the pod has taken but not yet answered (a `delay` fault): 3 s for the
    caller to stop it (SIGSTOP) mid-POST, which takes it milliseconds."""
    sandbox.add_fault("delay:ms=3000,times=1,path=ChatMessage")
    proc = cli.start("send", text)
    wait_until(lambda: text in sandbox.chats()[0]["transcript"])
    return proc


# ---- D2: no wait without an end, no request under the state lock -----------------------------------------


@pytest.mark.process
def test_a_send_behind_a_stopped_send_gives_up_within_its_budget_and_names_the_holder(
    cli: Cli, sandbox: Sandbox
) -> None:
    cli.established()
    first = _in_flight(cli, sandbox, "first")
    os.kill(first.pid, signal.SIGSTOP)
    try:
        run = cli("send", "second", LIVEAGENT_NETWORK_TIMEOUT="2", timeout=30)
    finally:
        os.kill(first.pid, signal.SIGCONT)
    assert run.code == 8, run.stderr
    assert f"another process is sending on session 'default' (pid {first.pid}: liveagent send first)" in run.stderr
    assert f"kill -CONT {first.pid}" in run.stderr
    _, err = first.communicate(timeout=30)
    assert first.returncode == 0, err
    assert cli("send", "second").code == 0
    assert sandbox.chats()[0]["transcript"] == ["first", "second"]
    assert _posts(sandbox, "ChatMessage") == [("2", 200), ("3", 200)], "the one that gave up took no number"


@pytest.mark.process
def test_a_stopped_send_does_not_hold_up_a_follower(cli: Cli, sandbox: Sandbox) -> None:
    cli.established()
    chat_id = sandbox.chats()[0]["id"]
    follower = Follower(cli)
    wait_until(lambda: sandbox.chats()[0]["pollsHeld"] == 1)
    sender = _in_flight(cli, sandbox, "on its way")
    os.kill(sender.pid, signal.SIGSTOP)
    try:
        for text in ("one", "two"):  # the second needs the first's ack stored: the state lock is free
            sandbox.agent_action(chat_id, "say", text=text)
            while (item := follower.next()) is not None and item["message"].get("text") == "on its way":
                pass  # the echo agent's answer to the message in flight
            assert item is not None and item["message"]["text"] == text
    finally:
        os.kill(sender.pid, signal.SIGCONT)
    _, err = sender.communicate(timeout=30)
    assert sender.returncode == 0, err
    sandbox.agent_action(chat_id, "end")
    while follower.next() is not None:
        pass
    assert follower.wait() == 0


# ---- D3 / QA2-19: a refused POST gives its number back -----------------------------------------------------


def test_a_post_refused_before_the_agent_accepts_gives_its_number_back(cli: Cli, sandbox: Sandbox) -> None:
    sandbox.set_agent("manual")
    assert cli("session").code == 0 and cli("init").code == 0
    assert cli("send", "too early").code == 5  # 500: no agent yet
    sandbox.agent_action(sandbox.chats()[0]["id"], "accept")
    assert cli("poll", "--until", "ChatEstablished").code == 0
    assert cli("send", "now").code == 0
    assert _posts(sandbox, "ChatMessage") == [("2", 500), ("2", 200)]
    assert all(r["status"] != 409 for r in sandbox.requests())


def test_a_post_too_large_for_the_pod_gives_its_number_back(cli: Cli, sandbox: Sandbox) -> None:
    cli.established()
    assert cli("send", "-", input="x" * (1 << 20)).code == 5  # 413
    assert json.loads(cli("status", "--json").stdout)["next_sequence"] == 2
    assert cli("send", "ok").code == 0
    assert _posts(sandbox, "ChatMessage") == [("2", 200)], "no 409 round trip"


# ---- D7: the recovery branches that never ran ---------------------------------------------------------------


@PROFILES
def test_a_message_lost_before_a_move_is_sent_again_once(cli: Cli, sandbox: Sandbox) -> None:
    cli.established()
    sandbox.add_fault("drop:times=1,path=ChatMessage,when=before")  # not processed, no answer
    sandbox.add_fault("503:times=1,path=ChatMessage")  # its retry meets the move
    run = cli("send", "once")
    assert run.code == 0, run.stderr
    assert sandbox.chats()[0]["transcript"] == ["once"]
    assert _posts(sandbox, "ChatMessage") == [("2", None), ("2", 503), ("1", 200)], "sent again after the resync"


@PROFILES
def test_a_message_that_landed_before_a_move_is_not_sent_again(cli: Cli, sandbox: Sandbox) -> None:
    cli.established()
    sandbox.add_fault("drop:times=1,path=ChatMessage,when=after")  # processed, its answer lost
    sandbox.add_fault("503:times=1,path=ChatMessage")
    assert cli("send", "once").code == 0
    assert sandbox.chats()[0]["transcript"] == ["once"]
    assert _posts(sandbox, "ChatMessage") == [("2", None), ("2", 503)], "the transcript showed it landed"


@pytest.mark.process
def test_a_send_waits_for_a_silent_poller_only_so_long_then_sends(
    cli: Cli, sandbox: Sandbox, isolated_env: Path, holders: list[LockHolder]
) -> None:
    cli.established()
    holders.append(LockHolder(isolated_env / "state", "poll"))  # a poller that never polls
    sandbox.add_fault("503:times=1,path=ChatMessage")
    run = cli("send", "anyway", LIVEAGENT_NETWORK_TIMEOUT="4")
    assert run.code == 0, run.stderr
    assert "no poller took ChasitorSessionData in time; sending anyway" in run.stderr
    assert sandbox.chats()[0]["transcript"] == ["anyway"]


# ---- D9: init and end under the lock -------------------------------------------------------------------------


@pytest.mark.process
def test_two_inits_at_once_post_chasitor_init_once(cli: Cli, sandbox: Sandbox) -> None:
    assert cli("session").code == 0
    sandbox.add_fault("delay:ms=2000,times=1,path=ChasitorInit")
    first = cli.start("init")
    wait_until(lambda: len(_posts(sandbox, "ChasitorInit")) == 1)  # taken by the pod, not yet answered
    second = cli("init")
    _, err = first.communicate(timeout=30)
    assert first.returncode == 0, err
    assert second.code == 2 and "already has a chat requested" in second.stderr, second.stderr
    assert len(_posts(sandbox, "ChasitorInit")) == 1


@pytest.mark.process
def test_end_keeps_a_session_that_replaced_it_meanwhile(cli: Cli, sandbox: Sandbox) -> None:
    assert cli("session").code == 0
    sandbox.add_fault("delay:ms=3000,times=1,path=SessionId")  # the DELETE's answer comes late
    ending = cli.start("end")
    wait_until(lambda: any(r["method"] == "DELETE" for r in sandbox.requests()))
    assert cli("session", "--replace").code == 0
    new_id = json.loads(cli("status", "--json").stdout)["id"]
    _, err = ending.communicate(timeout=30)
    assert ending.returncode == 0, err
    assert b"now holds a newer session" in err
    status = cli("status", "--json")
    assert status.code == 0 and json.loads(status.stdout)["id"] == new_id, "the old chat's end left it alone"


# ---- QA2-04: a replace ends the chat it replaces ------------------------------------------------------------


def test_session_replace_ends_the_open_chat_on_the_pod_first(cli: Cli, sandbox: Sandbox) -> None:
    cli.established()
    old = sandbox.chats()[0]["id"]
    run = cli("session", "--replace")
    assert run.code == 0, run.stderr
    assert "ended a chat with an agent on the pod (session 'default') before replacing it" in run.stderr
    assert [c["state"] for c in sandbox.chats() if c["id"] == old] == ["ended"]
    assert json.loads(cli("status", "--json").stdout)["id"] != old


def test_session_replace_is_refused_when_the_old_chat_cannot_be_ended(cli: Cli, sandbox: Sandbox) -> None:
    cli.established()
    old = sandbox.chats()[0]["id"]
    sandbox.add_fault("drop:path=ChatEnd,when=before")  # the pod never answers a ChatEnd
    run = cli("session", "--replace", LIVEAGENT_NETWORK_TIMEOUT="1")
    assert run.code == 4
    assert "cannot end the chat session 'default' holds, so it is not replaced" in run.stderr
    assert "liveagent end --local" in run.stderr
    assert json.loads(cli("status", "--json").stdout)["id"] == old, "the old session is kept"
    assert sandbox.chats()[0]["state"] == "established"


def test_chat_replace_ends_the_open_chat_too(cli: Cli, sandbox: Sandbox) -> None:
    cli.established()
    old = sandbox.chats()[0]["id"]
    run = cli("chat", "--replace", "--json", "--reply-wait", "5", input="hello\n")
    assert run.code == 0, run.stderr
    assert [c["state"] for c in sandbox.chats() if c["id"] == old] == ["ended"]
    assert _texts(run.stdout) == ["hello"]


# ---- QA2-12: the visitor ending the chat elsewhere ends a follower -------------------------------------------


@pytest.mark.process
@PROFILES
def test_a_follower_exits_0_when_the_visitor_ends_the_chat_elsewhere(cli: Cli, sandbox: Sandbox) -> None:
    cli.established()
    follower = Follower(cli)
    wait_until(lambda: sandbox.chats()[0]["pollsHeld"] == 1)
    assert cli("end").code == 0
    while follower.next() is not None:
        pass
    assert follower.wait() == 0, follower.stderr
    assert b"was ended by another process" in follower.stderr


# ---- D1: a pod that hands each message out once, and does not see a poll's client go -----------------------


@PROFILES
def test_what_a_sends_resync_poll_received_is_shown_once_by_the_next_poll(cli: Cli, sandbox: Sandbox) -> None:
    cli.established()
    chat_id = sandbox.chats()[0]["id"]
    sandbox.agent_action(chat_id, "say", text="while you were away")  # nobody polls
    sandbox.add_fault("503:times=1,path=ChatMessage")
    run = cli("send", "back")  # resyncs by polling once itself: that poll gets the agent's message
    assert run.code == 0, run.stderr
    first = cli("poll", "--until", "ChatMessage", "--json")
    assert first.code == 0, first.stderr
    assert [json.loads(line)["type"] for line in first.stdout.splitlines()][0] == "ChasitorSessionData"
    second = cli("poll", "--until", "ChatMessage", "--json")
    assert second.code == 0, second.stderr
    sandbox.agent_action(chat_id, "end")
    rest = cli("poll", "--follow", "--json")
    assert rest.code == 0, rest.stderr
    assert _texts(first.stdout, second.stdout, rest.stdout) == ["while you were away", "back"]


# The pod holds the abandoned poll 5 s and says it may be held 7 (clientPollTimeout; 15 by default), so the
# second poller, started at once, finds it still held and waits until then.
@pytest.mark.process
@pytest.mark.parametrize("sandbox", [{"strict": True, "poll_hold": 5.0, "client_poll_timeout": 7}], indirect=True)
def test_a_poll_cut_off_by_its_timeout_is_waited_out_not_doubled(cli: Cli, sandbox: Sandbox) -> None:
    cli.established()
    chat_id = sandbox.chats()[0]["id"]
    assert cli("poll", "--until", "ChatMessage", "--timeout", "1").code == 8  # abandons a held poll
    # at once, while the pod (which never sees a client go) still holds the abandoned one
    second = cli.start("poll", "--until", "ChatMessage", "--json")
    assert second.stderr is not None
    assert b"the last long poll of this session was cut off" in second.stderr.readline()
    wait_until(lambda: sandbox.chats()[0]["pollsHeld"] == 0, timeout=20)  # the pod let the old one go
    sandbox.agent_action(chat_id, "say", text="hello")
    out, err = second.communicate(timeout=60)
    assert second.returncode == 0, err
    assert _texts(out.decode()) == ["hello"]
    assert all(r["status"] != 409 for r in sandbox.requests())


@pytest.mark.parametrize("sandbox", [{"strict": True, "poll_hold": 5.0}], indirect=True)
def test_a_send_does_not_resync_over_a_cut_off_poll_it_cannot_wait_out(cli: Cli, sandbox: Sandbox) -> None:
    cli.established()
    assert cli("poll", "--until", "ChatMessage", "--timeout", "1").code == 8  # abandons a held poll
    sandbox.add_fault("503:times=1,path=ChatMessage")
    run = cli("send", "hi", LIVEAGENT_NETWORK_TIMEOUT="3")  # less than the cut-off poll may still be held
    assert run.code == 0, run.stderr
    assert "ChasitorSessionData was not fetched; sending anyway" in run.stderr
    assert sandbox.chats()[0]["transcript"] == ["hi"]
    assert all(r["status"] != 409 for r in sandbox.requests()), "no second long poll"
