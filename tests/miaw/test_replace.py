"""`session --replace` across the two APIs: a slot holding the other API's open chat is refused without
--replace, and with it that chat is ended on its own server first, as each API's own replace does."""

from __future__ import annotations

import json

from liveagent_cli.sandbox import Sandbox
from tests.conftest import Cli, Run


def miaw(cli: Cli, sandbox: Sandbox, *args: str, **env: str) -> Run:
    """A step with the Enhanced Chat settings (the `cli` fixture's environment is Live Agent's)."""
    flags = ("--pod", sandbox.messaging_url, "--deployment-name", sandbox.deployment_name)
    return cli(*args, *flags, LIVEAGENT_API="miaw", **env)


def live(sandbox: Sandbox, api: str) -> list[dict[str, object]]:
    return [c for c in sandbox.chats() if c["api"] == api and c["state"] != "ended"]


def test_an_open_live_agent_chat_is_ended_before_an_enhanced_chat_session_replaces_it(
    cli: Cli, sandbox: Sandbox
) -> None:
    cli.established("--visitor-name", "Ada")
    refused = miaw(cli, sandbox, "session")
    assert refused.code == 2
    assert refused.stderr.splitlines()[0] == (
        "error: session 'default' is already open (a Live Agent session: a chat with an agent)"
    )
    assert len(live(sandbox, "liveagent")) == 1, "a refused session ends nothing"
    replaced = miaw(cli, sandbox, "session", "--replace")
    assert replaced.code == 0, replaced.stderr
    assert "ended a chat with an agent on the pod (session 'default') before replacing it" in replaced.stderr
    [legacy] = [c for c in sandbox.chats() if c["api"] == "liveagent"]
    assert legacy["state"] == "ended" and legacy["endedBy"] == "visitor"
    assert json.loads(cli("status", "--json").stdout)["api"] == "miaw"


def test_an_open_conversation_is_closed_before_a_live_agent_session_replaces_it(cli: Cli, sandbox: Sandbox) -> None:
    for step in (("session",), ("init", "--visitor-name", "Ada"), ("poll", "--until", "established")):
        run = miaw(cli, sandbox, *step)
        assert run.code == 0, (step, run.stderr)
    refused = cli("session", "--api", "liveagent")
    assert refused.code == 2 and "(an Enhanced Chat session: a conversation with an agent)" in refused.stderr
    assert len(live(sandbox, "miaw")) == 1
    replaced = cli("session", "--api", "liveagent", "--replace")
    assert replaced.code == 0, replaced.stderr
    assert "closed the conversation of session 'default' before replacing it" in replaced.stderr
    [conversation] = [c for c in sandbox.chats() if c["api"] == "miaw"]
    assert conversation["state"] == "ended" and conversation["endedBy"] == "visitor"
    status = json.loads(cli("status", "--json").stdout)
    assert "api" not in status or status["api"] == "liveagent"
    assert status["pod"] == sandbox.pod_url


def test_a_token_alone_or_an_ended_chat_of_the_other_api_is_replaced_quietly(cli: Cli, sandbox: Sandbox) -> None:
    assert miaw(cli, sandbox, "session").code == 0
    assert cli("session", "--api", "liveagent").code == 2, "a session is open even before its conversation"
    assert cli("session", "--api", "liveagent", "--replace").code == 0
    assert [c for c in sandbox.chats() if c["api"] == "miaw"] == [], "a token alone holds nothing to end"
    cli("init")
    cli("poll", "--until", "ChatEstablished")
    sandbox.end()
    assert cli("poll", "--until", "ChatEnded").code == 0
    over = miaw(cli, sandbox, "session")
    assert over.code == 0, over.stderr
    assert json.loads(cli("status", "--json").stdout)["api"] == "miaw"


def test_a_replace_whose_old_server_is_gone_is_refused_and_keeps_the_session(cli: Cli, sandbox: Sandbox) -> None:
    cli.established()
    sandbox.add_fault("status:code=503,path=ChatEnd")
    run = miaw(cli, sandbox, "session", "--replace", LIVEAGENT_NETWORK_TIMEOUT="1")
    assert run.code != 0
    assert "cannot end the chat session 'default' holds, so it is not replaced" in run.stderr
    assert "end --local" in run.stderr
    assert "api" not in json.loads(cli("status", "--json").stdout), "the Live Agent session is kept"
