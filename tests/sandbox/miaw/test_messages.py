"""What the end user sends (reference §2.1 #8-#12, §5, §6): messages (202, processed once per message id),
files (202, 413 over 5 MB), 417 once the session has ended unless `isNewMessagingSession`, typing entries,
acknowledgements, and the entries list with limit/direction/entryTypeFilter."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from tests.sandbox.miaw.conftest import ControlOn
from tests.sandbox.miaw.helpers import (
    API,
    DELIVERY_ACK,
    MESSAGE,
    PARTICIPANT_CHANGED,
    READ_ACK,
    ROUTING_RESULT,
    SESSION_STATUS,
    Background,
    Control,
    EndUser,
    echoes_of,
    error_message,
    is_join,
    new_id,
)

FIVE_MB = 5 * 1024 * 1024


def test_a_message_is_202_echoed_to_the_end_user_and_answered(user: EndUser) -> None:
    stream = user.start_chat()
    message_id = new_id()
    response = user.send("hello there", message_id)
    assert response.status_code == 202, response.text[:300]
    echo = stream.until(lambda e: bool(echoes_of([e], message_id)), what="the echo of our own message")[-1]
    assert echo.text == "hello there" and echo.conversation_id == user.conv()
    answer = stream.wait_for(MESSAGE, role="Agent")
    assert answer.text == "hello there"


@pytest.mark.parametrize(
    "text",
    [
        "plain",
        "  leading and trailing spaces  ",
        "two\nlines\r\nand a tab\t",
        "émoji 🎉 ünïcödé 漢字",
        '"quoted" <b>&amp;</b>',
    ],
)
def test_the_echo_agent_answers_exactly_the_text(user: EndUser, text: str) -> None:
    stream = user.start_chat()
    answer = user.round_trip(stream, text)
    assert answer.text == text and answer.role == "Agent"


def test_a_message_sent_twice_with_one_id_is_processed_once(user: EndUser) -> None:
    stream = user.start_chat()
    message_id = new_id()
    first, second = user.send("only once", message_id), user.send("only once", message_id)
    assert first.status_code == 202
    assert second.status_code == 202 and second.json() == first.json(), "a repeat gets the first answer"
    user.round_trip(stream, "sentinel")  # everything caused before the sentinel has arrived by now
    assert len(echoes_of(stream.seen, message_id)) == 1
    answers = [e for e in stream.events(MESSAGE) if e.role == "Agent" and e.text == "only once"]
    assert len(answers) == 1, "the agent answered the repeated request twice"
    listed = user.entries(limit="50").json()["conversationEntries"]
    assert sum(1 for e in listed if _payload(e).get("abstractMessage", {}).get("id") == message_id) == 1


def test_concurrent_repeats_of_one_message_id_are_processed_once(user: EndUser) -> None:
    stream = user.start_chat()
    message_id = new_id()
    calls = [Background(lambda: user_send_fresh(user, message_id)) for _ in range(6)]
    statuses = [call.result().status_code for call in calls]
    assert statuses == [202] * len(statuses), statuses
    user.round_trip(stream, "sentinel")
    assert len(echoes_of(stream.seen, message_id)) == 1
    assert len([e for e in stream.events(MESSAGE) if e.role == "Agent" and e.text == "racing"]) == 1


def user_send_fresh(user: EndUser, message_id: str) -> Any:
    """A send on its own connection (requests.Session is not thread-safe)."""
    body = user.message_body("racing", message_id)
    url = user.base + API + f"conversation/{user.conv()}/message"
    return requests.post(url, json=body, headers=user.bearer(), timeout=15)


def test_the_message_response_names_the_entry(user: EndUser) -> None:
    """CW `MessageResponse`: `{conversationEntries: [{id, clientTimestamp}]}`."""
    user.start_chat()
    message_id = new_id()
    response = user.send("what id?", message_id)
    assert response.status_code == 202
    entries = response.json()["conversationEntries"]
    assert entries and isinstance(entries[0]["id"], str) and isinstance(entries[0]["clientTimestamp"], int)


def test_a_message_body_over_5_mb_is_413(user: EndUser) -> None:
    stream = user.start_chat()
    response = user.send("x" * (FIVE_MB + 1024))
    assert response.status_code == 413
    user.round_trip(stream, "still fine")


def test_a_file_is_202_and_a_file_over_5_mb_is_413(user: EndUser, control: Control) -> None:
    stream = user.start_chat()
    small = user.send_file(b"hello file", filename="hello.txt", text="see attached")
    assert small.status_code == 202, small.text[:300]
    big = user.send_file(b"\0" * (FIVE_MB + 1), filename="big.bin", content_type="application/octet-stream")
    assert big.status_code == 413
    assert error_message(big)
    user.round_trip(stream, "after the files")
    files = control.conversation(user.conv()).get("files", [])
    assert [f["name"] for f in files] == ["hello.txt"]


def test_a_file_upload_without_its_parts_is_400(user: EndUser) -> None:
    user.start_chat()
    path = f"conversation/{user.conv()}/file"
    entry = json.dumps({"esDeveloperName": user.deployment, "message": {"id": new_id(), "fileId": new_id()}})
    no_file = user.request("POST", path, files={"messageEntry": (None, entry, "application/json")})
    no_entry = user.request("POST", path, files={"fileData": ("a.txt", b"abc", "text/plain")})
    bad_entry = user.request(
        "POST", path, files={"messageEntry": (None, "{nope", "application/json"), "fileData": ("a", b"a")}
    )
    not_multipart = user.request("POST", path, json={"message": {"id": new_id()}})
    for response in (no_file, no_entry, bad_entry):
        assert response.status_code == 400, response.text[:200]
    assert not_multipart.status_code == 415


# ---- 417 and new messaging sessions (§5) ---------------------------------------------------------------


def test_after_the_agent_ends_the_session_a_message_is_417_until_a_new_session_is_asked_for(
    user: EndUser, control: Control
) -> None:
    stream = user.start_chat()
    control.act(user.conv(), "end")
    ended = stream.wait_for(SESSION_STATUS)
    assert ended.payload["sessionStatus"] == "Ended"
    refused = user.send("anyone there?")
    assert refused.status_code == 417
    assert error_message(refused)
    assert user.status().json()["routingStatus"] == "NEEDS_ROUTING"
    message_id = new_id()
    again = user.send("new session please", message_id, isNewMessagingSession=True, routingAttributes={}, language="en")
    assert again.status_code == 202
    stream.wait_for(ROUTING_RESULT)
    stream.until(lambda e: is_join(e, user.conv()), what="an agent joining the new session")
    stream.wait_for(MESSAGE, role="Agent", text="new session please")
    assert len(echoes_of(stream.seen, message_id)) == 1
    assert user.send("and on we go").status_code == 202, "the new session takes plain messages again"


def test_after_the_end_user_ends_the_session_a_message_is_417(user: EndUser) -> None:
    stream = user.start_chat()
    assert user.end_session().status_code == 204
    stream.wait_for(SESSION_STATUS)
    assert user.send("hello again").status_code == 417
    assert user.send("hello again", isNewMessagingSession=True, routingAttributes={}).status_code == 202
    stream.wait_for(MESSAGE, role="Agent", text="hello again")


def test_the_agent_ending_the_session_removes_the_participant(user: EndUser, control: Control) -> None:
    stream = user.start_chat()
    control.act(user.conv(), "end")
    removed = stream.until(
        lambda e: (
            e.event == PARTICIPANT_CHANGED and any(i.get("operation") == "remove" for i in e.payload.get("entries", []))
        ),
        what="the agent leaving",
    )[-1]
    assert removed.conversation_id == user.conv()
    stream.wait_for(SESSION_STATUS)


# ---- typing and acknowledgements --------------------------------------------------------------------------


def test_typing_entries_are_accepted(user: EndUser) -> None:
    stream = user.start_chat()
    for started in (True, False):
        response = user.typing(started)
        assert response.status_code == 200 and response.json() == {}, response.text[:200]
    user.round_trip(stream, "typed")


def test_acknowledging_the_agents_message_is_accepted(user: EndUser) -> None:
    stream = user.start_chat()
    answer = user.round_trip(stream, "ack me")
    for kind in ("Delivery", "Read"):
        response = user.acknowledge(answer.entry["identifier"], kind)
        assert response.status_code == 200 and response.json() == {}, (kind, response.status_code, response.text[:200])


def test_the_agent_acknowledges_delivery_and_reading_of_the_end_users_message(user: EndUser) -> None:
    stream = user.start_chat()
    message_id = new_id()
    assert user.send("did you get it", message_id).status_code == 202
    echo = stream.until(lambda e: bool(echoes_of([e], message_id)), what="the echo")[-1]
    acknowledged = {message_id, echo.entry["identifier"]}
    stream.until(lambda e: bool(stream.events(DELIVERY_ACK) and stream.events(READ_ACK)), what="both acks")
    for ack in (stream.events(DELIVERY_ACK)[0], stream.events(READ_ACK)[0]):
        payload = ack.payload
        assert payload["entryType"] in ("DeliveryAcknowledgement", "ReadAcknowledgement")
        assert payload["acknowledgedConversationEntryIdentifier"] in acknowledged
        assert isinstance(payload["acknowledgementTimestamp"], int)
        assert ack.entry["relatedRecords"][0] in acknowledged


# ---- the entries list ------------------------------------------------------------------------------------


def _payload(entry: dict[str, Any]) -> dict[str, Any]:
    """A listed entry's payload: an object by SAMPLE, a string by CW (§1.5) — clients accept both."""
    raw = entry["entryPayload"]
    parsed: dict[str, Any] = json.loads(raw) if isinstance(raw, str) else raw
    return parsed


def _chat_with_three_messages(user: EndUser) -> list[str]:
    stream = user.start_chat()
    texts = ["one", "two", "three"]
    for text in texts:
        user.round_trip(stream, text)
    return texts


def test_entries_list_the_conversation_with_the_entry_shape_of_the_reference(user: EndUser) -> None:
    _chat_with_three_messages(user)
    response = user.entries()
    assert response.status_code == 200
    entries = response.json()["conversationEntries"]
    kinds = {e["entryType"] for e in entries}
    assert "Message" in kinds and "ParticipantChanged" in kinds
    for entry in entries:
        assert isinstance(entry["identifier"], str)
        assert isinstance(entry["transcriptedTimestamp"], int)
        assert entry["sender"]["role"] in ("EndUser", "Agent", "Chatbot", "System", "Router", "Supervisor")
        assert _payload(entry)["entryType"] == entry["entryType"]


def test_entries_honour_limit_and_direction(user: EndUser) -> None:
    _chat_with_three_messages(user)
    forward = user.entries(limit="50", direction="FromStart").json()["conversationEntries"]
    backward = user.entries(limit="50", direction="FromEnd").json()["conversationEntries"]
    stamps = [e["transcriptedTimestamp"] for e in forward]
    assert stamps == sorted(stamps) and len(forward) >= 7
    assert [e["identifier"] for e in backward] == [e["identifier"] for e in reversed(forward)]
    assert [e["identifier"] for e in user.entries(limit="2", direction="FromStart").json()["conversationEntries"]] == [
        e["identifier"] for e in forward[:2]
    ]
    assert [e["identifier"] for e in user.entries(limit="1", direction="FromEnd").json()["conversationEntries"]] == [
        forward[-1]["identifier"]
    ]


def test_entries_filter_by_entry_type(user: EndUser) -> None:
    texts = _chat_with_three_messages(user)
    only_messages = user.entries(limit="50", direction="FromStart", entryTypeFilter="Message").json()
    entries = only_messages["conversationEntries"]
    assert entries and {e["entryType"] for e in entries} == {"Message"}
    agent_texts = [
        _payload(e)["abstractMessage"]["staticContent"]["text"] for e in entries if e["sender"]["role"] == "Agent"
    ]
    assert agent_texts == texts
    two_kinds = user.entries(limit="50", entryTypeFilter="Message,ParticipantChanged").json()["conversationEntries"]
    assert {e["entryType"] for e in two_kinds} == {"Message", "ParticipantChanged"}


def test_entries_page_backwards_by_end_timestamp(user: EndUser) -> None:
    _chat_with_three_messages(user)
    forward = user.entries(limit="50", direction="FromStart").json()["conversationEntries"]
    middle = forward[len(forward) // 2]
    cut = middle["transcriptedTimestamp"]
    older = user.entries(limit="50", direction="FromStart", endTimestamp=str(cut)).json()["conversationEntries"]
    assert older and all(e["transcriptedTimestamp"] <= cut for e in older)
    newer = user.entries(limit="50", direction="FromStart", startTimestamp=str(cut)).json()["conversationEntries"]
    assert newer and all(e["transcriptedTimestamp"] >= cut for e in newer)
    # Bounds are inclusive (docs/sandbox.md's choice where §5 is unsure): the cut entry is on both pages.
    assert middle["identifier"] in [e["identifier"] for e in older]
    assert middle["identifier"] in [e["identifier"] for e in newer]
    assert {e["identifier"] for e in older} | {e["identifier"] for e in newer} == {e["identifier"] for e in forward}


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "-3"},
        {"limit": "lots"},
        {"limit": "51"},
        {"direction": "Sideways"},
        {"startTimestamp": "yesterday"},
        {"endTimestamp": "1.5"},
        {"entryTypeFilter": "Message,Nonsense"},
    ],
    ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()),
)
def test_entries_refuse_malformed_parameters(user: EndUser, params: dict[str, str]) -> None:
    user.login()
    assert user.create().status_code == 201
    response = user.entries(**params)
    assert response.status_code == 400, (params, response.status_code, response.text[:200])
    assert error_message(response)


def test_the_control_api_lists_the_conversations_messages(user: EndUser, control_on: ControlOn) -> None:
    stream = user.start_chat()
    user.round_trip(stream, "for the record")
    chat = control_on(user.sandbox).conversation(user.conv())
    assert "for the record" in json.dumps(chat)
