"""The visitor-side Chat API of the sandbox pod, one documented behaviour per test (README, "The sandbox pod")."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from liveagent_cli.sandbox import AGENT_USER_ID, Sandbox
from tests.sandbox.helpers import API_VERSION, Control, Visitor, wait_until

VisitorOn = Callable[[Sandbox], Visitor]
ControlOn = Callable[[Sandbox], Control]


def _types(messages: list[dict[str, Any]]) -> list[str]:
    return [m["type"] for m in messages]


# ---- SessionId -----------------------------------------------------------------------------------


def test_session_id_has_the_documented_shape(visitor: Visitor) -> None:
    info = visitor.open()
    assert set(info) == {"id", "key", "affinityToken", "clientPollTimeout"}
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", info["id"])
    sid, epoch_ms, secret = info["key"].split("!")
    assert sid == info["id"]
    assert abs(int(epoch_ms) - time.time() * 1000) < 60_000
    assert re.fullmatch(r"[A-Za-z0-9+]+=*", secret)
    assert re.fullmatch(r"[0-9a-f]{8}", info["affinityToken"])
    assert info["clientPollTimeout"] == 12  # poll_hold 2 + 10, an integer
    assert isinstance(info["clientPollTimeout"], int)


def test_client_poll_timeout_can_be_set_but_never_below_the_hold(
    make_sandbox: Callable[..., Sandbox], visitor_on: VisitorOn
) -> None:
    from liveagent_cli.sandbox import SandboxConfig

    assert visitor_on(make_sandbox(poll_hold=2.0, client_poll_timeout=3)).open()["clientPollTimeout"] == 3
    for too_short in (1, 2.5, True):
        with pytest.raises(ValueError, match="client_poll_timeout must be a whole number of seconds, no less than"):
            SandboxConfig(poll_hold=2.0, client_poll_timeout=too_short).validate()  # type: ignore[arg-type]


def test_session_id_tolerates_a_missing_affinity_header(visitor: Visitor) -> None:
    response = visitor.get("System/SessionId", headers={"X-LIVEAGENT-API-VERSION": API_VERSION})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"


def test_sessions_are_distinct(visitor: Visitor, shared_sandbox: Sandbox, visitor_on: VisitorOn) -> None:
    other = visitor_on(shared_sandbox)
    first, second = visitor.open(), other.open()
    assert first["id"] != second["id"] and first["key"] != second["key"]


# ---- headers -------------------------------------------------------------------------------------


def test_missing_api_version_is_400(visitor: Visitor) -> None:
    response = visitor.get("System/SessionId", headers={"X-LIVEAGENT-AFFINITY": "null"})
    assert response.status_code == 400
    assert "X-LIVEAGENT-API-VERSION" in response.json()["error"]


def test_non_integer_api_version_is_400(visitor: Visitor) -> None:
    for value in ("abc", "42.0", ""):
        response = visitor.get("System/SessionId", headers={"X-LIVEAGENT-API-VERSION": value})
        assert response.status_code == 400, value


def test_unknown_or_missing_session_key_is_403(visitor: Visitor) -> None:
    visitor.open()
    unknown = visitor.get("System/Messages", headers=visitor.headers(**{"X-LIVEAGENT-SESSION-KEY": "nope"}))
    assert unknown.status_code == 403
    missing = visitor.get("System/Messages", headers={"X-LIVEAGENT-API-VERSION": API_VERSION})
    assert missing.status_code == 403
    post = visitor.post(
        "Chasitor/ChatMessage", {"text": "x"}, headers=visitor.headers(**{"X-LIVEAGENT-SESSION-KEY": "nope"})
    )
    assert post.status_code == 403


def test_wrong_affinity_is_503(visitor: Visitor) -> None:
    visitor.open()
    for token in ("deadbeef", "null"):
        response = visitor.get("System/Messages", headers=visitor.headers(**{"X-LIVEAGENT-AFFINITY": token}))
        assert response.status_code == 503, token
    post = visitor.init()
    assert post.status_code == 200  # the session survives the 503s


def test_missing_affinity_is_tolerated(visitor: Visitor) -> None:
    visitor.open()
    headers = visitor.headers()
    del headers["X-LIVEAGENT-AFFINITY"]
    response = visitor.post("Chasitor/ChasitorInit", {"visitorName": "Seed"}, headers=headers)
    assert response.status_code == 200
    polled = visitor.get("System/Messages", headers=headers, params={"ack": -1})
    assert polled.status_code == 200
    assert _types(polled.json()["messages"])[0] == "ChatRequestSuccess"


def test_unknown_noun_is_404_json_and_wrong_method_405(visitor: Visitor) -> None:
    unknown = visitor.get("Chasitor/NoSuchThing")
    assert unknown.status_code == 404
    assert "NoSuchThing" in unknown.json()["error"]
    wrong = visitor.http.post(visitor.base + "System/Messages", headers=visitor.headers(), timeout=5)
    assert wrong.status_code == 405
    assert wrong.headers["Allow"] == "GET"
    assert visitor.http.get(visitor.base + "Chasitor/ChatMessage", timeout=5).status_code == 405


# ---- ChasitorInit and the echo agent -------------------------------------------------------------


def test_init_brings_chat_request_success_then_chat_established(visitor: Visitor) -> None:
    visitor.open()
    details = [{"label": "Email", "value": "ada@example.com", "displayToAgent": True, "transcriptFields": []}]
    response = visitor.init(prechatDetails=details)
    assert response.status_code == 200
    assert response.text == "OK"
    assert response.headers["Content-Type"].startswith("text/plain")
    messages = visitor.wait_for("ChatEstablished")
    assert _types(messages) == ["ChatRequestSuccess", "ChatEstablished"]
    success, established = messages[0]["message"], messages[1]["message"]
    assert success["queuePosition"] == 1
    assert success["connectionTimeout"] == 150_000
    assert success["customDetails"] == details
    assert success["sensitiveDataRules"] == []
    assert {"visitorId", "estimatedWaitTime", "geoLocation"} <= set(success)
    assert established == {
        "name": "Sandbox Agent",
        "userId": AGENT_USER_ID,
        "sneakPeekEnabled": True,
        "chasitorIdleTimeout": {"isEnabled": False, "timeout": 0, "warningTime": 0},
    }
    assert len(AGENT_USER_ID) == 18 and AGENT_USER_ID.startswith("005")


def test_echo_answers_with_exactly_the_visitors_text(visitor: Visitor) -> None:
    visitor.start_chat()
    for text in ("hello", "héllo wörld ✓ 你好 🙂", '  quotes " and \\ backslash\nnew line  ', ""):
        assert visitor.send(text).status_code == 200
        reply = visitor.wait_for("ChatMessage")[-1]["message"]
        assert reply["text"] == text
        assert reply["name"] == "Sandbox Agent"
        assert reply["agentId"] == AGENT_USER_ID


def test_messages_are_redelivered_until_acked(
    make_sandbox: Callable[..., Sandbox], visitor_on: VisitorOn, control_on: ControlOn
) -> None:
    sandbox = make_sandbox(agent="manual", poll_hold=0.2)
    visitor, control = visitor_on(sandbox), control_on(sandbox)
    visitor.open()
    visitor.init()
    first = visitor.poll(ack=-1)
    assert first.status_code == 200
    batch = first.json()
    assert _types(batch["messages"]) == ["ChatRequestSuccess"]
    assert batch["sequence"] == 1 and isinstance(batch["offset"], int)
    again = visitor.poll(ack=0)  # the client did not advance its ack: the same batch comes again
    assert again.status_code == 200
    assert again.json() == batch
    assert visitor.poll(ack=1).status_code == 204  # acked: not sent again
    control.agent(visitor.info["id"], "accept")
    after = visitor.poll(ack=1)
    assert _types(after.json()["messages"]) == ["ChatEstablished"]
    assert after.json()["sequence"] == 2 and after.json()["offset"] == batch["offset"] + 1


def test_poll_without_ack_delivers_only_new_messages(
    make_sandbox: Callable[..., Sandbox], visitor_on: VisitorOn, control_on: ControlOn
) -> None:
    sandbox = make_sandbox(agent="manual", poll_hold=0.2)
    visitor, control = visitor_on(sandbox), control_on(sandbox)
    visitor.open()
    visitor.init()
    first = visitor.get("System/Messages")
    assert first.status_code == 200 and _types(first.json()["messages"]) == ["ChatRequestSuccess"]
    assert visitor.get("System/Messages").status_code == 204
    control.agent(visitor.info["id"], "accept")
    third = visitor.get("System/Messages")
    assert third.status_code == 200 and _types(third.json()["messages"]) == ["ChatEstablished"]


def test_sequence_and_offset_grow(visitor: Visitor) -> None:
    visitor.start_chat()
    visitor.send("a")
    visitor.wait_for("ChatMessage")
    seq_a, offset_a = visitor.ack, visitor.offset
    visitor.send("b")
    response = visitor.poll()
    assert response.status_code == 200
    assert response.json()["sequence"] == seq_a + 1
    assert response.json()["offset"] > offset_a


def test_idle_poll_is_held_then_answered_204(
    make_sandbox: Callable[..., Sandbox], visitor_on: VisitorOn, control_on: ControlOn
) -> None:
    sandbox = make_sandbox(poll_hold=0.3)
    visitor, control = visitor_on(sandbox), control_on(sandbox)
    visitor.open()
    result: dict[str, Any] = {}
    poller = threading.Thread(target=lambda: result.setdefault("response", visitor.poll()))
    poller.start()
    wait_until(lambda: control.chat(visitor.info["id"])["pollsHeld"] == 1, what="the poll to be held")
    poller.join(timeout=10)
    assert not poller.is_alive()
    assert result["response"].status_code == 204  # nothing was queued: the hold ran out
    assert result["response"].content == b""


def test_held_poll_wakes_the_moment_a_message_is_queued(
    make_sandbox: Callable[..., Sandbox], visitor_on: VisitorOn, control_on: ControlOn
) -> None:
    sandbox = make_sandbox(agent="manual", poll_hold=30)
    visitor, control = visitor_on(sandbox), control_on(sandbox)
    visitor.open()
    visitor.init()
    visitor.wait_for("ChatRequestSuccess")
    result: dict[str, Any] = {}

    poller = threading.Thread(target=lambda: result.setdefault("response", visitor.poll()))
    poller.start()
    chat_id = visitor.info["id"]
    wait_until(lambda: control.chat(chat_id)["pollsHeld"] == 1, what="the poll to be held")
    assert control.agent(chat_id, "accept").status_code == 200
    poller.join(timeout=10)
    assert not poller.is_alive()  # poll_hold is 30 s: it woke on the message, not the timer
    assert result["response"].status_code == 200
    assert _types(result["response"].json()["messages"]) == ["ChatEstablished"]


def test_chat_message_before_chat_established_is_500(
    make_sandbox: Callable[..., Sandbox], visitor_on: VisitorOn
) -> None:
    visitor = visitor_on(make_sandbox(agent="manual"))
    visitor.open()
    assert visitor.send("too early").status_code == 500  # before ChasitorInit
    visitor.init()
    assert visitor.send("still too early").status_code == 500  # queued, not accepted


def test_failed_post_does_not_spend_its_sequence_number(
    make_sandbox: Callable[..., Sandbox], visitor_on: VisitorOn, control_on: ControlOn
) -> None:
    sandbox = make_sandbox(agent="manual")
    visitor, control = visitor_on(sandbox), control_on(sandbox)
    visitor.open()
    visitor.init()  # sequence 1
    assert visitor.send("early", sequence=2).status_code == 500
    control.agent(visitor.info["id"], "accept")
    assert visitor.send("retried", sequence=2).status_code == 200  # processed, not a duplicate
    assert control.chat(visitor.info["id"])["transcript"] == ["retried"]


def test_repeated_sequence_number_is_answered_but_not_processed(visitor: Visitor, control: Control) -> None:
    visitor.start_chat()  # ChasitorInit used sequence 1
    assert visitor.send("once", sequence=2).status_code == 200
    assert visitor.send("once", sequence=2).status_code == 200  # a retry whose first answer was lost
    assert visitor.send("twice", sequence=3).status_code == 200
    echoed: list[str] = []
    while len(echoed) < 2:
        seen = visitor.wait_for("ChatMessage")
        echoed += [m["message"]["text"] for m in seen if m["type"] == "ChatMessage"]
    assert echoed == ["once", "twice"]
    assert control.chat(visitor.info["id"])["transcript"] == ["once", "twice"]


def test_posts_without_sequence_are_processed(visitor: Visitor, control: Control) -> None:
    visitor.start_chat()
    headers = visitor.headers()
    for text in ("a", "a"):
        response = visitor.http.post(
            visitor.base + "Chasitor/ChatMessage", json={"text": text}, headers=headers, timeout=5
        )
        assert response.status_code == 200
    assert control.chat(visitor.info["id"])["transcript"] == ["a", "a"]


def test_non_integer_sequence_is_400(visitor: Visitor) -> None:
    visitor.start_chat()
    response = visitor.post(
        "Chasitor/ChatMessage", {"text": "x"}, headers=visitor.headers(**{"X-LIVEAGENT-SEQUENCE": "two"})
    )
    assert response.status_code == 400


def test_malformed_json_is_400(visitor: Visitor) -> None:
    visitor.open()
    assert visitor.post("Chasitor/ChasitorInit", data=b"{not json").status_code == 400
    assert visitor.post("Chasitor/ChasitorInit", data=b"[1, 2]").status_code == 400
    assert visitor.post("Chasitor/ChasitorInit", data=b"\xff\xfe{}").status_code == 400
    visitor.start_chat()
    assert visitor.post("Chasitor/ChatMessage", data=b'{"text": ').status_code == 400
    assert visitor.post("Chasitor/ChatMessage", {"text": 42}).status_code == 400
    assert visitor.post("Chasitor/ChatMessage", {}).status_code == 400
    assert visitor.post("Chasitor/ChatEnd", data=b"{oops").status_code == 400


def test_non_integer_ack_is_400(visitor: Visitor) -> None:
    visitor.open()
    assert visitor.get("System/Messages", params={"ack": "x"}).status_code == 400


# ---- ending --------------------------------------------------------------------------------------


def test_chat_end_removes_the_session(visitor: Visitor, control: Control) -> None:
    visitor.start_chat()
    end_sequence = visitor.sequence + 1
    response = visitor.end()
    assert response.status_code == 200 and response.text == "OK"
    assert visitor.poll().status_code == 403
    assert visitor.send("anyone?").status_code == 403
    # A retry of that same ChatEnd (its answer lost) still succeeds; nothing else does.
    body = {"reason": "client"}
    assert visitor.post("Chasitor/ChatEnd", body, sequence=end_sequence).status_code == 200
    assert visitor.post("Chasitor/ChatEnd", body, sequence=end_sequence + 5).status_code == 403
    chat = control.chat(visitor.info["id"])
    assert chat["state"] == "ended" and chat["endedBy"] == "visitor" and chat["live"] is False
    assert chat["endReason"] == "client"
    assert "ChatEnded" not in [e["type"] for e in chat["events"] if e["from"] == "pod"]


def test_chat_end_accepts_the_reason_shapes_clients_send(
    visitor_on: VisitorOn, shared_sandbox: Sandbox, control: Control
) -> None:
    for body, reason in (
        ({"reason": "client"}, "client"),
        ({"type": "ChatEndReason", "reason": "x"}, "x"),
        ({"ChatEndReason": {"reason": "y"}}, "y"),
        (None, "client"),
    ):
        visitor = visitor_on(shared_sandbox)
        visitor.start_chat()
        assert visitor.post("Chasitor/ChatEnd", body).status_code == 200
        assert control.chat(visitor.info["id"])["endReason"] == reason


def test_agent_end_sends_chat_ended_and_polls_keep_working(
    make_sandbox: Callable[..., Sandbox], visitor_on: VisitorOn, control_on: ControlOn
) -> None:
    sandbox = make_sandbox(poll_hold=0.2)
    visitor, control = visitor_on(sandbox), control_on(sandbox)
    visitor.start_chat()
    assert control.agent(visitor.info["id"], "end").status_code == 200
    ended = visitor.wait_for("ChatEnded")
    assert ended[-1] == {"type": "ChatEnded", "message": {"reason": "agent"}}
    assert visitor.poll().status_code == 204  # the session answers polls until the visitor stops
    assert visitor.send("hello?").status_code == 403
    assert visitor.end().status_code == 200


def test_delete_session_ends_it(visitor: Visitor) -> None:
    visitor.start_chat()
    response = visitor.http.delete(
        visitor.base + f"System/SessionId/{visitor.info['key']}", headers=visitor.headers(), timeout=5
    )
    assert response.status_code == 200
    assert visitor.poll().status_code == 403


def test_delete_unknown_session_is_403(visitor: Visitor) -> None:
    response = visitor.http.delete(
        visitor.base + "System/SessionId/not-a-key", headers={"X-LIVEAGENT-API-VERSION": API_VERSION}, timeout=5
    )
    assert response.status_code == 403


def test_busy_agent_fails_the_request(make_sandbox: Callable[..., Sandbox], visitor_on: VisitorOn) -> None:
    visitor = visitor_on(make_sandbox(agent="busy"))
    visitor.open()
    visitor.init()
    messages = visitor.wait_for("ChatRequestFail")
    assert messages[-1] == {"type": "ChatRequestFail", "message": {"reason": "Unavailable", "postChatUrl": ""}}


def test_manual_agent_waits_for_accept(
    make_sandbox: Callable[..., Sandbox], visitor_on: VisitorOn, control_on: ControlOn
) -> None:
    sandbox = make_sandbox(agent="manual", poll_hold=0.2)
    visitor, control = visitor_on(sandbox), control_on(sandbox)
    visitor.open()
    visitor.init()
    visitor.wait_for("ChatRequestSuccess")
    assert visitor.poll().status_code == 204  # still queued
    assert control.agent("_only", "accept").status_code == 200
    assert _types(visitor.wait_for("ChatEstablished")) == ["ChatEstablished"]
    assert visitor.send("hi").status_code == 200
    assert visitor.poll().status_code == 204  # the manual agent does not echo


def test_session_expires_when_polls_stop(
    make_sandbox: Callable[..., Sandbox], visitor_on: VisitorOn, control_on: ControlOn
) -> None:
    sandbox = make_sandbox(connection_timeout=0.2)
    visitor, control = visitor_on(sandbox), control_on(sandbox)
    visitor.open()
    visitor.init()
    wait_until(lambda: not control.chat(visitor.info["id"])["live"], what="the session to expire")
    chat = control.chat(visitor.info["id"])
    assert chat["endedBy"] == "timeout" and chat["state"] == "ended"
    assert visitor.poll().status_code == 403


def test_init_twice_is_ignored(visitor: Visitor) -> None:
    visitor.start_chat()
    assert visitor.init().status_code == 200
    visitor.send("after")
    assert _types(visitor.wait_for("ChatMessage")) == ["ChatMessage"]


def test_chat_end_releases_the_sessions_held_poll(
    make_sandbox: Callable[..., Sandbox], visitor_on: VisitorOn, control_on: ControlOn
) -> None:
    sandbox = make_sandbox(poll_hold=30)
    visitor, control = visitor_on(sandbox), control_on(sandbox)
    visitor.start_chat()
    ender = visitor_on(sandbox)
    ender.info, ender.sequence = visitor.info, visitor.sequence
    result: dict[str, int] = {}
    poller = threading.Thread(target=lambda: result.update(status=visitor.poll().status_code))
    poller.start()
    wait_until(lambda: control.chat(visitor.info["id"])["pollsHeld"] == 1, what="the poll to be held")
    assert ender.end().status_code == 200
    poller.join(timeout=5)
    assert result == {"status": 204}


def test_browser_clients_get_cors(visitor: Visitor) -> None:
    url = visitor.base + "Chasitor/ChatMessage"
    preflight = visitor.http.options(
        url,
        timeout=5,
        headers={
            "Origin": "https://shop.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-liveagent-api-version, x-liveagent-session-key",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    assert preflight.headers["Access-Control-Allow-Methods"] == "POST"
    assert "x-liveagent-session-key" in preflight.headers["Access-Control-Allow-Headers"]
    actual = visitor.get(
        "System/SessionId", headers={"X-LIVEAGENT-API-VERSION": API_VERSION, "Origin": "https://shop.example"}
    )
    assert actual.status_code == 200
    assert actual.headers["Access-Control-Allow-Origin"] == "https://shop.example"
