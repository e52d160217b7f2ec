"""The scripted agent (`--agent script:FILE`): the TOML schema checked at start-up, and each step at work."""

from __future__ import annotations

import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from liveagent_cli.sandbox import Sandbox, SandboxConfig
from liveagent_cli.sandbox.agents.script import ScriptError, load_script
from tests.sandbox.helpers import Control, Visitor, types, wait_until

VisitorOn = Callable[[Sandbox], Visitor]
ControlOn = Callable[[Sandbox], Control]


@pytest.fixture
def scripted(
    tmp_path: Path, make_sandbox: Callable[..., Sandbox], visitor_on: VisitorOn, control_on: ControlOn
) -> Callable[..., tuple[Visitor, Control]]:
    """Start a sandbox running the given script; returns a visitor (chat not yet started) and the control API."""

    def start(script: str, **settings: Any) -> tuple[Visitor, Control]:
        path = tmp_path / "agent.toml"
        path.write_text(textwrap.dedent(script))
        sandbox = make_sandbox(agent=f"script:{path}", poll_hold=0.3, **settings)
        return visitor_on(sandbox), control_on(sandbox)

    return start


def _after_accept(visitor: Visitor, until: str, **init: Any) -> list[dict[str, Any]]:
    """Start the chat and collect what the agent sends after ChatEstablished, up to a message of `until`
    (a script's first steps may share a batch with ChatEstablished)."""
    visitor.open()
    assert visitor.init(**init).status_code == 200
    seen = visitor.wait_for(until)
    return seen[types(seen).index("ChatEstablished") + 1 :]


# ---- the schema ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ("colour = 1", "unknown top-level key 'colour'"),
        ('accept = "auto"', 'can only be "manual"'),
        ('accept = "manual"\naccept_after = 1', "not both"),
        ("accept_after = -1", "accept_after must be a number of seconds"),
        ('on_finish = "dance"', "on_finish must be one of"),
        ("steps = 3", "must be an array of tables"),
        ("[[steps]]\nsay = 'a'\n[[steps]]\nsya = 'b'", r"step 2: unknown key 'sya' \(did you mean 'say'\?\)"),
        ("[[steps]]\nbark = 'b'", "step 1: unknown key 'bark'; a step's action is one of: expect, wait, say"),
        ("[[steps]]\ntimeout = 1", r"step 1: needs exactly one action key .*\(found none\)"),
        ("[[steps]]\nsay = 'a'\npause = 1", r"step 1: needs exactly one action key .*\(found say, pause\)"),
        ("[[steps]]\nsay = 'a'\ntimeout = 1", "step 1: unknown key 'timeout'; say takes no options"),
        ("[[steps]]\nexpect = '(unclosed'", "step 1: expect: invalid regular expression"),
        ("[[steps]]\nexpect = 'x'\ntimeout = 0", "step 1: timeout must be more than 0"),
        ("[[steps]]\nexpect = 'x'\non_timeout = 'cry'", 'step 1: on_timeout must be "end" or "continue"'),
        ("[[steps]]\nmenu = []", "step 1: menu must be a non-empty array"),
        ("[[steps]]\nmenu = ['a']\nmenu_type = 'Carousel'", "step 1: menu_type must be one of"),
        ("[[steps]]\nmenu = ['a']\ntimeout = 3", "`timeout` only applies with expect_menu = true"),
        ("[[steps]]\nrequest_file = 'yes'", "step 1: request_file must be true"),
        ("[[steps]]\nwait = 'Telepathy'", "step 1: wait must name a visitor event"),
        ("[[steps]]\ntyping = 'fast'", "step 1: typing must be a number of seconds"),
        ("[[steps]]\nsay = 'hi {nobody}'", r"step 1: say: unknown placeholder \{nobody\}"),
        ("[[steps]]\nsay = 'hi {'", "step 1: say: bad braces"),
        ("[[steps]]\nevent = 'T'\ndata = 5", "step 1: data must be a string"),
        ("steps = [", "not valid TOML"),
    ],
)
def test_bad_scripts_are_refused_naming_the_step_and_key(script: str, message: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(script)
    with pytest.raises(ScriptError, match=message):
        load_script(str(path))


def test_a_missing_script_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ScriptError, match="cannot read it"):
        load_script(str(tmp_path / "nowhere.toml"))


def test_a_bad_script_stops_the_sandbox_from_starting(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[[steps]]\nsya = 'hi'")
    with pytest.raises(ScriptError, match=f"script {path}: step 1: unknown key 'sya'"):
        Sandbox(SandboxConfig(agent=f"script:{path}"))  # checked before anything starts


# ---- the steps -------------------------------------------------------------------------------------


def test_expect_waits_for_a_matching_message_and_say_fills_placeholders(
    scripted: Callable[..., tuple[Visitor, Control]],
) -> None:
    visitor, _ = scripted("""
        accept_after = 0
        [[steps]]
        expect = "(?i)hello (?P<who>\\\\w+)"
        [[steps]]
        say = "Hi {who}! You are {name}, you said '{text}', I am {agent}. {{literal}}"
    """)
    visitor.start_chat(visitorName="Ada")
    visitor.send("not this one")
    visitor.send("Hello Bob")
    [reply] = [m for m in visitor.wait_for("ChatMessage") if m["type"] == "ChatMessage"]
    assert reply["message"]["text"] == "Hi Bob! You are Ada, you said 'Hello Bob', I am Sandbox Agent. {literal}"


def test_typing_and_pause_take_their_time(scripted: Callable[..., tuple[Visitor, Control]]) -> None:
    visitor, _ = scripted("""
        accept_after = 0
        [[steps]]
        typing = 0.2
        [[steps]]
        pause = 0.2
        [[steps]]
        say = "done"
    """)
    visitor.open()
    visitor.init()
    started = time.monotonic()
    seen = visitor.wait_for("ChatMessage")
    assert time.monotonic() - started >= 0.35
    assert types(seen)[-3:] == ["AgentTyping", "AgentNotTyping", "ChatMessage"]


def test_an_expect_that_times_out_ends_the_chat_or_continues(scripted: Callable[..., tuple[Visitor, Control]]) -> None:
    visitor, control = scripted("""
        accept_after = 0
        [[steps]]
        expect = "never"
        timeout = 0.1
        on_timeout = "continue"
        [[steps]]
        say = "moving on"
        [[steps]]
        expect = "never either"
        timeout = 0.1
    """)
    seen = _after_accept(visitor, "ChatEnded")
    assert [m["message"] for m in seen if m["type"] in ("ChatMessage", "ChatEnded")] == [
        {"name": "Sandbox Agent", "text": "moving on", "agentId": "0055g000000SBOXAA4"},
        {"reason": "agent"},
    ]
    events = [e["type"] for e in control.chat(visitor.info["id"])["events"] if e["from"] == "sandbox"]
    assert events == ["ScriptTimeout", "ScriptTimeout"]


def test_menu_waits_for_the_choice(scripted: Callable[..., tuple[Visitor, Control]]) -> None:
    visitor, _ = scripted("""
        accept_after = 0
        [[steps]]
        menu = ["Billing", "Tech support"]
        header = "How can we help?"
        expect_menu = true
        [[steps]]
        say = "You chose {choice}"
    """)
    menu = _after_accept(visitor, "RichMessage")[-1]["message"]
    assert menu == {
        "type": "ChatWindowMenu",
        "items": [{"text": "Billing"}, {"text": "Tech support"}],
        "header": "How can we help?",
    }
    visitor.post("Chasitor/RichMessage", {"actions": [{"type": "ChatWindowMenu", "index": 0}]})
    assert visitor.wait_for("ChatMessage")[-1]["message"]["text"] == "You chose Billing"


def test_transfer_and_conference_steps(scripted: Callable[..., tuple[Visitor, Control]]) -> None:
    visitor, control = scripted("""
        accept_after = 0
        agent_name = "Bot"
        [[steps]]
        transfer = "Tier 2 Agent"
        [[steps]]
        join = "Supervisor"
        [[steps]]
        leave = "Supervisor"
        [[steps]]
        say = "{agent} here"
    """)
    visitor.open()
    visitor.init()
    everything = visitor.wait_for("ChatMessage")
    established = everything[types(everything).index("ChatEstablished")]["message"]
    assert established["name"] == "Bot"
    seen = everything[types(everything).index("ChatEstablished") + 1 :]
    assert types(seen) == ["ChatTransferred", "AgentJoinedConference", "AgentLeftConference", "ChatMessage"]
    transferred = seen[0]["message"]
    assert transferred["name"] == "Tier 2 Agent" and len(transferred["userId"]) == 18
    assert transferred["userId"] != established["userId"]
    assert {"sneakPeekEnabled", "chasitorIdleTimeout"} <= set(transferred)
    assert seen[1]["message"] == {"name": "Supervisor"} == seen[2]["message"]
    assert seen[3]["message"]["name"] == "Tier 2 Agent" and seen[3]["message"]["text"] == "Tier 2 Agent here"
    assert seen[3]["message"]["agentId"] == transferred["userId"]
    assert control.chat(visitor.info["id"])["agentName"] == "Tier 2 Agent"


def test_request_file_waits_for_the_upload(scripted: Callable[..., tuple[Visitor, Control]]) -> None:
    visitor, _ = scripted("""
        accept_after = 0
        [[steps]]
        request_file = true
        expect_file = true
        [[steps]]
        say = "Thanks for {file}"
        [[steps]]
        request_file = true
        [[steps]]
        cancel_file = true
    """)
    transfer = _after_accept(visitor, "FileTransfer")[-1]["message"]
    assert visitor.upload(transfer, b"%PDF-1.4", filename="invoice.pdf").status_code == 200
    seen: list[dict[str, Any]] = []
    while "Canceled" not in [m["message"].get("type") for m in seen if m["type"] == "FileTransfer"]:
        seen += visitor.wait_for("FileTransfer")
    assert [(m["type"], m["message"].get("type") or m["message"].get("text")) for m in seen] == [
        ("FileTransfer", "Success"),
        ("ChatMessage", "Thanks for invoice.pdf"),
        ("FileTransfer", "Requested"),
        ("FileTransfer", "Canceled"),
    ]


def test_event_and_end_steps(scripted: Callable[..., tuple[Visitor, Control]]) -> None:
    visitor, control = scripted("""
        accept_after = 0
        [[steps]]
        event = "PromptForCreditCard"
        data = "Visa for {name}"
        [[steps]]
        end = "agent"
        [[steps]]
        say = "never said"
    """)
    seen = _after_accept(visitor, "ChatEnded", visitorName="Grace")
    assert seen == [
        {"type": "CustomEvent", "message": {"type": "PromptForCreditCard", "data": "Visa for Grace"}},
        {"type": "ChatEnded", "message": {"reason": "agent"}},
    ]
    assert control.chat(visitor.info["id"])["endedBy"] == "agent"


def test_wait_for_visitor_events_with_a_match(scripted: Callable[..., tuple[Visitor, Control]]) -> None:
    visitor, _ = scripted("""
        accept_after = 0
        [[steps]]
        wait = "ChasitorTyping"
        [[steps]]
        wait = "CustomEvent"
        match = "^Cart:(?P<items>\\\\d+)$"
        [[steps]]
        say = "{items} items"
    """)
    visitor.start_chat()
    visitor.post("Chasitor/ChasitorTyping", {})
    visitor.post("Chasitor/CustomEvent", {"type": "Cart", "data": "lots"})
    visitor.post("Chasitor/CustomEvent", {"type": "Cart", "data": "3"})
    assert visitor.wait_for("ChatMessage")[-1]["message"]["text"] == "3 items"


def test_manual_accept_then_echo_when_the_steps_are_done(
    scripted: Callable[..., tuple[Visitor, Control]],
) -> None:
    visitor, control = scripted("""
        accept = "manual"
        on_finish = "echo"
        [[steps]]
        say = "Hello, I echo from now on"
    """)
    visitor.open()
    visitor.init()
    assert types(visitor.wait_for("ChatRequestSuccess")) == ["ChatRequestSuccess"]
    assert visitor.poll().status_code == 204  # waits for the control API
    control.agent(visitor.info["id"], "accept")
    assert visitor.wait_for("ChatMessage")[-1]["message"]["text"] == "Hello, I echo from now on"
    visitor.send("ping")
    assert visitor.wait_for("ChatMessage")[-1]["message"]["text"] == "ping"


def test_on_finish_end_ends_the_chat(scripted: Callable[..., tuple[Visitor, Control]]) -> None:
    visitor, _ = scripted("""
        accept_after = 0
        on_finish = "end"
        [[steps]]
        say = "bye"
    """)
    assert types(_after_accept(visitor, "ChatEnded")) == ["ChatMessage", "ChatEnded"]


def test_several_chats_run_their_scripts_side_by_side(
    scripted: Callable[..., tuple[Visitor, Control]], visitor_on: VisitorOn
) -> None:
    first, _ = scripted("""
        accept_after = 0
        [[steps]]
        expect = "."
        [[steps]]
        say = "{name}: {text}"
    """)
    others = [first] + [visitor_on(first.sandbox) for _ in range(2)]
    for i, visitor in enumerate(others):
        visitor.start_chat(visitorName=f"v{i}")
    for i, visitor in reversed(list(enumerate(others))):  # answer in the opposite order
        visitor.send(f"m{i}")
        assert visitor.wait_for("ChatMessage")[-1]["message"]["text"] == f"v{i}: m{i}"


def test_a_step_that_cannot_run_stops_the_script_not_the_server(
    scripted: Callable[..., tuple[Visitor, Control]],
) -> None:
    visitor, control = scripted("""
        accept_after = 0
        [[steps]]
        leave = "Nobody"
        [[steps]]
        say = "unreachable"
    """)
    visitor.start_chat()
    chat_id = visitor.info["id"]
    wait_until(lambda: any(e["type"] == "ScriptError" for e in control.chat(chat_id)["events"]), what="ScriptError")
    [error] = [e["data"] for e in control.chat(chat_id)["events"] if e["type"] == "ScriptError"]
    assert "Nobody" in error["error"]
    assert control.get("health").status_code == 200
    assert visitor.send("still here").status_code == 200
    assert control.chat(chat_id)["state"] == "established"


def test_the_script_names_visitor_events_as_live_agent_nouns_do() -> None:
    """Scripts keep Live Agent's names for what they wait for; each must mean the kind that API's noun maps to."""
    from liveagent_cli.sandbox.agents.script import WAITABLE
    from liveagent_cli.sandbox.liveagent.nouns import NOUN_KINDS

    assert {name: NOUN_KINDS[name] for name in WAITABLE} == WAITABLE
