"""The strict profile (`--strict`): where the reference does not say how a pod behaves, the least forgiving
choice, so a client can be tried against it as well as against the sandbox's usual choices (review D1).
Each choice can also be set alone, over either profile."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest
import requests

from liveagent_cli.sandbox import Sandbox
from tests.sandbox.helpers import API_VERSION, Control, Visitor, held, types

VisitorOn = Callable[[Sandbox], Visitor]
ControlOn = Callable[[Sandbox], Control]


def _established(sandbox: Sandbox, visitor_on: VisitorOn, control_on: ControlOn) -> tuple[Visitor, Control, str]:
    visitor, control = visitor_on(sandbox), control_on(sandbox)
    visitor.start_chat()
    return visitor, control, visitor.info["id"]


def test_health_names_the_profile_and_its_choices(make_sandbox: Callable[..., Sandbox]) -> None:
    strict = requests.get(make_sandbox(strict=True).url + "/_sandbox/health", timeout=5).json()
    assert (strict["profile"], strict["choices"]) == (
        "strict",
        {"redeliver": False, "duplicateGrace": 0.0, "breadcrumbKey": "ignore"},
    )
    mixed = requests.get(make_sandbox(strict=True, redeliver=True).url + "/_sandbox/health", timeout=5).json()
    assert mixed["choices"]["redeliver"] is True and mixed["choices"]["breadcrumbKey"] == "ignore"
    usual = requests.get(make_sandbox().url + "/_sandbox/health", timeout=5).json()
    assert (usual["profile"], usual["choices"]["redeliver"]) == ("forgiving", True)


# ---- no re-delivery ----------------------------------------------------------------------------------


def test_strict_hands_each_message_out_once_even_unacked(
    make_sandbox: Callable[..., Sandbox], visitor_on: VisitorOn, control_on: ControlOn
) -> None:
    visitor, control, chat_id = _established(make_sandbox(strict=True, poll_hold=0.3), visitor_on, control_on)
    old_ack = visitor.ack
    control.agent(chat_id, "say", text="once")
    assert types(visitor.poll().json()["messages"]) == ["ChatMessage"]
    assert visitor.poll(ack=old_ack).status_code == 204  # not acked, and still not sent again


def test_strict_loses_a_batch_whose_answer_was_dropped(
    make_sandbox: Callable[..., Sandbox], visitor_on: VisitorOn, control_on: ControlOn
) -> None:
    visitor, control, chat_id = _established(make_sandbox(strict=True, poll_hold=0.3), visitor_on, control_on)
    control.post("faults", {"spec": "drop:path=Messages,times=1"})
    control.agent(chat_id, "say", text="lost on the way")
    with pytest.raises(requests.ConnectionError):
        visitor.poll()
    assert visitor.poll().status_code == 204
    assert control.chat(chat_id)["pending"] == 0


def test_a_knob_over_the_usual_profile_turns_redelivery_off(
    make_sandbox: Callable[..., Sandbox], visitor_on: VisitorOn, control_on: ControlOn
) -> None:
    visitor, control, chat_id = _established(make_sandbox(redeliver=False, poll_hold=0.3), visitor_on, control_on)
    old_ack = visitor.ack
    control.agent(chat_id, "say", text="once")
    assert visitor.poll().status_code == 200
    assert visitor.poll(ack=old_ack).status_code == 204


def test_strict_reconnect_puts_what_was_handed_out_in_the_transcript_and_sends_it_no_more(
    make_sandbox: Callable[..., Sandbox], visitor_on: VisitorOn, control_on: ControlOn
) -> None:
    visitor, control, chat_id = _established(make_sandbox(strict=True, poll_hold=0.3), visitor_on, control_on)
    old_ack = visitor.ack
    control.agent(chat_id, "say", text="handed out, never acked")
    assert visitor.poll().status_code == 200
    control.post("faults", {"spec": "503:path=Messages,times=1"})
    assert visitor.poll(ack=old_ack).status_code == 503
    assert visitor.reconnect().status_code == 200
    [data] = visitor.poll(ack=old_ack).json()["messages"]
    assert data["type"] == "ChasitorSessionData"
    contents = [entry["content"] for entry in data["message"]["chatMessages"]]
    assert contents == ["handed out, never acked"]


# ---- an abandoned long poll ----------------------------------------------------------------------------


@pytest.mark.parametrize("knobs", [{"strict": True}, {"duplicate_grace": 0.0}])
def test_without_grace_a_poll_whose_client_left_still_counts_so_the_next_is_a_duplicate(
    knobs: dict[str, object], make_sandbox: Callable[..., Sandbox], visitor_on: VisitorOn, control_on: ControlOn
) -> None:
    sandbox = make_sandbox(agent="manual", poll_hold=30, **knobs)
    visitor, control = visitor_on(sandbox), control_on(sandbox)
    visitor.open()
    visitor.init()
    visitor.wait_for("ChatRequestSuccess")
    request = (
        f"GET /chat/rest/System/Messages?ack={visitor.ack} HTTP/1.1\r\nHost: x\r\n"
        f"X-LIVEAGENT-API-VERSION: {API_VERSION}\r\nX-LIVEAGENT-SESSION-KEY: {visitor.info['key']}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", sandbox.port), timeout=5) as sock:
        sock.sendall(request)
        held(control, visitor.info["id"])
    # The client gave up on that poll (as `poll --timeout` or Ctrl-C do) and polls again: behind a load
    # balancer the pod never saw the first one go, so this is a duplicate long poll.
    retry = visitor.poll()
    assert retry.status_code == 409 and "Duplicate long poll" in retry.text
    chat = control.chat(visitor.info["id"])
    assert (chat["state"], chat["endReason"]) == ("ended", "duplicatePoll")


# ---- Breadcrumb and the session key ---------------------------------------------------------------------


def test_strict_ignores_a_breadcrumbs_session_key(
    make_sandbox: Callable[..., Sandbox], visitor_on: VisitorOn, control_on: ControlOn
) -> None:
    sandbox = make_sandbox(strict=True)
    visitor, control, chat_id = _established(sandbox, visitor_on, control_on)
    assert visitor.post("Visitor/Breadcrumb", {"location": "https://example.com/cart"}).status_code == 200
    assert [b["location"] for b in control.get("breadcrumbs").json()["breadcrumbs"]] == ["https://example.com/cart"]
    assert "Breadcrumb" not in [e["type"] for e in control.chat(chat_id)["events"]]
    [journal] = [r for r in control.get("requests").json()["requests"] if r["path"].endswith("/Breadcrumb")]
    assert journal["chat"] is None


def test_the_usual_profile_records_a_breadcrumb_on_the_chat_its_key_names(
    make_sandbox: Callable[..., Sandbox], visitor_on: VisitorOn, control_on: ControlOn
) -> None:
    visitor, control, chat_id = _established(make_sandbox(), visitor_on, control_on)
    assert visitor.post("Visitor/Breadcrumb", {"location": "https://example.com/cart"}).status_code == 200
    assert control.get("breadcrumbs").json()["breadcrumbs"] == []
    assert "Breadcrumb" in [e["type"] for e in control.chat(chat_id)["events"]]


@pytest.mark.parametrize(
    ("knobs", "message"),
    [
        ({"duplicate_grace": -1.0}, "duplicate_grace must be"),
        ({"breadcrumb_key": "keep"}, "breadcrumb_key must be one of: record, ignore"),
    ],
)
def test_bad_knobs_are_refused(knobs: dict[str, object], message: str) -> None:
    from liveagent_cli.sandbox import SandboxConfig

    with pytest.raises(ValueError, match=message):
        SandboxConfig(**knobs).validate()  # type: ignore[arg-type]
