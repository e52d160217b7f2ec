"""The commands against the sandbox's Enhanced Chat half, as a user runs them: each step its own run, data on
stdout, one error line and a contract exit code, no token anywhere (the `cli` fixture checks every output
against every token the sandbox issued)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from liveagent_cli.sandbox import Sandbox
from tests.conftest import Cli, Run


class Miaw:
    """`cli` pointed at the sandbox's Enhanced Chat half, as `sandbox exec --api miaw` would."""

    def __init__(self, cli: Cli, sandbox: Sandbox) -> None:
        self.cli, self.sandbox = cli, sandbox

    def __call__(self, *args: str, **kwargs: Any) -> Run:
        env = {
            "LIVEAGENT_API": "miaw",
            "LIVEAGENT_POD": self.sandbox.messaging_url,
            "LIVEAGENT_ORG_ID": self.sandbox.org_id,
            "LIVEAGENT_DEPLOYMENT_NAME": self.sandbox.deployment_name,
        }
        env.update(kwargs.pop("env", {}))
        return self.cli(*args, **kwargs, **env)


@pytest.fixture
def miaw(cli: Cli, sandbox: Sandbox) -> Miaw:
    return Miaw(cli, sandbox)


def lines(run: Run) -> list[dict[str, Any]]:
    return [json.loads(line) for line in run.stdout.splitlines() if line.strip()]


def steps_until_established(miaw: Miaw) -> None:
    for args in (("session",), ("init", "--visitor-name", "Ada"), ("poll", "--until", "established")):
        run = miaw(*args)
        assert run.code == 0, (args, run.stderr)


@pytest.mark.process
def test_the_done_when_steps_as_separate_processes(miaw: Miaw) -> None:
    steps_until_established(miaw)
    assert miaw("send", "hello").code == 0
    echoed = miaw("poll", "--until", "message", "--json")
    assert echoed.code == 0, echoed.stderr
    messages = [m for m in lines(echoed) if m["kind"] == "message"]
    assert [m["text"] for m in messages] == ["hello"]
    assert messages[0]["type"] == "CONVERSATION_MESSAGE" and messages[0]["id"]
    assert isinstance(messages[0]["message"]["conversationEntry"]["entryPayload"], dict)
    ended = miaw("end")
    assert ended.code == 0, ended.stderr
    late = miaw("send", "too late")
    assert late.code == 6 and late.stdout == ""
    assert late.stderr.splitlines()[0] == "error: no session"


def test_human_poll_lines_and_the_echo(miaw: Miaw) -> None:
    steps_until_established(miaw)
    miaw("send", "hi there")
    run = miaw("poll", "--until", "message")
    assert run.code == 0, run.stderr
    assert "You: hi there" in run.stdout and "Sandbox Agent: hi there" in run.stdout
    # receipts and routing work in words, never as raw event JSON on a person's screen
    assert "✓ delivered" in run.stdout and "✓ read" in run.stdout
    assert "ACKNOWLEDGEMENT" not in run.stdout and "{" not in run.stdout


def test_receipts_are_their_own_kind_on_json_lines(miaw: Miaw) -> None:
    steps_until_established(miaw)
    miaw("send", "hi there")
    run = miaw("poll", "--until", "message", "--json")
    receipts = [line for line in lines(run) if line["kind"] == "receipt"]
    assert [r["type"] for r in receipts] == [
        "CONVERSATION_DELIVERY_ACKNOWLEDGEMENT",
        "CONVERSATION_READ_ACKNOWLEDGEMENT",
    ]


def test_status_shows_the_api_conversation_last_event_and_expiry_never_the_token(miaw: Miaw) -> None:
    steps_until_established(miaw)
    status = miaw("status", "--json")
    assert status.code == 0, status.stderr
    info = json.loads(status.stdout)
    assert info["api"] == "miaw" and info["conversation_id"] and info["last_event_id"]
    assert info["token_expires_at"].endswith("Z") and info["token_expires_in_seconds"] > 0
    assert "access_token" not in info
    human = miaw("status")
    assert "conversation_id" in human.stdout and "eyJ" not in human.stdout
    secret = miaw("status", "--json", "--show-secrets")
    assert json.loads(secret.stdout)["access_token"].count(".") == 2


def test_the_wire_log_redacts_the_bearer_token(miaw: Miaw) -> None:
    steps_until_established(miaw)
    run = miaw("send", "quiet please", "--verbose")
    assert run.code == 0, run.stderr
    assert "Authorization: <redacted>" in run.stderr and "POST http" in run.stderr


def test_a_command_without_a_counterpart_exits_2(miaw: Miaw) -> None:
    steps_until_established(miaw)
    for args in (("sneak-peek", "typ"), ("breadcrumb", "https://example.com"), ("event", "T", "d"), ("reconnect",)):
        run = miaw(*args)
        assert run.code == 2, (args, run.stderr)
        assert "has no counterpart in Enhanced Chat" in run.stderr.splitlines()[0]


def test_an_unknown_pre_chat_field_is_one_line_exit_3(miaw: Miaw) -> None:
    assert miaw("session").code == 0
    run = miaw("init", "--prechat", "Shoe_Size__c=44")
    assert run.code == 3
    assert run.stderr.splitlines()[0] == "error: pre-chat field 'Shoe_Size__c' is not in the deployment's pre-chat form"


def test_end_keep_conversation_then_send_starts_a_new_session(miaw: Miaw) -> None:
    steps_until_established(miaw)
    kept = miaw("end", "--keep-conversation", "--json")
    assert kept.code == 0 and json.loads(kept.stdout)["kept_conversation"] is True
    again = miaw("send", "back")
    assert again.code == 0 and "new messaging session" in again.stderr


def test_typing_history_availability_and_visitor_settings(miaw: Miaw, sandbox: Sandbox) -> None:
    steps_until_established(miaw)
    assert miaw("typing", "on").code == 0
    miaw("send", "for the record")
    miaw("poll", "--until", "message")
    history = miaw("history", "--json")
    assert history.code == 0, history.stderr
    assert "for the record" in [line.get("text") for line in lines(history)]
    available = miaw("availability", "--json")
    assert available.code == 0 and json.loads(available.stdout)["available"] is True
    settings = miaw("visitor-settings")
    assert settings.code == 0 and "pre-chat _firstName" in settings.stdout
