"""503 and its recovery: ReconnectSession, ChasitorSessionData with the transcript, ChasitorResyncState, and the
legacy ResyncSession (reference sections 3.6 and 6)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests

from liveagent_cli.sandbox import Sandbox
from tests.sandbox.helpers import Background, Control, Visitor, held, types

VisitorOn = Callable[[Sandbox], Visitor]
ControlOn = Callable[[Sandbox], Control]


def _moved_chat(sandbox: Sandbox, visitor: Visitor, control: Control) -> str:
    """An established chat with one exchange, then moved by the pod (a one-shot 503 fault on a poll)."""
    visitor.start_chat()
    visitor.send("before the move")
    visitor.wait_for("ChatMessage")
    old = visitor.info["affinityToken"]
    control.post("faults", {"spec": "503:path=Messages,times=1"})
    moved = visitor.poll()
    assert (moved.status_code, moved.text) == (503, "Invalid Affinity Token")
    return old


def test_the_pod_moving_a_session_answers_503_until_reconnect(
    make_sandbox: Callable[..., Sandbox], visitor_on: VisitorOn, control_on: ControlOn
) -> None:
    sandbox = make_sandbox()
    visitor, control = visitor_on(sandbox), control_on(sandbox)
    old = _moved_chat(sandbox, visitor, control)
    assert control.chat(visitor.info["id"])["affinityToken"] != old  # the token rotated
    assert visitor.send("lost?").status_code == 503  # the old token
    no_token = visitor.headers()
    del no_token["X-LIVEAGENT-AFFINITY"]
    assert visitor.get("System/Messages", headers=no_token).status_code == 503  # no token either
    assert control.chat(visitor.info["id"])["transcript"] == ["before the move"]  # nothing was processed


def test_reconnect_session_gives_a_new_token_and_resets_the_sequence(
    make_sandbox: Callable[..., Sandbox], visitor_on: VisitorOn, control_on: ControlOn
) -> None:
    sandbox = make_sandbox()
    visitor, control = visitor_on(sandbox), control_on(sandbox)
    _moved_chat(sandbox, visitor, control)
    response = visitor.reconnect(affinity="null")
    assert response.status_code == 200
    [item] = response.json()["messages"]
    assert item["type"] == "ReconnectSession"
    assert item["message"]["resetSequence"] is True
    assert item["message"]["affinityToken"] == control.chat(visitor.info["id"])["affinityToken"]
    assert control.chat(visitor.info["id"])["lastSequence"] == 0
    assert visitor.send("after the move", sequence=1).status_code == 200


def test_after_reconnect_the_next_poll_starts_with_chasitor_session_data_and_the_transcript(
    make_sandbox: Callable[..., Sandbox], visitor_on: VisitorOn, control_on: ControlOn
) -> None:
    sandbox = make_sandbox(poll_hold=0.2)
    visitor, control = visitor_on(sandbox), control_on(sandbox)
    _moved_chat(sandbox, visitor, control)
    control.agent(visitor.info["id"], "say", text="queued while moving")  # not yet acked: comes after
    visitor.reconnect()
    batch = visitor.poll(ack=-1).json()
    assert types(batch["messages"]) == ["ChasitorSessionData", "ChatMessage"]
    data = batch["messages"][0]["message"]
    assert {"queuePosition", "geoLocation", "url", "oref", "postChatUrl", "sneakPeekEnabled"} <= set(data)
    entries = data["chatMessages"]
    assert [(e["type"], e["name"], e["content"], e["sequence"]) for e in entries] == [
        ("Chasitor", "Ada", "before the move", 1),
        ("Agent", "Sandbox Agent", "before the move", 2),
    ]
    assert all(isinstance(e["timestamp"], int) and e["timestamp"] > 1_600_000_000_000 for e in entries)
    assert batch["messages"][1]["message"]["text"] == "queued while moving"
    resync = visitor.http.post(
        visitor.base + "Chasitor/ChasitorResyncState",
        json={"organizationId": "00D"},
        headers=visitor.headers(),
        timeout=5,
    )
    assert resync.status_code == 200
    assert visitor.poll().status_code == 204  # acked: ChasitorSessionData is not sent again


def test_reconnect_session_accepts_the_old_token_as_ibm_sends_it(
    make_sandbox: Callable[..., Sandbox], visitor_on: VisitorOn, control_on: ControlOn
) -> None:
    sandbox = make_sandbox()
    visitor, control = visitor_on(sandbox), control_on(sandbox)
    old = _moved_chat(sandbox, visitor, control)
    assert visitor.reconnect(affinity=old).status_code == 200


def test_reconnect_offset_counts_as_an_ack(
    make_sandbox: Callable[..., Sandbox], visitor_on: VisitorOn, control_on: ControlOn
) -> None:
    sandbox = make_sandbox(agent="manual")
    visitor, control = visitor_on(sandbox), control_on(sandbox)
    visitor.open()
    visitor.init()
    first = visitor.poll(ack=-1).json()  # ChatRequestSuccess, received but never acked
    control.post("faults", {"spec": "503:times=1"})
    assert visitor.poll(ack=0).status_code == 503
    visitor.reconnect(offset=first["offset"])
    batch = visitor.poll(ack=-1).json()
    assert types(batch["messages"]) == ["ChasitorSessionData"]  # not ChatRequestSuccess again


def test_reconnect_session_without_a_503_is_405(visitor: Visitor) -> None:
    visitor.start_chat()
    response = visitor.reconnect()
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET"
    assert "503" in response.json()["error"]


def test_reconnect_session_with_an_unknown_key_is_403(visitor: Visitor) -> None:
    visitor.open()
    response = visitor.get(
        "System/ReconnectSession",
        params={"ReconnectSession.offset": 1},
        headers=visitor.headers(**{"X-LIVEAGENT-SESSION-KEY": "nope"}),
    )
    assert response.status_code == 403


def test_a_503_for_a_wrong_token_also_allows_reconnect(visitor: Visitor) -> None:
    visitor.start_chat()
    wrong = visitor.headers(**{"X-LIVEAGENT-AFFINITY": "0bad1fa0"})
    assert visitor.get("System/Messages", headers=wrong).status_code == 503
    response = visitor.reconnect()
    assert response.status_code == 200
    # The session never moved: same server, same token, and the sequence count carries on.
    assert response.json()["messages"][0]["message"] == {
        "resetSequence": False,
        "affinityToken": visitor.info["affinityToken"],
    }
    assert visitor.send("next in line", sequence=2).status_code == 200


def test_two_clients_of_one_session_that_both_reconnect_get_the_same_token(
    make_sandbox: Callable[..., Sandbox], visitor_on: VisitorOn, control_on: ControlOn
) -> None:
    sandbox = make_sandbox()
    sender, control = visitor_on(sandbox), control_on(sandbox)
    _moved_chat(sandbox, sender, control)
    poller = visitor_on(sandbox)
    poller.info, poller.offset = dict(sender.info), sender.offset
    first = sender.reconnect().json()["messages"][0]["message"]
    assert poller.poll().status_code == 503  # its token is stale too
    second = poller.reconnect().json()["messages"][0]["message"]
    assert second["affinityToken"] == first["affinityToken"]
    assert sender.send("still in sync", sequence=1).status_code == 200


def test_a_retried_reconnect_whose_answer_was_lost_gets_the_same_answer(
    make_sandbox: Callable[..., Sandbox], visitor_on: VisitorOn, control_on: ControlOn
) -> None:
    sandbox = make_sandbox()
    visitor, control = visitor_on(sandbox), control_on(sandbox)
    _moved_chat(sandbox, visitor, control)
    control.post("faults", {"spec": "drop:path=ReconnectSession,times=1"})
    with pytest.raises(requests.ConnectionError):
        visitor.reconnect()
    retried = visitor.reconnect()
    assert retried.status_code == 200
    assert retried.json()["messages"][0]["message"]["resetSequence"] is True
    assert visitor.send("after", sequence=1).status_code == 200
    assert visitor.reconnect().status_code == 405  # the new token is in use: nothing left to recover


def test_a_poll_held_when_the_pod_moves_the_session_is_answered_503(
    make_sandbox: Callable[..., Sandbox], visitor_on: VisitorOn, control_on: ControlOn
) -> None:
    sandbox = make_sandbox(agent="manual", poll_hold=30)
    visitor, control = visitor_on(sandbox), control_on(sandbox)
    visitor.open()
    visitor.init()
    visitor.wait_for("ChatRequestSuccess")
    poll = Background(visitor.poll)
    held(control, visitor.info["id"])
    control.post("faults", {"spec": "503:path=ChasitorTyping,times=1"})
    assert visitor.post("Chasitor/ChasitorTyping", {}).status_code == 503
    assert poll.result().status_code == 503


def test_legacy_resync_session_issues_a_new_key(visitor: Visitor, control: Control) -> None:
    visitor.start_chat()
    old_key = visitor.info["key"]
    response = visitor.get("System/ResyncSession", params={"SessionId": visitor.info["id"]})
    assert response.status_code == 200
    body = response.json()
    assert body["isValid"] is True and body["key"] != old_key
    assert body["key"].split("!")[0] == visitor.info["id"]
    assert visitor.get("System/Messages").status_code == 403  # the old key stopped working
    visitor.info.update(key=body["key"], affinityToken=body["affinityToken"])
    assert types(visitor.poll(ack=-1).json()["messages"])[0] == "ChasitorSessionData"
    assert visitor.send("with the new key", sequence=1).status_code == 200
    assert control.chat(visitor.info["id"])["transcript"] == ["with the new key"]


def test_legacy_resync_session_for_another_or_unknown_session_is_not_valid(visitor: Visitor) -> None:
    visitor.open()
    assert visitor.get("System/ResyncSession", params={"SessionId": "someone-else"}).json() == {"isValid": False}
    unknown = visitor.get(
        "System/ResyncSession",
        params={"SessionId": visitor.info["id"]},
        headers=visitor.headers(**{"X-LIVEAGENT-SESSION-KEY": "nope"}),
    )
    assert unknown.json() == {"isValid": False}
    assert visitor.get("System/ResyncSession").status_code == 400
