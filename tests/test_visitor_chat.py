"""`VisitorChat`: a visitor's chat in a Python process, over the commands' own steps, on either API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from liveagent_cli import LiveAgentError, VisitorChat, WaitTimeoutError
from liveagent_cli.core.errors import SessionGoneError
from liveagent_cli.sandbox import Sandbox

APIS = pytest.mark.parametrize("api", ["liveagent", "miaw"])


@pytest.fixture(scope="module")
def server() -> Iterator[Sandbox]:
    with Sandbox(agent="manual", poll_hold=1.0) as sandbox:
        yield sandbox


@pytest.fixture
def agent(server: Sandbox) -> Sandbox:
    server.reset()
    server.clear_faults()
    server.set_agent("manual")
    return server


@APIS
def test_a_whole_conversation_with_a_human_agent(agent: Sandbox, api: str) -> None:
    with VisitorChat.to_sandbox(agent, api=api, visitor_name="Ada") as chat:
        assert agent.chat().state == "queued"
        agent.accept()
        assert chat.wait_for("established").agent == "Sandbox Agent"
        agent.say("first")
        agent.say("second")
        assert [chat.wait_for("message").text, chat.wait_for("message").text] == ["first", "second"]
        agent.menu(["Billing", "Tech"])
        assert chat.wait_for("menu").menu == ("Billing", "Tech")
        chat.choose(2)
        chat.typing()
        chat.send("thanks")
        agent.end("resolved")
        assert chat.wait_for("ended").kind == "ended"
        assert chat.agent_messages == ["first", "second"]
    record = agent.chat()
    assert [line.text for line in record.messages if line.sender == "visitor"][-1] == "thanks"
    assert record.state == "ended"


def test_the_apis_own_names_are_waited_for_too(agent: Sandbox) -> None:
    with VisitorChat.to_sandbox(agent) as chat:
        agent.accept()
        assert chat.wait_for("ChatEstablished").type == "ChatEstablished"
        agent.say("hello")
        assert chat.wait_for("ChatMessage", "ended").text == "hello"


@APIS
def test_a_wait_that_runs_out(agent: Sandbox, api: str) -> None:
    with VisitorChat.to_sandbox(agent, api=api) as chat:
        with pytest.raises(WaitTimeoutError, match="established"):
            chat.wait_for("established", timeout=0.3)
        with pytest.raises(ValueError, match="at least one"):
            chat.wait_for()
    assert agent.chat().state == "ended"


@APIS
def test_a_chat_that_ends_before_the_event_waited_for(agent: Sandbox, api: str) -> None:
    with VisitorChat.to_sandbox(agent, api=api) as chat:
        agent.accept()
        chat.wait_for("established")
        agent.end()
        with pytest.raises(SessionGoneError, match="ended"):
            chat.wait_for("message")


def test_closing_ends_the_chat_and_removes_the_state_folder(agent: Sandbox) -> None:
    chat = VisitorChat.to_sandbox(agent, api="miaw").start()
    folder = chat._folder
    assert folder.is_dir()
    chat.close()
    chat.close()
    assert not folder.exists()
    assert agent.chat().state == "ended" and not agent.chat().live


def test_a_refused_setting_is_the_tools_own_error(agent: Sandbox) -> None:
    with pytest.raises(LiveAgentError) as refused:
        with VisitorChat(
            agent.pod_url, org_id="not-an-id", deployment_id=agent.deployment_id, button_id=agent.button_id
        ):
            pass
    assert refused.value.hint
    assert agent.chats() == [], "nothing was opened on the server"


def test_a_verified_user_on_enhanced_chat(agent: Sandbox) -> None:
    from tests.sandbox.miaw.helpers import identity_token

    with VisitorChat.to_sandbox(agent, api="miaw", identity_token=identity_token("ada@example.com")):
        assert agent.chat()["verified"] is True
