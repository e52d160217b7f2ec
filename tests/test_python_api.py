"""The sandbox's Python API (`liveagent_cli.Sandbox`): the control API's operations as methods, over real HTTP
from the project's own clients, with no HTTP or JSON for the caller."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from liveagent_cli.cli.sandbox import AGENT_ACTIONS
from liveagent_cli.core.client import LiveAgentClient
from liveagent_cli.core.errors import ApiError
from liveagent_cli.core.miaw.client import MiawClient
from liveagent_cli.sandbox import (
    ChatLine,
    ChatRecord,
    FaultSpecError,
    Sandbox,
    SandboxConfig,
    SandboxError,
    SandboxOptions,
)
from liveagent_cli.sandbox.control.routes import ACTIONS


@pytest.fixture(scope="module")
def manual() -> Iterator[Sandbox]:
    """One server for the module (reset by each test), whose agent waits to be told."""
    with Sandbox(agent="manual", poll_hold=1.0) as sandbox:
        yield sandbox


@pytest.fixture
def pod(manual: Sandbox) -> Iterator[Sandbox]:
    manual.reset()
    manual.clear_faults()
    yield manual


def visitor(sandbox: Sandbox, name: str = "Ada") -> LiveAgentClient:
    """A Live Agent visitor that has asked for a chat (SessionId, ChasitorInit)."""
    client = LiveAgentClient(sandbox.pod_url, "52")
    info = client.session_id()
    body = {
        "organizationId": sandbox.org_id,
        "deploymentId": sandbox.deployment_id,
        "buttonId": sandbox.button_id,
        "sessionId": info.id,
        "visitorName": name,
    }
    client.chasitor_init(body, 1)
    return client


def end_user(sandbox: Sandbox) -> tuple[MiawClient, str]:
    """An Enhanced Chat end user with a conversation."""
    client = MiawClient(sandbox.messaging_url, sandbox.org_id, sandbox.deployment_name)
    client.guest_token()
    conversation = str(uuid.uuid4())
    client.create_conversation(conversation)
    return client, conversation


def text(words: str) -> dict[str, object]:
    return {
        "id": str(uuid.uuid4()),
        "messageType": "StaticContentMessage",
        "staticContent": {"formatType": "Text", "text": words},
    }


def test_options_are_the_config_fields_by_name() -> None:
    assert set(SandboxOptions.__annotations__) == {f.name for f in dataclasses.fields(SandboxConfig)}
    sandbox = Sandbox(agent="busy", accept_after=0, seed=7)
    assert (sandbox.config.agent, sandbox.config.accept_after, sandbox.config.seed) == ("busy", 0, 7)
    assert Sandbox(SandboxConfig(agent="busy"), seed=3).config == SandboxConfig(agent="busy", seed=3)
    with pytest.raises(TypeError):
        Sandbox(nonsense=1)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="port"):
        Sandbox(port=70000)


def test_urls_and_ids_a_client_is_given(pod: Sandbox) -> None:
    assert pod.url.startswith("http://127.0.0.1:") and pod.port > 0
    assert pod.url_for("liveagent") == pod.pod_url == pod.url + "/chat/rest/"
    assert pod.url_for("miaw") == pod.messaging_url == pod.url
    assert (pod.org_id, pod.deployment_id, pod.button_id) == ("00D5g000000SBOX", "5725g000000SBOX", "5735g000000SBOX")
    assert pod.deployment_name == "Sandbox_Custom_Client"
    with pytest.raises(ValueError, match="unknown API"):
        pod.url_for("xmpp")  # type: ignore[arg-type]


def test_the_agent_drives_a_live_agent_chat_and_the_record_holds_both_sides(pod: Sandbox) -> None:
    client = visitor(pod)
    queued = pod.wait_for_chat(lambda chat: chat.state == "queued")
    assert queued.api == "liveagent" and queued.visitor_name == "Ada"
    assert pod.accept().state == "established"
    client.chat_message("hello", 2)
    pod.typing()
    pod.say("Hi Ada")
    pod.agent("say", "how", "can I help?")
    chat = pod.chat()
    assert chat.messages == [
        ChatLine("visitor", "hello", chat.messages[0].at),
        ChatLine("agent", "Hi Ada", chat.messages[1].at),
        ChatLine("agent", "how can I help?", chat.messages[2].at),
    ]
    assert chat["transcript"] == ["hello"], "the view's own transcript: the visitor's lines"
    assert chat == pod.chats()[0] and json.loads(json.dumps(pod.chats()))[0]["id"] == chat.id
    ended = pod.end("resolved")
    assert (ended.state, ended.ended_by, ended.end_reason) == ("ended", "agent", "resolved")
    batch = client.messages(None, 5)
    assert batch is not None and "ChatEnded" in [m["type"] for m in batch.messages]


def test_menus_files_transfers_and_events_reach_the_visitor(pod: Sandbox) -> None:
    client = visitor(pod)
    chat = pod.accept()
    pod.menu(["Billing", "Tech"], header="Pick one")
    pod.agent("menu", "Yes", "No", menuType="ChatWindowButton")
    token = pod.request_file(chat)
    pod.cancel_file(chat.id)
    pod.transfer("Grace")
    pod.join("Linus")
    pod.leave("Linus")
    pod.agent("event", "page", "/checkout")
    types: list[str] = []
    ack = None
    while "CustomEvent" not in types:
        batch = client.messages(ack, 5)
        assert batch is not None
        ack = batch.sequence
        types += [m["type"] for m in batch.messages]
    assert {"RichMessage", "FileTransfer", "ChatTransferred", "AgentJoinedConference", "AgentLeftConference"} <= set(
        types
    )
    assert token and pod.chat().agent_name == "Grace"


def test_the_agent_drives_an_enhanced_chat_conversation(pod: Sandbox) -> None:
    client, conversation = end_user(pod)
    assert pod.accept().api == "miaw"
    client.send_message(conversation, text("hi there"))
    pod.say("hello from the agent", chat=conversation)
    chat = pod.wait_for_chat(lambda c: len(c.messages) == 2)
    assert [(line.sender, line.text) for line in chat.messages] == [
        ("visitor", "hi there"),
        ("agent", "hello from the agent"),
    ]
    assert pod.end(chat=chat).state == "ended"


def test_default_chat_is_the_only_open_one_and_otherwise_a_clear_refusal(pod: Sandbox) -> None:
    with pytest.raises(SandboxError) as none:
        pod.accept()
    assert none.value.problem == "no-open-chat" and none.value.status == 409
    with pytest.raises(SandboxError, match="holds 0 chats"):
        pod.chat()
    visitor(pod)
    _, conversation = end_user(pod)
    with pytest.raises(SandboxError) as several:
        pod.accept()
    assert several.value.problem == "several-open-chats" and "chat=ID" in str(several.value)
    assert pod.accept(conversation).id == conversation
    with pytest.raises(SandboxError) as early:
        pod.say("too soon", chat=pod.chats()[0])
    assert early.value.problem == "not-accepted"
    with pytest.raises(SandboxError) as unknown:
        pod.chat("nope")
    assert unknown.value.problem == "unknown-chat"


def test_agent_takes_every_action_of_sandbox_agent(pod: Sandbox) -> None:
    assert set(AGENT_ACTIONS) == set(ACTIONS), "the CLI's actions and the control API's"
    with pytest.raises(SandboxError, match="unknown agent action"):
        pod.agent("dance")
    with pytest.raises(SandboxError, match="takes no arguments"):
        pod.agent("accept", "now")
    with pytest.raises(SandboxError, match="at most 2"):
        pod.agent("event", "a", "b", "c")
    visitor(pod)
    args = {"say": ("hi",), "join": ("Linus",), "leave": ("Linus",), "menu": (["A", "B"],), "event": ("page",)}
    order = ["accept", "say", "typing", "not-typing", "join", "leave", "menu", "event", "request-file"]
    order += ["cancel-file", "transfer", "end"]
    assert set(order) == set(ACTIONS)
    for action in order:
        record = pod.agent(action, *args.get(action, ()))
        assert isinstance(record, ChatRecord)
    assert pod.chat().state == "ended"


def test_faults_are_added_removed_and_cleared_at_run_time(pod: Sandbox) -> None:
    client = visitor(pod)
    pod.accept()
    with pod.fault("status:code=500,path=ChatMessage") as fault:
        assert fault.active and fault.kind == "status"
        with pytest.raises(ApiError, match="500"):
            client.chat_message("refused", 2)
        assert (fault.seen, fault.fired) == (1, 1)
    assert not fault.active and pod.faults() == []
    client.chat_message("taken", 2)
    kept = pod.fault("delay:ms=1,path=Messages")
    pod.fault("drop:times=1,path=Availability")
    assert [f["spec"] for f in pod.faults()] == ["delay:ms=1,path=Messages", "drop:times=1,path=Availability"]
    assert kept.remove() and not kept.remove()
    assert pod.clear_faults() == 1 and pod.faults() == []
    with pytest.raises(FaultSpecError):
        pod.fault("503:every=zero")


def test_reset_forgets_every_chat_of_both_apis(pod: Sandbox) -> None:
    visitor(pod)
    end_user(pod)
    assert {chat.api for chat in pod.chats()} == {"liveagent", "miaw"}
    pod.reset()
    assert pod.chats() == []


def test_waiting_for_a_chat_that_never_comes_says_what_there_was(pod: Sandbox) -> None:
    visitor(pod)
    with pytest.raises(TimeoutError, match="queued"):
        pod.wait_for_chat(lambda chat: chat.state == "ended", timeout=0.1)


def test_the_python_api_loads_neither_typer_rich_nor_prompt_toolkit() -> None:
    code = """
import sys
import liveagent_cli
assert [m for m in sys.modules if m.startswith("liveagent_cli.")] == [], "the names are imported on first use"
with liveagent_cli.Sandbox(accept_after=0) as sandbox:
    for api in ("liveagent", "miaw"):
        with liveagent_cli.VisitorChat.to_sandbox(sandbox, api=api) as chat:
            chat.wait_for("established")
            assert chat.send_and_wait("hi").text == "hi"
    names = [getattr(liveagent_cli, name) for name in liveagent_cli.__all__]
print(sorted({m.split(".")[0] for m in sys.modules} & {"typer", "click", "rich", "prompt_toolkit", "pygments"}))
"""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


def test_the_lazy_names_and_their_stub_agree() -> None:
    import liveagent_cli

    stub = (Path(liveagent_cli.__file__).parent / "__init__.pyi").read_text()
    assert set(re.findall(r" import (\w+) as \1$", stub, re.M)) == set(liveagent_cli._EXPORTS)
    assert set(liveagent_cli.__all__) == {"__version__", *liveagent_cli._EXPORTS} <= set(dir(liveagent_cli))
    assert liveagent_cli.Sandbox is Sandbox
    with pytest.raises(AttributeError, match="no attribute 'Sandbx'"):
        liveagent_cli.Sandbx  # type: ignore[attr-defined]  # noqa: B018
