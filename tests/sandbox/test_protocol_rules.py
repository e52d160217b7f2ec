"""The protocol's state rules (reference section 6): sequence numbers and their 409s, duplicate long polls,
requests before ChatEstablished, expiry. One documented behaviour per test, plain `requests` on loopback."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest

from liveagent_cli.sandbox import Sandbox
from tests.sandbox.helpers import API_VERSION, Background, Control, Visitor, held, types, wait_until

VisitorOn = Callable[[Sandbox], Visitor]
ControlOn = Callable[[Sandbox], Control]


# ---- X-LIVEAGENT-SEQUENCE ------------------------------------------------------------------------


def test_out_of_order_sequence_is_409_with_the_pods_text_and_not_processed(visitor: Visitor, control: Control) -> None:
    visitor.start_chat()  # ChasitorInit used 1
    response = visitor.send("skipped ahead", sequence=5)
    assert response.status_code == 409
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.text == "Out of sync Ack. Expected 5. Actual 1"
    assert control.chat(visitor.info["id"])["transcript"] == []
    assert visitor.send("in order", sequence=2).status_code == 200  # the client resyncs to Actual + 1
    assert control.chat(visitor.info["id"])["transcript"] == ["in order"]


def test_a_number_below_the_last_accepted_is_409(visitor: Visitor) -> None:
    visitor.start_chat()
    assert visitor.send("a", sequence=2).status_code == 200
    assert visitor.send("b", sequence=3).status_code == 200
    stale = visitor.send("old", sequence=1)
    assert (stale.status_code, stale.text) == (409, "Out of sync Ack. Expected 1. Actual 3")


def test_the_first_post_must_be_number_1(visitor: Visitor) -> None:
    visitor.open()
    response = visitor.post("Chasitor/ChasitorInit", {}, sequence=2)
    assert (response.status_code, response.text) == (409, "Out of sync Ack. Expected 2. Actual 0")
    assert visitor.post("Chasitor/ChasitorInit", {}, sequence=1).status_code == 200


def test_the_last_number_repeated_is_a_duplicate_answered_200_but_not_processed(
    visitor: Visitor, control: Control
) -> None:
    visitor.start_chat()
    assert visitor.send("once", sequence=2).status_code == 200
    assert visitor.send("again?", sequence=2).status_code == 200
    assert control.chat(visitor.info["id"])["transcript"] == ["once"]
    assert control.chat(visitor.info["id"])["lastSequence"] == 2


def test_multi_noun_spends_one_number_for_all_its_nouns(visitor: Visitor, control: Control) -> None:
    visitor.start_chat()
    nouns = [
        {"prefix": "Chasitor", "noun": "ChatMessage", "object": {"text": "one"}},
        {"prefix": "Chasitor", "noun": "ChatMessage", "object": {"text": "two"}},
    ]
    assert visitor.post("System/MultiNoun", {"nouns": nouns}, sequence=2).status_code == 200
    assert visitor.send("three", sequence=3).status_code == 200
    assert control.chat(visitor.info["id"])["transcript"] == ["one", "two", "three"]


def test_resync_state_carries_no_number_and_does_not_count(visitor: Visitor, control: Control) -> None:
    visitor.start_chat()
    response = visitor.http.post(
        visitor.base + "Chasitor/ChasitorResyncState",
        json={"organizationId": "00D"},
        headers=visitor.headers(),
        timeout=5,
    )
    assert response.status_code == 200
    assert control.chat(visitor.info["id"])["lastSequence"] == 1
    assert visitor.send("next", sequence=2).status_code == 200


# ---- the long poll -------------------------------------------------------------------------------


def test_a_second_long_poll_ends_the_chat_with_409_on_both(
    make_sandbox: Callable[..., Sandbox], visitor_on: VisitorOn, control_on: ControlOn
) -> None:
    sandbox = make_sandbox(agent="manual", poll_hold=30)
    visitor, control = visitor_on(sandbox), control_on(sandbox)
    visitor.open()
    visitor.init()
    visitor.wait_for("ChatRequestSuccess")
    chat_id = visitor.info["id"]
    first = Background(visitor.poll)
    held(control, chat_id)
    second = visitor_on(sandbox)
    second.info = visitor.info
    duplicate = second.poll()
    assert duplicate.status_code == 409
    assert "Duplicate long poll" in duplicate.text and duplicate.headers["Content-Type"].startswith("text/plain")
    assert first.result().status_code == 409
    chat = control.chat(chat_id)
    assert (chat["state"], chat["live"], chat["endedBy"], chat["endReason"]) == ("ended", False, "pod", "duplicatePoll")
    assert visitor.poll().status_code == 403


def test_a_poll_whose_client_went_away_does_not_count_as_held(
    make_sandbox: Callable[..., Sandbox], visitor_on: VisitorOn, control_on: ControlOn
) -> None:
    sandbox = make_sandbox(agent="manual", poll_hold=30)
    visitor, control = visitor_on(sandbox), control_on(sandbox)
    visitor.open()
    visitor.init()
    visitor.wait_for("ChatRequestSuccess")
    request = (
        f"GET /chat/rest/System/Messages?ack=1 HTTP/1.1\r\nHost: x\r\nX-LIVEAGENT-API-VERSION: {API_VERSION}\r\n"
        f"X-LIVEAGENT-SESSION-KEY: {visitor.info['key']}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", sandbox.port), timeout=5) as sock:
        sock.sendall(request)
        held(control, visitor.info["id"])
    # The client gave up on that poll (its socket is closed) and polls again: no 409.
    wait_until(lambda: control.chat(visitor.info["id"])["pollsHeld"] == 0, what="the abandoned poll to be dropped")
    retry = Background(visitor.poll)
    held(control, visitor.info["id"])
    control.agent(visitor.info["id"], "accept")
    assert types(retry.result().json()["messages"]) == ["ChatEstablished"]


@pytest.mark.parametrize(
    ("noun", "body"),
    [
        ("ChatMessage", {"text": "hi"}),
        ("ChasitorTyping", {}),
        ("ChasitorNotTyping", {}),
        ("ChasitorSneakPeek", {"position": 0, "text": "h"}),
        ("CustomEvent", {"type": "T", "data": "D"}),
        ("ChasitorIdleTimeoutWarningEvent", {"idleTimeoutWarningEvent": "triggered"}),
        ("SensitiveDataRuleTriggered", {"rules": [{"id": "1", "name": "Card"}]}),
        ("RichMessage", {"actions": [{"type": "ChatWindowMenu", "index": 0}]}),
    ],
)
def test_chasitor_posts_before_chat_established_are_500(
    noun: str,
    body: dict[str, object],
    make_sandbox: Callable[..., Sandbox],
    visitor_on: VisitorOn,
    control_on: ControlOn,
) -> None:
    sandbox = make_sandbox(agent="manual")
    visitor, control = visitor_on(sandbox), control_on(sandbox)
    visitor.open()
    assert visitor.post(f"Chasitor/{noun}", body).status_code == 500  # before ChasitorInit
    visitor.init()
    assert visitor.post(f"Chasitor/{noun}", body).status_code == 500  # queued, not accepted
    control.agent(visitor.info["id"], "accept")
    assert visitor.post(f"Chasitor/{noun}", body).status_code == 200  # the failed POSTs spent no number


def test_chasitor_posts_after_the_agent_ended_the_chat_are_403(visitor: Visitor, control: Control) -> None:
    visitor.start_chat()
    control.agent(visitor.info["id"], "end")
    assert visitor.post("Chasitor/ChasitorTyping", {}).status_code == 403
    assert visitor.send("anyone?").status_code == 403


def test_a_held_poll_keeps_the_session_alive_past_its_connection_timeout(
    make_sandbox: Callable[..., Sandbox], visitor_on: VisitorOn, control_on: ControlOn
) -> None:
    sandbox = make_sandbox(agent="manual", poll_hold=0.6, connection_timeout=0.2)
    visitor, control = visitor_on(sandbox), control_on(sandbox)
    visitor.open()
    visitor.init()
    assert visitor.poll().status_code == 200  # ChatRequestSuccess
    assert visitor.poll().status_code == 204  # held 0.6 s, three times the timeout: still alive
    assert control.chat(visitor.info["id"])["live"] is True
    wait_until(lambda: not control.chat(visitor.info["id"])["live"], what="expiry once polls stop")
    assert control.chat(visitor.info["id"])["endReason"] == "connectionTimeout"
