"""`chat` against the sandbox's Enhanced Chat half: piped (each line sent, the replies awaited, the conversation
closed, exit 0; a busy agent exit 7; no agent within --timeout exit 8) and on a terminal (typing, /choose,
/upload, /end, the agent ending the messaging session)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from liveagent_cli.sandbox import Sandbox
from tests.conftest import LIVEAGENT, Cli, Run, wait_until
from tests.test_chat_tty import Terminal


def miaw_env(sandbox: Sandbox) -> dict[str, str]:
    """What `sandbox exec --api miaw` sets."""
    return {
        "LIVEAGENT_API": "miaw",
        "LIVEAGENT_POD": sandbox.messaging_url,
        "LIVEAGENT_ORG_ID": sandbox.org_id,
        "LIVEAGENT_DEPLOYMENT_NAME": sandbox.deployment_name,
    }


def chat(cli: Cli, sandbox: Sandbox, *args: str, input: str) -> Run:
    return cli("chat", *args, input=input, **miaw_env(sandbox))


def lines(run: Run) -> list[dict[str, Any]]:
    return [json.loads(line) for line in run.stdout.splitlines() if line.strip()]


def closed(sandbox: Sandbox) -> bool:
    """Whether the sandbox's only conversation was closed (DELETE …/conversation/{id}), not only its session ended."""
    [conversation] = sandbox.chats()
    return conversation["closedAt"] is not None and not conversation.live


def test_piped_chat_json_with_two_lines_prints_both_replies_and_exits_0(
    cli: Cli, sandbox: Sandbox, isolated_env: Path
) -> None:
    run = chat(cli, sandbox, "--json", "--visitor-name", "Ada", input="first line\nsecond line\n")
    assert run.code == 0, run.stderr
    printed = lines(run)
    assert all({"kind", "type", "id", "message"} <= set(line) for line in printed), printed
    replies = [line for line in printed if line["kind"] == "message"]  # jq 'select(.kind=="message") | .text'
    assert [(r["text"], r["sender"]) for r in replies] == [
        ("first line", "Sandbox Agent"),
        ("second line", "Sandbox Agent"),
    ]
    assert all(r["type"] == "CONVERSATION_MESSAGE" for r in replies)
    assert isinstance(replies[0]["message"]["conversationEntry"]["entryPayload"], dict), "entryPayload decoded"
    assert [line["text"] for line in printed if line["kind"] == "echo"] == ["first line", "second line"]
    assert sandbox.chats()[0]["transcript"] == ["first line", "second line"]
    assert closed(sandbox), "the chat's end closes the conversation"
    assert not (isolated_env / "state" / "default.toml").exists(), "the ended chat is forgotten"


def test_piped_chat_for_people_shows_the_conversation_not_the_bookkeeping(cli: Cli, sandbox: Sandbox) -> None:
    """Your line once (the server's echo of it is not repeated), the agent's answer after it, and no receipt or
    routing-work lines (kind other)."""
    run = chat(cli, sandbox, "--visitor-name", "Ada", input="hello\n")
    assert run.code == 0, run.stderr
    assert run.stdout.splitlines() == [
        "chat requested: waiting, estimated wait 0 s",
        "Sandbox Agent joined the chat",
        "You: hello",
        "Sandbox Agent: hello",
    ]


def test_piped_chat_with_a_busy_agent_exits_7(cli: Cli, sandbox: Sandbox) -> None:
    sandbox.set_agent("busy")
    run = chat(cli, sandbox, input="hello\n")
    assert run.code == 7, run.stderr
    assert "no agent took the chat (Unavailable)" in run.stdout.splitlines()
    assert "hint: try again later" in run.stderr
    assert sandbox.chats()[0]["transcript"] == [], "nothing was sent"
    assert closed(sandbox)


def test_piped_chat_without_an_agent_within_timeout_exits_8(cli: Cli, sandbox: Sandbox) -> None:
    sandbox.set_agent("manual")
    run = chat(cli, sandbox, "--timeout", "0.5", input="hello\n")
    assert run.code == 8, run.stderr
    assert "error: no agent accepted the chat within 0.5 s; it was ended on the server" in run.stderr
    assert sandbox.chats()[0]["transcript"] == []
    assert closed(sandbox), "the conversation waiting for an agent was closed"
    assert cli("status", **miaw_env(sandbox)).code == 6, "the session is forgotten"


def test_transcript_of_an_enhanced_chat(cli: Cli, sandbox: Sandbox, tmp_path: Path) -> None:
    jsonl = tmp_path / "t.jsonl"
    run = chat(cli, sandbox, "--transcript", str(jsonl), input="hello\n")
    assert run.code == 0, run.stderr
    entries = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert [e["text"] for e in entries if e["from"] == "visitor"] == ["hello"]
    said = [e["from"] for e in entries if e["type"] == "CONVERSATION_MESSAGE"]
    assert said == ["visitor", "agent"], "the answer follows its question; the echo is not a second entry"
    assert entries[-1] == {**entries[-1], "from": "liveagent", "text": "chat ended"}


def _terminal(cli: Cli, sandbox: Sandbox) -> Terminal:
    env = cli.env(TERM="xterm-256color", COLUMNS="100", LINES="30", **miaw_env(sandbox))
    env.pop("NO_COLOR", None)
    return Terminal([LIVEAGENT, "chat", "--visitor-name", "Ada"], env)


def _from_visitor(sandbox: Sandbox) -> list[dict[str, Any]]:
    return [e for e in sandbox.chats()[0].events if e["from"] == "visitor"]


def test_interactive_chat_with_typing_choose_upload_and_end(cli: Cli, sandbox: Sandbox, tmp_path: Path) -> None:
    term = _terminal(cli, sandbox)
    term.expect("Sandbox Agent joined the chat")
    term.type("hello there")
    wait_until(lambda: any(e["type"] == "Typing" for e in _from_visitor(sandbox)))
    started = [e for e in _from_visitor(sandbox) if e["type"] == "Typing"][0]
    assert started["data"]["entryType"] == "TypingStartedIndicator", "the typing entry reaches the server"
    term.type("\r")
    term.expect("Sandbox Agent: hello there")

    sandbox.menu(["Billing", "Tech"])
    term.expect("1) Billing  2) Tech")
    term.type("/choose 2\r")
    term.expect("you chose 2: Tech")

    note = tmp_path / "note.txt"
    note.write_text("the order number is 42\n")
    term.type(f"/upload {note}\r")
    term.expect("uploaded note.txt")

    term.type("/end\r")
    assert term.exit_code() == 0
    [conversation] = sandbox.chats()
    assert conversation["transcript"] == ["hello there"], "/choose and /upload are not text messages"
    assert [f["name"] for f in conversation["files"]] == ["note.txt"]
    kinds = [e["type"] for e in _from_visitor(sandbox)]
    assert kinds == [
        "CreateConversation",
        "Typing",
        "NotTyping",
        "Message",
        "ChoicesResponse",
        "File",
        "CloseConversation",
    ]
    assert closed(sandbox), "/end closes the conversation"


def test_the_agent_ending_the_messaging_session_ends_the_prompt(cli: Cli, sandbox: Sandbox) -> None:
    term = _terminal(cli, sandbox)
    term.expect("Sandbox Agent joined the chat")
    sandbox.end()
    term.expect("chat ended (session ended by Agent)")
    assert term.exit_code() == 0
    assert closed(sandbox), "the chat's end closes the conversation the agent left open"


def test_piped_chat_json_inside_sandbox_exec_api_miaw() -> None:
    """Issue 13's done-when, as a user runs it: the lines piped into `chat --json` inside `sandbox exec --api
    miaw` come back answered, and the run exits 0."""
    script = "printf 'first line\\nsecond line\\n' | liveagent chat --json --visitor-name Ada"
    run = subprocess.run(
        [LIVEAGENT, "sandbox", "exec", "--api", "miaw", "--accept-after", "0.05", "--", "sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ, PATH=f"{Path(LIVEAGENT).parent}:{os.environ['PATH']}"),
    )
    assert run.returncode == 0, run.stderr
    printed = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    assert [line["text"] for line in printed if line["kind"] == "message"] == ["first line", "second line"]
    assert "Traceback" not in run.stderr
