"""What Enhanced Chat's events mean, on envelopes written here from miaw-api.md §3.3-§3.4 and §4 (the docs'
sample payloads): kinds, text and sender, entryPayload decoded, listing entries read as the stream's."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from liveagent_cli.core.chat_events import EventKind
from liveagent_cli.core.errors import ApiError
from liveagent_cli.core.miaw.events import ConversationItem, from_entry, from_stream, interpret, json_line
from liveagent_cli.core.miaw.token import token_expiry

CONVERSATION = "3f1c9a52-7d1e-4b8a-9c2f-0e5d6b7a8c9d"


def envelope(entry_type: str, payload: dict[str, Any], *, role: str = "Agent", name: str = "Ada Agent") -> str:
    entry = {
        "senderDisplayName": name,
        "identifier": payload.get("id", "e-1"),
        "entryType": entry_type,
        "entryPayload": json.dumps({"entryType": entry_type, **payload}),
        "sender": {"role": role, "appType": "agent", "subject": "005x", "clientIdentifier": ""},
        "contextParamMap": {},
        "transcriptedTimestamp": 1741299980669,
        "clientTimestamp": 1741299980669,
        "clientDuration": 0,
        "relatedRecords": [],
    }
    return json.dumps(
        {
            "channelPlatformKey": "k",
            "channelType": "embedded_messaging",
            "channelAddressIdentifier": "a",
            "conversationId": CONVERSATION,
            "conversationEntry": entry,
        }
    )


def text_payload(text: str, message_id: str = "m-1") -> dict[str, Any]:
    return {
        "id": message_id,
        "abstractMessage": {
            "messageType": "StaticContentMessage",
            "id": message_id,
            "inReplyToMessageId": None,
            "references": [],
            "staticContent": {"formatType": "Text", "text": text},
        },
        "messageReason": None,
    }


def item(event_name: str, entry_type: str, payload: dict[str, Any], **sender: str) -> ConversationItem:
    return from_stream(event_name, envelope(entry_type, payload, **sender), "17")


def test_an_agent_message_is_kind_message_with_text_and_sender() -> None:
    it = item("CONVERSATION_MESSAGE", "Message", text_payload("hello"))
    event = interpret(it)
    assert (event.kind, event.text, event.agent) == (EventKind.MESSAGE, "hello", "Ada Agent")
    line = json_line(it, event)
    assert line["kind"] == "message" and line["text"] == "hello" and line["sender"] == "Ada Agent"
    assert line["type"] == "CONVERSATION_MESSAGE" and line["id"] == "17"


def test_entry_payload_is_decoded_from_its_json_string_on_the_line() -> None:
    it = item("CONVERSATION_MESSAGE", "Message", text_payload("hi"))
    payload = json_line(it, interpret(it))["message"]["conversationEntry"]["entryPayload"]
    assert payload["abstractMessage"]["staticContent"]["text"] == "hi"
    assert it.conversation_id == CONVERSATION and it.entry_id == "m-1" and it.timestamp == 1741299980669


def test_the_end_users_own_message_echoed_is_not_an_agent_message() -> None:
    it = item("CONVERSATION_MESSAGE", "Message", text_payload("mine"), role="EndUser", name="Guest")
    event = interpret(it)
    assert event.kind is EventKind.ECHO and event.text == "mine"


def test_a_bot_message_counts_as_a_message() -> None:
    event = interpret(item("CONVERSATION_MESSAGE", "Message", text_payload("beep"), role="Chatbot", name="Bot"))
    assert (event.kind, event.agent) == (EventKind.MESSAGE, "Bot")


def test_choices_are_a_menu_with_titles() -> None:
    options = [
        {"itemType": "TitleOptionItem", "titleItem": {"itemType": "TitleItem", "title": t}, "optionIdentifier": f"o{n}"}
        for n, t in enumerate(["Billing", "Orders"])
    ]
    payload = {
        "id": "m-2",
        "abstractMessage": {
            "messageType": "ChoicesMessage",
            "id": "m-2",
            "choices": {"formatType": "Buttons", "text": "Pick one", "optionItems": options},
        },
    }
    it = item("CONVERSATION_MESSAGE", "Message", payload)
    event = interpret(it)
    assert event.kind is EventKind.MENU and event.menu == ("Billing", "Orders") and event.menu_header == "Pick one"
    assert json_line(it, event)["options"] == ["Billing", "Orders"]


def test_attachments_say_what_they_carry() -> None:
    payload = {
        "id": "m-3",
        "abstractMessage": {
            "messageType": "StaticContentMessage",
            "id": "m-3",
            "staticContent": {"formatType": "Attachments", "text": None, "attachments": [{"id": "f", "name": "a.pdf"}]},
        },
    }
    assert interpret(item("CONVERSATION_MESSAGE", "Message", payload)).text == "[attachment: a.pdf]"


def participants(*changes: tuple[str, str, str]) -> dict[str, Any]:
    entries = [
        {"operation": op, "participant": {"role": role, "appType": "agent", "subject": "s"}, "displayName": name}
        for op, role, name in changes
    ]
    return {"id": "p-1", "entries": entries}


def test_an_agent_joining_is_established_and_a_transfer_says_so() -> None:
    joined = interpret(
        item("CONVERSATION_PARTICIPANT_CHANGED", "ParticipantChanged", participants(("add", "Agent", "Ada")))
    )
    assert (joined.kind, joined.agent, joined.transferred) == (EventKind.ESTABLISHED, "Ada", False)
    moved = interpret(
        item(
            "CONVERSATION_PARTICIPANT_CHANGED",
            "ParticipantChanged",
            participants(("remove", "Agent", "Ada"), ("add", "Agent", "Grace")),
        )
    )
    assert (moved.kind, moved.agent, moved.transferred) == (EventKind.ESTABLISHED, "Grace", True)


def test_an_agent_leaving_is_disconnected_and_the_router_is_nobody() -> None:
    left = interpret(
        item("CONVERSATION_PARTICIPANT_CHANGED", "ParticipantChanged", participants(("remove", "Agent", "Ada")))
    )
    assert left.kind is EventKind.DISCONNECTED
    router = interpret(
        item("CONVERSATION_PARTICIPANT_CHANGED", "ParticipantChanged", participants(("add", "Router", "R")))
    )
    assert router.kind is EventKind.OTHER


def test_routing_results() -> None:
    queued = {
        "id": "r",
        "routingType": "Initial",
        "failureType": "None",
        "estimatedWaitTime": {"estimatedWaitTimeInSeconds": 30},
    }
    event = interpret(item("CONVERSATION_ROUTING_RESULT", "RoutingResult", queued))
    assert (event.kind, event.estimated_wait) == (EventKind.REQUESTED, 30.0)
    failed = {"id": "r", "routingType": "Initial", "failureType": "RoutingError", "failureReason": "no queue"}
    event = interpret(item("CONVERSATION_ROUTING_RESULT", "RoutingResult", failed))
    assert (event.kind, event.reason) == (EventKind.FAILED, "no queue")
    transfer = {"id": "r", "routingType": "Transfer", "failureType": "None"}
    assert interpret(item("CONVERSATION_ROUTING_RESULT", "RoutingResult", transfer)).kind is EventKind.TRANSFERRING


def test_session_end_is_ended_but_other_statuses_are_not() -> None:
    ended = {"id": "s", "sessionStatus": "Ended", "sessionEndedByRole": "Agent"}
    event = interpret(item("CONVERSATION_SESSION_STATUS_CHANGED", "SessionStatusChanged", ended))
    assert (event.kind, event.reason) == (EventKind.ENDED, "session ended by Agent")
    active = {"id": "s", "sessionStatus": "Active"}
    assert (
        interpret(item("CONVERSATION_SESSION_STATUS_CHANGED", "SessionStatusChanged", active)).kind is EventKind.OTHER
    )
    closed = interpret(item("CONVERSATION_CLOSE_CONVERSATION", "CloseConversation", {"id": "c"}))
    assert closed.kind is EventKind.ENDED


def test_typing_of_the_agent_but_not_our_own_echo() -> None:
    on = interpret(item("CONVERSATION_TYPING_STARTED_INDICATOR", "TypingStartedIndicator", {"id": "t", "timestamp": 1}))
    off = interpret(
        item("CONVERSATION_TYPING_STOPPED_INDICATOR", "TypingStoppedIndicator", {"id": "t", "timestamp": 1})
    )
    assert (on.kind, on.typing, off.typing) == (EventKind.TYPING, True, False)
    mine = item("CONVERSATION_TYPING_STARTED_INDICATOR", "TypingStartedIndicator", {"id": "t"}, role="EndUser")
    assert interpret(mine).kind is EventKind.OTHER


def test_unknown_events_and_entry_types_are_other_not_errors() -> None:
    event = interpret(item("CONVERSATION_QUEUE_POSITION", "QueuePosition", {"id": "q", "position": 2}))
    assert event.kind is EventKind.OTHER and event.type == "CONVERSATION_QUEUE_POSITION"
    odd = from_stream("SOMETHING_NEW", "not json", "3")
    assert interpret(odd).kind is EventKind.OTHER and odd.message == {"data": "not json"}


def test_a_conversation_event_whose_data_is_not_json_is_an_api_error() -> None:
    with pytest.raises(ApiError, match="CONVERSATION_MESSAGE whose data is not a JSON object"):
        from_stream("CONVERSATION_MESSAGE", "<html>", "3")


@pytest.mark.parametrize("as_string", [False, True])
def test_a_listing_entry_reads_as_the_stream_event(as_string: bool) -> None:
    payload = {"entryType": "Message", **text_payload("from the list", "m-9")}
    entry = {
        "identifier": "m-9",
        "entryType": "Message",
        "entryPayload": json.dumps(payload) if as_string else payload,
        "sender": {"role": "Agent"},
        "senderDisplayName": "Ada",
        "transcriptedTimestamp": 5,
    }
    it = from_entry(CONVERSATION, entry)
    event = interpret(it)
    assert (it.type, it.id, it.entry_id, event.kind, event.text) == (
        "CONVERSATION_MESSAGE",
        None,
        "m-9",
        EventKind.MESSAGE,
        "from the list",
    )
    assert json_line(it, event)["recovered"] is True


def jwt(claims: dict[str, Any]) -> str:
    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256'})}.{part(claims)}.sig"


def test_token_expiry_is_read_from_exp_without_verifying() -> None:
    assert token_expiry(jwt({"exp": 1900000000, "iat": 1})) == 1900000000.0
    assert token_expiry(jwt({"iat": 1})) is None
    assert token_expiry(jwt({"exp": "soon"})) is None
    assert token_expiry("opaque-token") is None
    assert token_expiry("a.!!!.c") is None
