"""`chat` from a pipe: sends each line, waits for the agent's replies, ends the chat, exits 0."""

from __future__ import annotations

import json

from liveagent_cli.sandbox import Sandbox
from tests.conftest import Cli


def test_chat_from_a_pipe_prints_the_pods_chat_messages(cli: Cli, sandbox: Sandbox, isolated_env) -> None:
    run = cli("chat", "--json", "--visitor-name", "Ada", "--reply-wait", "10", input="first line\nsecond line\n")
    assert run.code == 0, run.stderr
    items = [json.loads(line) for line in run.stdout.splitlines()]
    replies = [i for i in items if i["type"] == "ChatMessage"]
    assert [r["message"]["text"] for r in replies] == ["first line", "second line"]
    assert all(set(i) >= {"type", "message"} for i in items)
    [chat] = sandbox.chats()
    assert chat["transcript"] == ["first line", "second line"]
    assert chat["state"] == "ended"
    assert not (isolated_env / "state" / "default.toml").exists(), "the ended chat is forgotten"


def test_chat_human_transcript(cli: Cli) -> None:
    run = cli("chat", "--visitor-name", "Ada", input="hello\n")
    assert run.code == 0, run.stderr
    lines = run.stdout.splitlines()
    assert "You: hello" in lines
    assert "Sandbox Agent: hello" in lines
    assert "\x1b[" not in run.stdout + run.stderr, "no colour codes when not a terminal"


def test_chat_with_no_agent_exits_7(cli: Cli, sandbox: Sandbox) -> None:
    sandbox.set_agent("busy")
    run = cli("chat", input="hello\n")
    assert run.code == 7
    assert sandbox.chats()[0]["transcript"] == []


def test_chat_from_a_pipe_as_a_whole_transcript(cli: Cli) -> None:
    human = cli("chat", "--visitor-name", "Ada", input="hello\n")
    assert human.code == 0, human.stderr
    assert human.stdout.splitlines() == [
        "chat requested: position 1, estimated wait 0 s",
        "Sandbox Agent joined the chat",
        "You: hello",
        "Sandbox Agent: hello",
    ]
    machine = cli("chat", "--json", input="one\ntwo\n")
    items = [json.loads(line) for line in machine.stdout.splitlines()]
    assert [(i["type"], i["message"].get("text")) for i in items] == [
        ("ChatRequestSuccess", None),
        ("ChatEstablished", None),
        ("ChatMessage", "one"),
        ("ChatMessage", "two"),
    ]
