"""The sandbox's agents, control API and limits on Enhanced Chat conversations: the same behaviours as on
legacy chats (scripts with menus, files and transfers; manual; busy), the control API showing each chat's
API, the rate limits (429, and off), and the deployment configuration endpoints."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from liveagent_cli.sandbox import Sandbox
from tests.sandbox.miaw_support import V2, EndUser, new_id

MakeSandbox = Callable[..., Sandbox]


@pytest.fixture
def users() -> Iterator[Callable[..., EndUser]]:
    made: list[EndUser] = []

    def make(sandbox: Sandbox, **options: str) -> EndUser:
        user = EndUser(sandbox, **options)
        made.append(user)
        return user

    yield make
    for user in made:
        user.close()


SCRIPT = """
accept_after = 0
agent_name = "Menu Bot"
[[steps]]
menu = ["Billing", "Tech support"]
expect_menu = true
[[steps]]
say = "You chose {choice}"
[[steps]]
request_file = true
expect_file = true
[[steps]]
say = "Got {file}"
[[steps]]
transfer = "Tier 2 Agent"
[[steps]]
end = "agent"
"""


def test_a_script_drives_menus_files_and_a_transfer(
    make_sandbox: MakeSandbox, users: Callable[..., EndUser], tmp_path: Path
) -> None:
    script = tmp_path / "bot.toml"
    script.write_text(SCRIPT)
    user = users(make_sandbox(seed=31, agent=f"script:{script}"))
    user.login()
    user.create()
    stream = user.stream(last_event_id=user.last_event_id)
    joined = stream.until("CONVERSATION_PARTICIPANT_CHANGED")
    assert joined.payload["entries"][0]["displayName"] == "Menu Bot"
    menu = stream.until("CONVERSATION_MESSAGE", role="Agent")
    choices = menu.payload["abstractMessage"]["choices"]
    assert choices["formatType"] == "QuickReplies"
    options = {o["titleItem"]["title"]: o["optionIdentifier"] for o in choices["optionItems"]}
    assert list(options) == ["Billing", "Tech support"]
    reply = {
        "id": new_id(),
        "messageType": "ChoicesResponseMessage",
        "inReplyToMessageId": menu.payload["abstractMessage"]["id"],
        "choicesResponse": {
            "formatType": "Selections",
            "selectedOptions": [{"optionIdentifier": options["Tech support"]}],
        },
    }
    path = f"{V2}/conversation/{user.conversation}/message"
    sent = user.http.post(
        user.base + path, json={"message": reply, "esDeveloperName": user.deployment}, headers=user.headers()
    )
    assert sent.status_code == 202, sent.text
    assert stream.until("CONVERSATION_MESSAGE", role="Agent", text="You chose Tech support")
    stream.until("CONVERSATION_MESSAGE", role="Agent")  # the file request
    entry = json.dumps({"esDeveloperName": user.deployment, "message": {"id": new_id(), "fileId": new_id()}})
    files = {
        "messageEntry": (None, entry, "application/json"),
        "fileData": ("receipt.pdf", b"%PDF-1.4 tiny", "application/pdf"),
    }
    upload = user.http.post(
        user.base + f"{V2}/conversation/{user.conversation}/file", files=files, headers=user.headers()
    )
    assert upload.status_code == 202, upload.text
    attached = stream.until("CONVERSATION_MESSAGE", role="EndUser")
    assert attached.payload["abstractMessage"]["staticContent"]["attachments"][0]["name"] == "receipt.pdf"
    assert stream.until("CONVERSATION_MESSAGE", role="Agent", text="Got receipt.pdf")
    transfer = stream.until("CONVERSATION_ROUTING_RESULT")
    assert transfer.payload["routingType"] == "Transfer"
    removed = stream.until("CONVERSATION_PARTICIPANT_CHANGED")
    added = stream.until("CONVERSATION_PARTICIPANT_CHANGED")
    assert (removed.payload["entries"][0]["operation"], added.payload["entries"][0]["operation"]) == ("remove", "add")
    assert added.payload["entries"][0]["displayName"] == "Tier 2 Agent"
    status = stream.until("CONVERSATION_SESSION_STATUS_CHANGED")
    assert status.payload["sessionStatus"] == "Ended"


def test_a_busy_agent_fails_routing_and_ends_the_session(
    make_sandbox: MakeSandbox, users: Callable[..., EndUser]
) -> None:
    user = users(make_sandbox(seed=31, agent="busy"))
    user.login()
    user.create()
    stream = user.stream(last_event_id=user.last_event_id)
    routing = stream.until("CONVERSATION_ROUTING_RESULT")
    assert routing.payload["failureType"] == "RoutingError" and routing.payload["failureReason"] == "Unavailable"
    assert stream.until("CONVERSATION_SESSION_STATUS_CHANGED").payload["sessionStatus"] == "Ended"
    assert user.send("hello?").status_code == 417
    hours = requests.get(
        user.base + "/embeddedservice/v1/businesshours", params={"orgId": user.org, "esConfigName": user.deployment}
    )
    assert hours.json() == {"businessHoursInfo": {"businessHours": []}}


def test_the_control_api_lists_and_drives_conversations_beside_legacy_chats(
    make_sandbox: MakeSandbox, users: Callable[..., EndUser]
) -> None:
    sandbox = make_sandbox(seed=31, agent="manual")
    user = users(sandbox)
    user.login()
    user.create(routingAttributes={"_firstName": "Grace"})
    stream = user.stream(last_event_id=user.last_event_id)
    control = sandbox.url + "/_sandbox/"
    [chat] = requests.get(control + "chats", timeout=10).json()["chats"]
    assert (chat["api"], chat["state"], chat["visitorName"]) == ("miaw", "queued", "Grace")
    accepted = requests.post(control + "chats/_only/agent", json={"action": "accept"}, timeout=10)
    assert accepted.status_code == 200 and accepted.json()["chat"]["state"] == "established"
    stream.until("CONVERSATION_PARTICIPANT_CHANGED")
    for action in ({"action": "typing"}, {"action": "say", "text": "How can I help?"}, {"action": "not-typing"}):
        assert requests.post(control + f"chats/{user.conversation}/agent", json=action, timeout=10).status_code == 200
    stream.until("CONVERSATION_TYPING_STARTED_INDICATOR")
    assert stream.until("CONVERSATION_MESSAGE").text == "How can I help?"
    stream.until("CONVERSATION_TYPING_STOPPED_INDICATOR")
    event = requests.post(
        control + f"chats/{user.conversation}/agent", json={"action": "event", "type": "x"}, timeout=10
    )
    assert event.status_code == 400 and "no custom events" in event.json()["error"]
    shown = requests.get(control + f"chats/{user.conversation}", timeout=10).json()
    assert shown["routingStatus"] == "ROUTED" and shown["streamOpen"] is True
    assert requests.get(control + "health", timeout=10).json()["messaging"]["rateLimits"] is True
    assert requests.post(control + "reset", timeout=10).json()["ended"] == 1
    assert stream.drain_until_end() == []  # a reset ends the open stream
    assert user.get(f"/conversation/{user.conversation}").status_code == 401  # and forgets its tokens


def test_rate_limits_answer_429_with_retry_after_and_can_be_switched_off(
    make_sandbox: MakeSandbox, users: Callable[..., EndUser]
) -> None:
    user = users(make_sandbox(seed=31))
    user.login()
    assert [user.create().status_code for _ in range(4)] == [201, 201, 201, 429]  # 3 per 30 s per end user
    refused = user.create()
    assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 30
    assert refused.json()["errorCode"] == "TOO_MANY_REQUESTS"
    free = users(make_sandbox(seed=31, rate_limits=False))
    free.login()
    assert [free.create().status_code for _ in range(5)] == [201] * 5


def test_the_deployment_configuration_has_the_prechat_form(
    make_sandbox: MakeSandbox, users: Callable[..., EndUser]
) -> None:
    sandbox = make_sandbox(seed=31, deployment_name="Only_This")
    url = sandbox.url + "/embeddedservice/v1/embedded-service-config"
    config = requests.get(url, params={"orgId": "00D5g000000SBOX", "esConfigName": "Only_This"}, timeout=10)
    form = config.json()["embeddedServiceConfig"]["forms"][0]
    assert form["formType"] == "PreChat" and [f["name"] for f in form["formFields"]][0] == "_firstName"
    other = requests.get(url, params={"orgId": "00D5g000000SBOX", "esConfigName": "Other"}, timeout=10)
    assert other.status_code == 412 and other.json() == {"text": "Embedded Messaging Config is not Published"}
    assert requests.get(url, params={"orgId": "00D5g000000SBOX"}, timeout=10).status_code == 400
    stranger = users(sandbox, deployment="Other")
    body = {"orgId": stranger.org, "esDeveloperName": "Other", "capabilitiesVersion": "1"}
    assert (
        stranger.http.post(stranger.base + V2 + "/authorization/unauthenticated/access-token", json=body).status_code
        == 400
    )
