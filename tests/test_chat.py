"""`chat` from a pipe: sends each line, waits for the agent's replies, ends the chat, exits 0."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

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


def test_chat_json_lines_carry_the_kind_as_poll_json_does(cli: Cli) -> None:
    """Issue 13 item 3: every line has the contract's `kind` besides the pod's `type` and `message`, and a message
    its `text` and `sender`, so `jq -r 'select(.kind=="message") | .text'` reads either API's chat."""
    run = cli("chat", "--json", input="one\ntwo\n")
    assert run.code == 0, run.stderr
    items = [json.loads(line) for line in run.stdout.splitlines()]
    assert [i["kind"] for i in items] == ["requested", "established", "message", "message"]
    replies = [i for i in items if i["kind"] == "message"]
    assert [(r["text"], r["sender"]) for r in replies] == [("one", "Sandbox Agent"), ("two", "Sandbox Agent")]
    assert [r["message"]["text"] for r in replies] == ["one", "two"], "the pod's own fields as it sent them"


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


def test_a_piped_chat_waits_a_bounded_time_for_an_agent_by_default(
    cli: Cli, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """QA2-14: without --timeout a piped chat gives up after PIPED_AGENT_WAIT (shortened here), ends the chat on the
    pod and exits 8 with a hint."""
    from liveagent_cli.flows import chat

    monkeypatch.setattr(chat, "PIPED_AGENT_WAIT", 0.5)
    sandbox.set_agent("manual")
    run = cli("chat", input="hi\n", timeout=30)
    assert run.code == 8, run.stderr
    assert "error: no agent accepted the chat within 0.5 s; it was ended on the pod" in run.stderr
    assert "hint: wait longer with --timeout SECONDS" in run.stderr
    assert sandbox.chats()[0]["state"] == "ended"
    assert cli("status").code == 6, "the session is forgotten"


def test_a_line_that_is_not_utf8_is_named(cli: Cli, sandbox: Sandbox) -> None:
    """QA2-52."""
    run = cli("chat", input=b"ok\n\xff\nlast\n")
    assert run.code == 2
    assert "error: stdin line 2 is not valid UTF-8 (byte 1 of the line)" in run.stderr
    assert sandbox.chats()[0]["transcript"] == ["ok"]


def test_a_500_in_an_established_chat_is_not_a_wait_for_an_agent(cli: Cli, sandbox: Sandbox) -> None:
    """QA2-45: the client's hint for a 500 on a POST before anyone accepted does not fit a chat with an agent."""
    sandbox.add_fault("status:code=500,path=ChatMessage,times=1")
    run = cli("chat", input="hello\n")
    assert run.code == 5
    assert "hint: the pod could not take that message (it was not sent); send it again" in run.stderr
    assert "liveagent poll" not in run.stderr and "You: hello" not in run.stdout


def test_the_chat_threads_have_connections_of_their_own(
    cli: Cli, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review D9: requests does not promise one Session is safe across threads, so the poll thread, the sender
    and the main thread each talk through a pool of their own."""
    from liveagent_cli.flows.context import Context

    pools: dict[str, set[int]] = {}
    made = Context.client

    def spy(self: Context, *args: Any, **kwargs: Any) -> Any:
        client = made(self, *args, **kwargs)
        pools.setdefault(threading.current_thread().name, set()).add(id(self._http))
        return client

    monkeypatch.setattr(Context, "client", spy)
    run = cli("chat", input="hello\n")
    assert run.code == 0, run.stderr
    [poll_pool] = [ids for name, ids in pools.items() if name == "liveagent-poll"]
    others = set().union(*(ids for name, ids in pools.items() if name != "liveagent-poll"))
    assert others and not poll_pool & others, pools
