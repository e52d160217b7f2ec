"""The agents and the control API acting on Enhanced Chat conversations (issue item 4; CONTRACT `sandbox agent`):
echo, manual, busy; listing conversations; agent actions and what each brings on the stream."""

from __future__ import annotations

import json

from tests.sandbox.miaw.conftest import ControlOn, MakeSandbox, UserOn
from tests.sandbox.miaw.helpers import (
    MESSAGE,
    ROUTING_RESULT,
    Control,
    EndUser,
    echoes_of,
    is_join,
    new_id,
)


def test_the_control_api_lists_conversations(user: EndUser, control: Control) -> None:
    stream = user.start_chat()
    user.round_trip(stream, "listed")
    chat = control.conversation(user.conv())
    assert chat["state"] == "established" and chat["live"] is True and chat["api"] == "miaw"
    one = control.get(f"chats/{chat['id']}")
    assert one.status_code == 200 and user.conv() in json.dumps(one.json())


def test_the_control_api_never_shows_the_access_token(user: EndUser, control: Control) -> None:
    user.start_chat()
    assert user.token is not None
    everything = control.get("chats").text + control.get("requests").text + control.get("health").text
    assert user.token not in everything and user.token.split(".")[2] not in everything


def test_the_manual_agent_keeps_the_conversation_queued_until_accept(
    make_sandbox: MakeSandbox, user_on: UserOn, control_on: ControlOn
) -> None:
    sandbox = make_sandbox(agent="manual")
    user, control = user_on(sandbox), control_on(sandbox)
    stream = user.start()
    stream.wait_for(ROUTING_RESULT)
    message_id = new_id()
    assert user.send("anybody?", message_id).status_code == 202
    stream.until(lambda e: bool(echoes_of([e], message_id)), what="the echo")
    assert not [e for e in stream.seen if is_join(e)], "nobody joins before accept"
    assert control.conversation(user.conv())["state"] == "queued"
    refused = control.agent(user.conv(), "say", text="too early")
    assert refused.status_code == 409
    control.act(user.conv(), "accept")
    stream.until(lambda e: is_join(e, user.conv()), what="the agent joining on accept")
    assert control.conversation(user.conv())["state"] == "established"
    control.act(user.conv(), "say", text="Hi, how can I help?")
    stream.wait_for(MESSAGE, role="Agent", text="Hi, how can I help?")
    assert not [e for e in stream.events(MESSAGE) if e.role == "Agent" and e.text == "anybody?"]


def test_the_busy_agent_fails_routing(make_sandbox: MakeSandbox, user_on: UserOn, control_on: ControlOn) -> None:
    sandbox = make_sandbox(agent="busy")
    user, control = user_on(sandbox), control_on(sandbox)
    stream = user.start()
    routing = stream.wait_for(ROUTING_RESULT)
    assert routing.payload["failureType"] == "RoutingError"  # one of §3.4's failure types
    assert not [e for e in stream.seen if is_join(e)]
    assert control.agent(user.conv(), "accept").status_code == 409


def test_the_agent_setting_changed_at_run_time_applies_to_new_conversations(
    make_sandbox: MakeSandbox, user_on: UserOn, control_on: ControlOn
) -> None:
    sandbox = make_sandbox()
    control = control_on(sandbox)
    assert control.post("settings", {"agent": "busy"}).status_code == 200
    user = user_on(sandbox)
    stream = user.start()
    assert stream.wait_for(ROUTING_RESULT).payload["failureType"] != "None"


def test_the_only_open_conversation_can_be_named_only(
    make_sandbox: MakeSandbox, user_on: UserOn, control_on: ControlOn
) -> None:
    sandbox = make_sandbox(agent="manual")
    user, control = user_on(sandbox), control_on(sandbox)
    stream = user.start()
    stream.wait_for(ROUTING_RESULT)
    assert control.post("chats/_only/agent", {"action": "accept"}).status_code == 200
    stream.until(lambda e: is_join(e, user.conv()), what="the agent joining")


def test_an_agent_action_on_an_unknown_conversation_is_404(control: Control) -> None:
    response = control.post(f"chats/{new_id()}/agent", {"action": "say", "text": "hello?"})
    assert response.status_code == 404


def test_agent_actions_after_the_session_ended_are_refused(user: EndUser, control: Control) -> None:
    stream = user.start_chat()
    control.act(user.conv(), "end")
    stream.until(lambda e: e.event == "CONVERSATION_SESSION_STATUS_CHANGED", what="the end")
    assert control.agent(user.conv(), "say", text="after the end").status_code == 409


def test_a_menu_is_a_choices_message_the_end_user_can_answer(user: EndUser, control: Control) -> None:
    stream = user.start_chat()
    control.act(user.conv(), "menu", items=["Billing", "Support"])
    menu = stream.until(
        lambda e: e.event == MESSAGE and e.payload["abstractMessage"]["messageType"] == "ChoicesMessage",
        what="the choices message",
    )[-1]
    choices = menu.payload["abstractMessage"]["choices"]
    assert choices["formatType"] in ("Buttons", "QuickReplies")
    titles = [item["titleItem"]["title"] for item in choices["optionItems"]]
    assert titles == ["Billing", "Support"]
    chosen = choices["optionItems"][1]["optionIdentifier"]
    reply_id = new_id()
    body = {
        "message": {
            "id": reply_id,
            "messageType": "ChoicesResponseMessage",
            "inReplyToMessageId": menu.payload["abstractMessage"]["id"],
            "choicesResponse": {"formatType": "Selections", "selectedOptions": [{"optionIdentifier": chosen}]},
        },
        "esDeveloperName": user.deployment,
    }
    response = user.request("POST", f"conversation/{user.conv()}/message", json=body)
    assert response.status_code == 202, response.text[:300]
    echo = stream.until(lambda e: e.event == MESSAGE and e.role == "EndUser" and e.message_id == reply_id)[-1]
    assert echo.payload["abstractMessage"]["messageType"] == "ChoicesResponseMessage"
    assert "Support" in json.dumps(control.conversation(user.conv()))


def test_an_echo_conversation_survives_many_round_trips(user: EndUser) -> None:
    stream = user.start_chat()
    for n in range(10):
        user.round_trip(stream, f"round {n}")


def test_a_custom_event_is_refused_on_an_enhanced_chat_conversation(user: EndUser, control: Control) -> None:
    """Enhanced Chat has no custom events (docs/sandbox.md); the refusal is a 400, not a crash."""
    stream = user.start_chat()
    assert control.agent(user.conv(), "event", type="x", data="y").status_code == 400
    user.round_trip(stream, "after the refusal")


def test_reset_forgets_tokens_and_ends_streams(
    make_sandbox: MakeSandbox, user_on: UserOn, control_on: ControlOn
) -> None:
    sandbox = make_sandbox()
    user, control = user_on(sandbox), control_on(sandbox)
    stream = user.start_chat()
    assert control.post("reset").status_code == 200
    stream.wait_closed()
    assert user.status().status_code == 401
    assert not [c for c in control.chats() if c.get("api") == "miaw" and c.get("live")]
    again = user_on(sandbox)
    again.round_trip(again.start_chat(), "after the reset")


def test_what_the_end_user_sends_before_the_agent_joins_is_answered_after_it_joins(
    make_sandbox: MakeSandbox, user_on: UserOn
) -> None:
    """The echo agent joins after --accept-after; a message sent while it is queued waits for it."""
    user = user_on(make_sandbox(accept_after=0.5))
    stream = user.start()
    message_id = new_id()
    assert user.send("early bird", message_id).status_code == 202
    read = stream.until(lambda e: e.event == MESSAGE and e.role == "Agent", what="the agent's answer")
    assert read[-1].text == "early bird"
    kinds = ["join" if is_join(e) else "echo" if echoes_of([e], message_id) else e.event for e in read]
    assert kinds.index("join") < len(kinds) - 1, "the answer comes once the agent has joined"
    assert kinds.count("echo") == 1
