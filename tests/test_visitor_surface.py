"""Every visitor command against the sandbox, checked on the wire (the pod's record of what it received)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from liveagent_cli.sandbox import BUTTON_ID, Sandbox
from tests.conftest import Cli


def _visitor_events(sandbox: Sandbox, chat: int = 0) -> list[dict]:
    return [e for e in sandbox.chats()[chat]["events"] if e["from"] == "visitor"]


def _last(sandbox: Sandbox, kind: str) -> dict:
    return [e for e in _visitor_events(sandbox) if e["type"] == kind][-1]["data"]


def test_typing_sneak_peek_and_custom_event(cli: Cli, sandbox: Sandbox) -> None:
    cli.established()
    assert cli("typing", "on").code == 0
    assert cli("typing", "off").code == 0
    assert cli("sneak-peek", "hel").code == 0
    assert cli("sneak-peek", "hello", "--position", "2").code == 0
    assert cli("event", "PromptForCreditCard", "Visa").code == 0
    kinds = [e["type"] for e in _visitor_events(sandbox)][1:]
    assert kinds == ["ChasitorTyping", "ChasitorNotTyping", "ChasitorSneakPeek", "ChasitorSneakPeek", "CustomEvent"]
    peeks = [e["data"] for e in _visitor_events(sandbox) if e["type"] == "ChasitorSneakPeek"]
    assert peeks == [{"position": 3, "text": "hel"}, {"position": 2, "text": "hello"}]
    assert _last(sandbox, "CustomEvent") == {"type": "PromptForCreditCard", "data": "Visa"}
    posts = [r for r in sandbox.requests() if r["method"] == "POST"]
    assert [int(r["headers"]["x-liveagent-sequence"]) for r in posts] == list(range(1, 7))
    assert cli("typing", "maybe").code == 2


def test_breadcrumb_with_and_without_a_session_never_carries_the_key(cli: Cli, sandbox: Sandbox) -> None:
    assert cli("breadcrumb", "https://example.com/pricing").code == 0
    bare = sandbox.requests()[-1]
    assert bare["path"].endswith("/Visitor/Breadcrumb") and "x-liveagent-affinity" not in bare["headers"]
    cli.established()
    assert cli("breadcrumb", "https://example.com/checkout").code == 0
    sent = sandbox.requests()[-1]
    assert sent["path"].endswith("/Visitor/Breadcrumb")
    assert "x-liveagent-session-key" not in sent["headers"] and "x-liveagent-affinity" not in sent["headers"]
    control = sandbox.url.split("/chat/rest/")[0] + "/_sandbox/breadcrumbs"
    recorded = requests.get(control, timeout=5).json()["breadcrumbs"]
    assert [b["location"] for b in recorded] == ["https://example.com/pricing", "https://example.com/checkout"]


def test_menus_are_answered_by_number(cli: Cli, sandbox: Sandbox) -> None:
    cli.established()
    assert cli("choose", "1").code == 2, "no menu yet"
    sandbox.agent_action(sandbox.chats()[0]["id"], "menu", items=["Billing", "Tech support"])
    shown = cli("poll", "--until", "RichMessage")
    assert "1) Billing  2) Tech support" in shown.stdout
    assert cli("choose", "3").code == 2
    assert cli("choose", "2").code == 0
    assert (
        _last(sandbox, "RichMessage")["actions"][0] == {"type": "ChatWindowMenu", "index": 1, "text": "Tech support"}
        or _last(sandbox, "RichMessage")["actions"][0]["index"] == 1
    )


def test_an_agents_file_request_answered_with_upload_ends_in_success(
    cli: Cli, sandbox: Sandbox, tmp_path: Path
) -> None:
    cli.established()
    report = tmp_path / "report.pdf"
    report.write_bytes(b"%PDF-1.4 " + bytes(range(256)) * 4000)  # ~1 MB, binary
    assert cli("upload", str(report)).code == 2, "no file was asked for yet"
    sandbox.agent_action(sandbox.chats()[0]["id"], "request-file")
    asked = cli("poll", "--until", "FileTransfer")
    assert "asked for a file" in asked.stdout
    run = cli("upload", str(report), "--json")
    assert run.code == 0, run.stderr
    assert json.loads(run.stdout)["bytes"] == report.stat().st_size
    done = cli("poll", "--until", "FileTransfer", "--json")
    assert [json.loads(x)["message"]["type"] for x in done.stdout.splitlines()] == ["Success"]
    [stored] = sandbox.chats()[0]["files"]
    import hashlib

    assert stored["name"] == "report.pdf" and stored["sha256"] == hashlib.sha256(report.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("name", "content", "flags", "needle"),
    [
        ("empty.txt", b"", [], "is empty"),
        ("tool.exe", b"MZ", [], "unlikely to accept"),
        ("missing.txt", None, [], "no such file"),
    ],
)
def test_upload_checks_the_file_before_sending(
    cli: Cli, sandbox: Sandbox, tmp_path: Path, name: str, content: bytes | None, flags: list[str], needle: str
) -> None:
    cli.established()
    sandbox.agent_action(sandbox.chats()[0]["id"], "request-file")
    cli("poll", "--until", "FileTransfer")
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    run = cli("upload", str(path), *flags)
    assert run.code == 2 and needle in run.stderr
    assert sandbox.chats()[0]["files"] == []


def test_availability_and_visitor_settings(cli: Cli, sandbox: Sandbox) -> None:
    run = cli("availability", "--json")
    assert run.code == 0 and json.loads(run.stdout)["available"] is True
    request = sandbox.requests()[-1]
    assert request["query"]["Availability.needEstimatedWaitTime"] == "1"
    assert set(request["headers"]) & {"x-liveagent-affinity", "x-liveagent-session-key"} == set()
    settings = json.loads(cli("visitor-settings", "--json").stdout)
    assert settings["buttons"][0]["id"] == BUTTON_ID and settings["buttons"][0]["isAvailable"] is True
    sandbox.set_agent("busy")
    none = cli("availability")
    assert none.code == 7 and f"{BUTTON_ID}  unavailable" in none.stdout
    assert none.stderr == "", "QA2-53: the unavailable line is the answer; it is not repeated as an error"
    machine = cli("availability", "--json")
    assert machine.code == 7 and json.loads(machine.stdout)["available"] is False
    assert "error: no agent is online" in machine.stderr, "under --json the one human line is the error"


def test_init_routing_and_prechat_options_on_the_wire(cli: Cli, sandbox: Sandbox, tmp_path: Path) -> None:
    prechat = tmp_path / "prechat.toml"
    prechat.write_text(
        '[[details]]\nlabel = "Email"\nvalue = "ada@example.com"\n\n'
        '[[entities]]\nentityName = "Contact"\n'
        'entityFieldsMaps = [{fieldName = "Email", label = "Email", doFind = true, isExactMatch = true, '
        "doCreate = false}]\n"
    )
    assert cli("session").code == 0
    run = cli(
        "init",
        "--prechat-file",
        str(prechat),
        "--prechat",
        "Plan=Gold",
        "--prechat-hidden",
        "Token=t0k",
        "--transcript-field",
        "Email=Email__c",
        "--agent-id",
        "0055g00000AGENT",
        "--fallback",
        "--button-override",
        "0055g00000AGENT_5735g000000SBOX",
        "--visitor-name",
        "Ada",
    )
    assert run.code == 0, run.stderr
    body = _last(sandbox, "ChasitorInit")
    assert body["agentId"] == "0055g00000AGENT" and body["doFallback"] is True
    assert body["buttonOverrides"] == ["0055g00000AGENT_5735g000000SBOX"]
    assert [(d["label"], d["displayToAgent"], d["transcriptFields"]) for d in body["prechatDetails"]] == [
        ("Email", True, ["Email__c"]),
        ("Plan", True, []),
        ("Token", False, []),
    ]
    assert body["prechatEntities"][0]["entityName"] == "Contact"


def test_a_bad_prechat_file_is_refused_before_anything_is_sent(cli: Cli, sandbox: Sandbox, tmp_path: Path) -> None:
    prechat = tmp_path / "prechat.toml"
    prechat.write_text('[[details]]\nlabel = "Email"\nvalue = "x"\n\n[[entities]]\nentityName = "case"\n')
    cli("session")
    run = cli("init", "--prechat-file", str(prechat))
    assert run.code == 3 and f"{prechat}:6:" in run.stderr and "'Case'" in run.stderr
    assert not [r for r in sandbox.requests() if r["method"] == "POST"]
    assert cli("init", "--fallback").code == 2


def test_two_named_sessions_chat_side_by_side(cli: Cli, sandbox: Sandbox) -> None:
    sandbox.set_agent("manual")
    for name in ("a", "b"):
        assert cli("session", "--session", name).code == 0
        assert cli("init", "--session", name, "--visitor-name", name.upper()).code == 0
    chats = {c["visitorName"]: c["id"] for c in sandbox.chats()}
    for who in ("A", "B"):
        sandbox.agent_action(chats[who], "accept")
        sandbox.agent_action(chats[who], "say", text=f"hello {who}")
    heard = {}
    for name in ("a", "b"):
        run = cli("poll", "--session", name, "--until", "ChatMessage", "--json")
        heard[name] = [json.loads(x)["message"]["text"] for x in run.stdout.splitlines() if '"ChatMessage"' in x]
    assert heard == {"a": ["hello A"], "b": ["hello B"]}
    assert cli("send", "--session", "b", "only b").code == 0
    texts = {c["visitorName"]: c["transcript"] for c in sandbox.chats()}
    assert texts == {"A": [], "B": ["only b"]}


def test_chat_transcript_file_both_sides(cli: Cli, tmp_path: Path) -> None:
    jsonl, md = tmp_path / "t.jsonl", tmp_path / "t.md"
    assert cli("chat", "--transcript", str(jsonl), input="hi\n").code == 0
    entries = [json.loads(x) for x in jsonl.read_text().splitlines()]
    said = [(e["from"], e["text"]) for e in entries if e["type"] == "ChatMessage"]
    assert said == [("visitor", "hi"), ("agent", "hi")]
    assert cli("chat", "--transcript", str(md), input="hello\n").code == 0
    text = md.read_text()
    assert "**You:** hello" in text and "**Sandbox Agent:** hello" in text


def test_config_profiles_and_status_sources(cli: Cli, sandbox: Sandbox, isolated_env: Path) -> None:
    assert cli("config", "set", "local", "pod", sandbox.pod_url).code == 0
    assert cli("config", "set", "local", "org_id", "bogus").code == 3, "a bad id is refused before it is written"
    assert cli("config", "set", "local", "nonsense", "x").code == 2
    assert json.loads(cli("config", "list", "--json").stdout) == {"profiles": ["local"]}
    shown = json.loads(cli("config", "show", "local", "--json", LIVEAGENT_POD="").stdout)
    assert shown["settings"]["pod"] == {"value": sandbox.pod_url, "source": "profile local"}
    assert cli("session", "--profile", "local", LIVEAGENT_POD="").code == 0
    status = cli("status")
    assert "(profile local)" in status.stdout
    assert json.loads(cli("status", "--json").stdout)["sources"]["pod"] == "profile local"


def test_an_agent_named_earlier_in_a_batch_names_the_lines_after_it(cli: Cli, sandbox: Sandbox) -> None:
    """QA2-25: transfer, typing and a menu in one batch: the typing and menu lines name the new agent."""
    sandbox.set_agent("manual")
    assert cli("session").code == 0 and cli("init").code == 0
    chat = sandbox.chats()[0]["id"]
    sandbox.agent_action(chat, "accept")
    sandbox.agent_action(chat, "transfer", name="Bob")
    sandbox.agent_action(chat, "typing")
    sandbox.agent_action(chat, "menu", items=["A", "B"])
    run = cli("poll", "--until", "menu")
    assert run.code == 0, run.stderr
    lines = run.stdout.splitlines()
    assert "chat transferred to Bob" in lines
    assert "Bob is typing…" in lines and "Bob offers a menu: 1) A  2) B" in lines
    assert not any(line.startswith("agent ") for line in lines)


def test_poll_until_takes_kinds_and_types_and_refuses_anything_else(cli: Cli, sandbox: Sandbox) -> None:
    """QA2-20: a misspelt --until is refused at once (exit 2) naming the valid ones, not waited on."""
    assert cli("session").code == 0 and cli("init").code == 0
    typo = cli("poll", "--until", "ChatEstablised")
    assert typo.code == 2
    assert "'ChatEstablised'" in typo.stderr and "did you mean ChatEstablished?" in typo.stderr
    assert "established" in typo.stderr and "ChatMessage" in typo.stderr, "the hint names the kinds and the types"
    assert [r for r in sandbox.requests() if "Messages" in r["path"]] == [], "nothing was polled"
    assert cli("poll", "--until", "established", "--timeout", "10").code == 0, "a kind is a valid --until"
    assert cli("send", "ping").code == 0
    assert cli("poll", "--until", "ChatMessage,ended", "--timeout", "10").code == 0, "and so is a type"


def test_a_refused_chat_request_is_said_once(cli: Cli, sandbox: Sandbox) -> None:
    """QA2-53: the pod's ChatRequestFail line on stdout is the message; stderr adds only the hint."""
    sandbox.set_agent("busy")
    assert cli("session").code == 0 and cli("init").code == 0
    run = cli("poll", "--until", "ChatEstablished")
    assert run.code == 7
    assert "no agent took the chat (Unavailable)" in run.stdout
    assert "no agent took the chat" not in run.stderr and run.stderr.startswith("hint: ")
    piped = cli("chat", input="hi\n")
    assert piped.code == 7 and "no agent took the chat" in piped.stdout and "error:" not in piped.stderr


def test_notes_say_what_was_sent_and_an_empty_event_has_no_dangling_colon(cli: Cli, sandbox: Sandbox) -> None:
    """QA2-56: send notes what it sent as event does; an agent event with no data reads `event T`."""
    cli.established()
    sent = cli("send", "hello")
    assert sent.code == 0 and sent.stderr == "sent ChatMessage\n"
    assert cli("event", "T", "d").stderr == "sent CustomEvent\n"
    sandbox.agent_action(sandbox.chats()[0]["id"], "event", type="T")
    lines = cli("poll", "--until", "CustomEvent").stdout.splitlines()
    assert "event T" in lines and not any(line.endswith(":") for line in lines)


def test_a_second_session_or_init_says_where_the_chat_stands(cli: Cli) -> None:
    """QA2-56: not `already holds a chat (session, 0 s old)` for a session with no chat, nor `(requested)`."""
    assert cli("session").code == 0
    again = cli("session")
    assert again.code == 2 and "session 'default' is already open (no chat requested yet," in again.stderr
    assert cli("init").code == 0
    twice = cli("init")
    assert twice.code == 2 and "error: session 'default' already has a chat requested, no answer yet\n" in twice.stderr
    assert cli("poll", "--until", "established").code == 0
    assert "(a chat with an agent," in cli("session").stderr
