"""Conversations (reference §1.2, §2.1 #5-#7, #13, #14, §5): client-chosen lowercase v4 ids, routing status,
listing, end session versus close."""

from __future__ import annotations

import uuid

import pytest

from liveagent_cli.sandbox import Sandbox
from tests.sandbox.miaw.conftest import UserOn
from tests.sandbox.miaw.helpers import (
    CLOSE_CONVERSATION,
    ROUTING_RESULT,
    SESSION_STATUS,
    EndUser,
    error_message,
    new_id,
)

V4 = "3f2a4b6c-8d1e-4f00-9a2b-0c1d2e3f4a5b"
BAD_IDS = {
    "uppercase": V4.upper(),
    "mixed case": V4[:9] + V4[9:].upper(),
    "v1": str(uuid.uuid1()),
    "v3": str(uuid.uuid3(uuid.NAMESPACE_DNS, "example.com")),
    "variant nibble c": V4[:19] + "c" + V4[20:],
    "no hyphens": V4.replace("-", ""),
    "braces": "{" + V4 + "}",
    "too short": V4[:-1],
    "too long": V4 + "0",
    "not hex": V4[:-1] + "g",
    "empty": "",
    "spaces": " " + V4 + " ",
    "urn": "urn:uuid:" + V4,
}


def test_a_lowercase_v4_id_creates_a_conversation_whose_status_can_be_read(user: EndUser) -> None:
    user.login()
    stream = user.stream()
    chosen = new_id()
    response = user.create(chosen)
    assert response.status_code == 201, response.text[:300]
    assert response.json()["conversationId"] == chosen
    stream.wait_for(ROUTING_RESULT)
    status = user.status()
    assert status.status_code == 200
    body = status.json()
    assert (body["conversationId"], body["routingStatus"]) == (chosen, "ROUTED")


@pytest.mark.parametrize("bad", list(BAD_IDS.values()), ids=list(BAD_IDS))
def test_a_conversation_id_that_is_not_a_lowercase_v4_uuid_is_400(user: EndUser, bad: str) -> None:
    user.login()
    response = user.create(bad)
    assert response.status_code == 400, (bad, response.status_code, response.text[:200])
    assert "UUID" in error_message(response)
    assert user.conversation_id is None


@pytest.mark.parametrize("bad", [None, 42, ["x"], {"id": V4}, True])
def test_a_conversation_id_that_is_missing_or_not_a_string_is_400(user: EndUser, bad: object) -> None:
    user.login()
    body = _body(user, bad)
    if bad is None:
        del body["conversationId"]
    response = user.request("POST", "conversation", json=body)
    assert response.status_code == 400, (bad, response.status_code)
    assert error_message(response)


@pytest.mark.parametrize(
    "change",
    [
        {"esDeveloperName": None},
        {"esDeveloperName": ""},
        {"esDeveloperName": 7},
        {"routingAttributes": "a string"},
        {"routingAttributes": ["a", "list"]},
    ],
    ids=lambda c: ",".join(f"{k}={v!r}" for k, v in c.items()),
)
def test_a_create_with_a_missing_or_malformed_field_is_400(user: EndUser, change: dict[str, object]) -> None:
    user.login()
    body = _body(user, new_id())
    for name, value in change.items():
        if value is None:
            del body[name]
        else:
            body[name] = value
    response = user.request("POST", "conversation", json=body)
    assert response.status_code == 400, (change, response.status_code, response.text[:200])
    assert error_message(response)


def test_routing_attributes_and_unknown_fields_are_accepted(user: EndUser) -> None:
    user.login()
    response = user.create(routingAttributes={"_firstName": "Ada"}, language="en_US", somethingNew={"a": 1})
    assert response.status_code == 201, response.text[:300]


def _body(user: EndUser, conversation_id: object) -> dict[str, object]:
    return {"conversationId": conversation_id, "esDeveloperName": user.deployment}


def test_creating_the_same_conversation_id_twice_never_makes_two(user: EndUser) -> None:
    user.login()
    chosen = new_id()
    assert user.create(chosen).status_code == 201
    again = user.create(chosen)
    assert again.status_code == 201, "a repeat (a retry after a lost answer) answers as the first did"
    listed = [c["conversationId"] for c in user.conversations().json()["conversations"]]
    assert listed.count(chosen) == 1


def test_another_users_conversation_is_out_of_reach(user: EndUser, user_on: UserOn, shared_sandbox: Sandbox) -> None:
    user.login()
    assert user.create().status_code == 201
    stranger = user_on(shared_sandbox, org_id=user.org_id)
    stranger.login()
    conversation = user.conv()
    assert stranger.status(conversation).status_code == 404
    assert stranger.send("intrusion", conversation_id=conversation).status_code == 404
    assert stranger.entries(conversation).status_code == 404
    assert stranger.close_conversation(conversation).status_code == 404
    assert stranger.create(conversation).status_code == 409
    assert user.status().status_code == 200


def test_an_unknown_conversation_is_404_on_every_conversation_endpoint(user: EndUser) -> None:
    user.login()
    unknown = new_id()
    assert user.status(unknown).status_code == 404
    assert error_message(user.status(unknown))
    assert user.entries(unknown).status_code == 404
    assert user.send("hello?", conversation_id=unknown).status_code == 404
    assert user.typing(conversation_id=unknown).status_code == 404
    assert user.acknowledge(new_id(), conversation_id=unknown).status_code == 404
    assert user.end_session(unknown).status_code == 404
    assert user.close_conversation(unknown).status_code == 404


def test_a_malformed_conversation_id_in_a_path_is_400(user: EndUser) -> None:
    user.login()
    bad = V4.upper()
    assert user.status(bad).status_code == 400
    assert user.send("x", conversation_id=bad).status_code == 400
    assert user.entries(bad).status_code == 400


def test_the_list_shows_open_conversations_and_closed_ones_only_when_asked(user: EndUser) -> None:
    user.login()
    assert user.create().status_code == 201
    first = user.conv()
    assert user.create().status_code == 201
    second = user.conv()
    body = user.conversations().json()
    assert body["openConversationsFound"] == 2 and body["closedConversationsFound"] == 0
    listed = {c["conversationId"]: c for c in body["conversations"]}
    assert set(listed) == {first, second}
    for item in listed.values():
        assert isinstance(item["startTimestamp"], int) and item["startTimestamp"] > 1_600_000_000_000  # epoch ms
    assert user.close_conversation(first).status_code == 204
    open_only = user.conversations().json()
    assert [c["conversationId"] for c in open_only["conversations"]] == [second]
    everything = user.conversations(inclClosedConvs="true").json()
    assert {c["conversationId"] for c in everything["conversations"]} == {first, second}
    assert everything["closedConversationsFound"] == 1
    closed = next(c for c in everything["conversations"] if c["conversationId"] == first)
    assert closed["endTimestamp"] >= closed["startTimestamp"]


@pytest.mark.parametrize(
    "params", [{"limit": "0"}, {"limit": "-1"}, {"limit": "ten"}, {"limit": "51"}, {"inclClosedConvs": "maybe"}]
)
def test_the_list_refuses_malformed_parameters(user: EndUser, params: dict[str, str]) -> None:
    user.login()
    response = user.conversations(**params)
    assert response.status_code == 400, (params, response.status_code)
    assert error_message(response)


def test_the_list_honours_limit(user: EndUser) -> None:
    user.login()
    for _ in range(2):
        assert user.create().status_code == 201
    assert len(user.conversations(limit="1").json()["conversations"]) == 1


def test_ending_the_session_is_204_and_keeps_the_conversation_open(user: EndUser) -> None:
    stream = user.start_chat()
    response = user.end_session()
    assert response.status_code == 204 and response.content == b""
    ended = stream.wait_for(SESSION_STATUS)
    assert ended.payload["sessionStatus"] == "Ended" and ended.conversation_id == user.conv()
    assert [c["conversationId"] for c in user.conversations().json()["conversations"]] == [user.conv()]


def test_closing_the_conversation_is_204_and_the_stream_says_so(user: EndUser) -> None:
    stream = user.start_chat()
    response = user.close_conversation()
    assert response.status_code == 204 and response.content == b""
    closed = stream.wait_for(CLOSE_CONVERSATION)
    assert closed.conversation_id == user.conv() and closed.payload["entryType"] == "CloseConversation"
    assert user.conversations().json()["conversations"] == []
    assert user.send("after close").status_code == 400
    again = user.close_conversation()  # the reference is silent; the sandbox's choice: a retry is 204 again
    assert again.status_code == 204


def test_a_delete_with_a_body_is_400(user: EndUser) -> None:
    """F-TEAMS (§2.1 #13): a body on the close DELETE gets 400."""
    user.login()
    assert user.create().status_code == 201
    path = f"conversation/{user.conv()}"
    response = user.request(
        "DELETE",
        path,
        params={"esDeveloperName": user.deployment},
        json={"reason": "bye"},
        headers={**user.bearer(), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert user.status().status_code == 200, "the refused close left the conversation alone"
