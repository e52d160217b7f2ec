"""Issue 13's "done when" against Enhanced Chat with every step its own process: a follower whose stream is
cut after every third event (with and without replay) while separate `send` processes write, and a follower
killed with SIGKILL and started again. Nothing is lost, nothing printed twice, in order."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from liveagent_cli.sandbox import Sandbox
from tests.conftest import LIVEAGENT, Cli, wait_until

pytestmark = pytest.mark.process

CUT_EVERY_THIRD = [
    {"faults": ("sse-drop:after=3",)},
    {"faults": ("sse-drop:after=3",), "replay": False},
]


def miaw_env(cli: Cli, sandbox: Sandbox) -> dict[str, str]:
    return cli.env(
        LIVEAGENT_API="miaw",
        LIVEAGENT_POD=sandbox.messaging_url,
        LIVEAGENT_ORG_ID=sandbox.org_id,
        LIVEAGENT_DEPLOYMENT_NAME=sandbox.deployment_name,
    )


def run(cli: Cli, sandbox: Sandbox, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([LIVEAGENT, *args], capture_output=True, text=True, timeout=60, env=miaw_env(cli, sandbox))
    cli.outputs.append(done.stdout + done.stderr)
    assert done.returncode == 0, (args, done.stderr)
    return done


class Follower:
    """`poll --follow --json` as its own process, stdout and stderr into files (kept for the leak checks)."""

    def __init__(self, cli: Cli, sandbox: Sandbox, out: Path, *args: str) -> None:
        self.cli, self.out, self.err = cli, out, out.with_suffix(".stderr")
        with out.open("wb") as stdout, self.err.open("wb") as stderr:
            self.proc = subprocess.Popen(
                [LIVEAGENT, "poll", "--follow", "--json", *args],
                stdout=stdout,
                stderr=stderr,
                env=miaw_env(cli, sandbox),
            )

    def finish(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        self.cli.outputs.append(self.out.read_text() + self.err.read_text())


def printed(path: Path) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    return [json.loads(line) for line in text.splitlines() if line.endswith("}")]


def agent_texts(lines: list[dict[str, Any]]) -> list[str]:
    return [line["text"] for line in lines if line["kind"] == "message"]


@pytest.mark.parametrize("sandbox", CUT_EVERY_THIRD, indirect=True, ids=["replay", "no-replay"])
def test_ten_sends_while_a_cut_stream_is_followed_come_back_once_in_order(
    cli: Cli, sandbox: Sandbox, tmp_path: Path
) -> None:
    for args in (("session",), ("init", "--visitor-name", "Ada"), ("poll", "--until", "established")):
        run(cli, sandbox, *args)
    out = tmp_path / "follow.jsonl"
    poll = Follower(cli, sandbox, out, "--timeout", "90")
    messages = [f"message {n}" for n in range(10)]
    try:
        for text in messages:
            run(cli, sandbox, "send", text)
        wait_until(lambda: len(agent_texts(printed(out))) >= 10, timeout=60)
        conversation = json.loads(run(cli, sandbox, "status", "--json").stdout)["conversation_id"]
        sandbox.agent_action(conversation, "end")
        assert poll.proc.wait(30) == 0, poll.err.read_text()
    finally:
        poll.finish()
    lines = printed(out)
    assert agent_texts(lines) == messages
    entries = [line["message"]["conversationEntry"]["identifier"] for line in lines]
    assert len(entries) == len(set(entries)), "an entry was printed twice"


def test_a_follower_killed_and_started_again_loses_nothing_and_repeats_nothing(
    cli: Cli, sandbox: Sandbox, tmp_path: Path
) -> None:
    for args in (("session",), ("init",), ("poll", "--until", "established")):
        run(cli, sandbox, *args)
    first_out, second_out = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    first = Follower(cli, sandbox, first_out)
    run(cli, sandbox, "send", "before the kill")
    wait_until(lambda: "before the kill" in agent_texts(printed(first_out)), timeout=20)
    last = printed(first_out)[-1]["id"]
    # the id is stored just after the line is printed: wait for that, then kill (a kill in between shows the
    # event again, docs/client.md says why that cannot be narrowed)
    wait_until(lambda: json.loads(run(cli, sandbox, "status", "--json").stdout)["last_event_id"] == last)
    os.kill(first.proc.pid, signal.SIGKILL)
    first.finish()
    run(cli, sandbox, "send", "while nobody follows")
    second = Follower(cli, sandbox, second_out, "--timeout", "20")
    try:
        wait_until(lambda: "while nobody follows" in agent_texts(printed(second_out)), timeout=20)
    finally:
        second.proc.send_signal(signal.SIGTERM)
        second.finish()
    both = printed(first_out) + printed(second_out)
    assert agent_texts(both) == ["before the kill", "while nobody follows"]
    entries = [line["message"]["conversationEntry"]["identifier"] for line in both]
    assert len(entries) == len(set(entries))
