"""Many processes, one session: sends land in order and once, one long poll at a time, kill -9 loses nothing.

The tests that poll run against the usual sandbox and against its strict profile (review D1)."""

from __future__ import annotations

import json
import os
import queue
import signal
import threading

import pytest

from liveagent_cli.sandbox import Sandbox
from tests.conftest import PROFILES, Cli, reap, wait_until

pytestmark = pytest.mark.process  # concurrent processes on one session: locks, the poll lock, kill -9


class Follower:
    """`liveagent poll --follow --json` in the background, its stdout lines on a queue as they arrive."""

    def __init__(self, cli: Cli, *args: str) -> None:
        self.proc = cli.start("poll", "--follow", "--json", *args)
        self.lines: queue.Queue[dict | None] = queue.Queue()
        self.stderr = b""
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        cli.cleanups.append(self.stop)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self.lines.put(json.loads(raw))
        self.lines.put(None)

    def next(self, timeout: float = 20) -> dict | None:
        return self.lines.get(timeout=timeout)

    def wait(self, timeout: float = 30) -> int:
        code = self.proc.wait(timeout=timeout)
        assert self.proc.stderr is not None
        self.stderr = self.proc.stderr.read()
        self.stop()
        return code

    def stop(self) -> None:
        """Killed if it still runs; its stdout closed once the reader has read to its end."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)
        self.reader.join(timeout=30)
        reap(self.proc)


# Against the usual sandbox only: nothing polls here, and the profiles differ only in polls and breadcrumbs.
def test_twenty_concurrent_sends_all_land_once_in_sequence_order(cli: Cli, sandbox: Sandbox) -> None:
    cli.established()
    procs = [cli.start("send", f"message {i}") for i in range(20)]
    results = [(p.communicate(timeout=60)[1], p.returncode) for p in procs]
    assert all(code == 0 for _, code in results), results
    [chat] = sandbox.chats()
    assert sorted(chat["transcript"]) == sorted(f"message {i}" for i in range(20))
    posts = [r for r in sandbox.requests() if r["path"].endswith("/ChatMessage")]
    assert [int(r["headers"]["x-liveagent-sequence"]) for r in posts] == list(range(2, 22))
    assert all(r["status"] == 200 for r in posts), "no 409, no retries"


@PROFILES
def test_a_second_poller_waits_instead_of_opening_a_second_long_poll(cli: Cli, sandbox: Sandbox) -> None:
    cli.established()
    first = Follower(cli)
    # wait until the first follower's long poll is held by the pod
    wait_until(lambda: sandbox.chats()[0]["pollsHeld"] == 1)
    second = cli.start("poll", "--until", "ChatMessage", "--json")
    assert second.stderr is not None
    note = second.stderr.readline().decode()
    assert f"another process is polling this session (pid {first.proc.pid}: liveagent poll --follow" in note
    chat_id = sandbox.chats()[0]["id"]
    sandbox.agent_action(chat_id, "say", text="one")
    assert first.next()["message"]["text"] == "one"
    sandbox.agent_action(chat_id, "end")
    assert first.next()["type"] == "ChatEnded"
    assert first.wait() == 0
    out, err = second.communicate(timeout=30)
    assert second.returncode == 6 and b"has ended" in err, "the waiting poller learns the chat ended"
    assert out == b""
    assert all(r["status"] != 409 for r in sandbox.requests())


# A clientPollTimeout of 4 s, not 12: a follower killed mid-poll leaves word that its poll may be held until then,
# and the next one waits that out. The pod still lets that poll go after 2 s (poll_hold), so against the strict
# pod a poll that did not wait would still meet it.
@pytest.mark.parametrize(
    "sandbox",
    [{"client_poll_timeout": 4}, {"strict": True, "client_poll_timeout": 4}],
    indirect=True,
    ids=["forgiving", "strict"],
)
def test_kill_9_of_a_follower_loses_no_agent_message(cli: Cli, sandbox: Sandbox) -> None:
    cli.established()
    chat_id = sandbox.chats()[0]["id"]
    seen: list[str] = []
    follower = Follower(cli)
    for i in range(5):
        sandbox.agent_action(chat_id, "say", text=f"m{i}")
        seen.append(follower.next()["message"]["text"])
    strict = sandbox.config.strict
    if not strict:
        for i in range(5, 10):  # queued while the follower is being killed
            sandbox.agent_action(chat_id, "say", text=f"m{i}")
    else:
        # A pod that hands each message out once loses what it gave a process that died before printing it, and
        # what it gives a held poll whose client is gone: queue them once the dead poll is let go (below).
        wait_until(lambda: sandbox.chats()[0]["pollsHeld"] == 1)
    os.kill(follower.proc.pid, signal.SIGKILL)
    while (item := follower.next()) is not None:  # what it printed before it died reached the user
        if item["type"] == "ChatMessage":
            seen.append(item["message"]["text"])
    follower.wait()
    if strict:
        # at once, while the pod still holds the dead follower's poll: it must wait that out, not poll twice
        again = Follower(cli)
        wait_until(lambda: sandbox.chats()[0]["pollsHeld"] == 0, timeout=20)
        for i in range(5, 10):
            sandbox.agent_action(chat_id, "say", text=f"m{i}")
        while len(seen) < 10:
            item = again.next(timeout=60)
            assert item is not None, again.stderr
            if item["type"] == "ChatMessage":
                seen.append(item["message"]["text"])
    sandbox.agent_action(chat_id, "end")
    if not strict:
        again = Follower(cli)
    while (item := again.next()) is not None:
        if item["type"] == "ChatMessage":
            seen.append(item["message"]["text"])
    assert again.wait() == 0
    assert [f"m{i}" for i in range(10)] == sorted(set(seen), key=lambda t: int(t[1:]))
