"""Fault injection: each kind and selector, seed determinism, run-time rules through the control API, and how
a fault that fired shows in the journal and the chat's events. (503's recovery is in test_reconnect.py.)"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
import requests

from liveagent_cli.sandbox import Sandbox
from liveagent_cli.sandbox.faults import FaultSpecError, parse_fault
from tests.sandbox.helpers import API_VERSION, Background, Control, Visitor, held, types

VisitorOn = Callable[[Sandbox], Visitor]
ControlOn = Callable[[Sandbox], Control]
V = {"X-LIVEAGENT-API-VERSION": API_VERSION}


# ---- the spec --------------------------------------------------------------------------------------


def test_specs_parse_into_rules() -> None:
    rule = parse_fault("drop:when=before,path=Messages,every=3,times=2,p=0.5")
    assert (rule.kind, rule.when, rule.path, rule.every, rule.times, rule.p) == (
        "drop",
        "before",
        "Messages",
        3,
        2,
        0.5,
    )
    assert parse_fault("delay:ms=250").ms == 250
    assert parse_fault("status:code=500,path=System/Messages").path == "Messages"
    assert parse_fault("switch-server").kind == "switch-server"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "empty fault spec"),
        ("explode", "unknown kind 'explode'"),
        ("503:every=0", "every must be between 1"),
        ("503:every=x", "every must be a whole number"),
        ("503:p=1.5", "p must be a probability"),
        ("503:color=red", "unknown key 'color'"),
        ("503:when=before", "unknown key 'when'"),
        ("delay", "delay needs ms=N"),
        ("status:code=42", "code must be between 200 and 599"),
        ("503:path=Nowhere", "unknown path 'Nowhere'"),
        ("503:every=2,every=3", "every is given twice"),
        ("drop:when", "'when' is not key=value"),
        ("drop:when=later", "when must be before or after"),
    ],
)
def test_bad_specs_say_what_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(FaultSpecError, match=message):
        parse_fault(spec)


# ---- the kinds -------------------------------------------------------------------------------------


def test_drop_after_processes_the_request_and_loses_its_answer(
    make_sandbox: Callable[..., Sandbox], visitor_on: VisitorOn, control_on: ControlOn
) -> None:
    sandbox = make_sandbox(faults=("drop:path=ChatMessage,times=1",))
    visitor, control = visitor_on(sandbox), control_on(sandbox)
    visitor.start_chat()
    with pytest.raises(requests.ConnectionError):
        visitor.send("answer lost", sequence=2)
    assert control.chat(visitor.info["id"])["transcript"] == ["answer lost"]  # it was processed
    assert visitor.send("answer lost", sequence=2).status_code == 200  # the retry is a duplicate
    assert control.chat(visitor.info["id"])["transcript"] == ["answer lost"]
    assert sandbox.requests()[-2]["status"] is None  # no answer was sent


def test_drop_before_does_not_process_the_request(
    make_sandbox: Callable[..., Sandbox], visitor_on: VisitorOn, control_on: ControlOn
) -> None:
    sandbox = make_sandbox(faults=("drop:when=before,path=ChatMessage,times=1",))
    visitor, control = visitor_on(sandbox), control_on(sandbox)
    visitor.start_chat()
    with pytest.raises(requests.ConnectionError):
        visitor.send("never arrived", sequence=2)
    assert control.chat(visitor.info["id"])["transcript"] == []
    assert visitor.send("retried", sequence=2).status_code == 200


@pytest.mark.parametrize("ack", [True, False])
def test_a_dropped_poll_answer_is_delivered_again(
    ack: bool, make_sandbox: Callable[..., Sandbox], visitor_on: VisitorOn
) -> None:
    sandbox = make_sandbox(agent="manual", faults=("drop:path=Messages,times=1",))
    visitor = visitor_on(sandbox)
    visitor.open()
    visitor.init()
    params = {"ack": -1} if ack else {}
    with pytest.raises(requests.ConnectionError):
        visitor.get("System/Messages", params=params)
    again = visitor.get("System/Messages", params=params)  # with ack -1, and (Android) with no ack at all
    assert types(again.json()["messages"]) == ["ChatRequestSuccess"]


def test_delay_answers_late_but_processes_at_once(
    make_sandbox: Callable[..., Sandbox], visitor_on: VisitorOn, control_on: ControlOn
) -> None:
    sandbox = make_sandbox(faults=("delay:ms=300,path=ChatMessage",))
    visitor, control = visitor_on(sandbox), control_on(sandbox)
    visitor.start_chat()
    pending = Background(lambda: visitor.send("slow"))
    started = time.monotonic()
    response = pending.result()
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.25
    assert control.chat(visitor.info["id"])["transcript"] == ["slow"]


def test_status_answers_that_status_without_processing(
    make_sandbox: Callable[..., Sandbox], visitor_on: VisitorOn, control_on: ControlOn
) -> None:
    sandbox = make_sandbox(faults=("status:code=500,path=ChatMessage,times=1", "status:code=204,path=VisitorId"))
    visitor, control = visitor_on(sandbox), control_on(sandbox)
    visitor.start_chat()
    failed = visitor.send("x", sequence=2)
    assert failed.status_code == 500 and "sandbox fault" in failed.json()["error"]
    assert control.chat(visitor.info["id"])["transcript"] == []
    assert visitor.send("x", sequence=2).status_code == 200
    empty = requests.get(
        sandbox.pod_url + "Visitor/VisitorId", params={"org_id": "o", "deployment_id": "d"}, headers=V, timeout=5
    )
    assert (empty.status_code, empty.content) == (204, b"")


def test_expire_makes_the_session_invalid_from_then_on(
    make_sandbox: Callable[..., Sandbox], visitor_on: VisitorOn, control_on: ControlOn
) -> None:
    sandbox = make_sandbox(faults=("expire:path=ChasitorTyping",))
    visitor, control = visitor_on(sandbox), control_on(sandbox)
    visitor.start_chat()
    assert visitor.post("Chasitor/ChasitorTyping", {}).status_code == 403
    assert visitor.poll().status_code == 403
    assert visitor.send("anyone?").status_code == 403
    chat = control.chat(visitor.info["id"])
    assert (chat["live"], chat["endedBy"], chat["endReason"]) == (False, "pod", "expired")


def test_503_and_expire_never_apply_to_session_id(make_sandbox: Callable[..., Sandbox], visitor_on: VisitorOn) -> None:
    sandbox = make_sandbox(faults=("503", "expire"))
    visitor = visitor_on(sandbox)
    visitor.open()  # SessionId works: there is no session to move or expire yet
    assert [(f["seen"], f["fired"]) for f in sandbox.faults()] == [(0, 0), (0, 0)]
    assert visitor.init().status_code == 503
    assert [(f["seen"], f["fired"]) for f in sandbox.faults()] == [(1, 1), (1, 0)]  # one fault per request


def test_switch_server_sends_visitors_to_the_second_pod_prefix(make_sandbox: Callable[..., Sandbox]) -> None:
    sandbox = make_sandbox(faults=("switch-server:times=1",))
    params = {"org_id": "o", "deployment_id": "d", "Availability.ids": "573A"}
    first = requests.get(sandbox.pod_url + "Visitor/Availability", params=params, headers=V, timeout=5)
    assert first.json() == {"messages": [{"type": "SwitchServer", "message": {"newUrl": sandbox.url + "/pod2/chat"}}]}
    second_pod = first.json()["messages"][0]["message"]["newUrl"] + "/rest/"
    moved = requests.get(second_pod + "Visitor/Availability", params=params, headers=V, timeout=5)
    assert moved.json()["messages"][0]["type"] == "Availability"
    session = requests.get(second_pod + "System/SessionId", headers={**V, "X-LIVEAGENT-AFFINITY": "null"}, timeout=5)
    assert session.status_code == 200  # the second prefix serves the whole API, on the same sessions
    assert sandbox.requests()[-1]["path"] == "/pod2/chat/rest/System/SessionId"


def test_switch_server_from_the_second_prefix_points_back(make_sandbox: Callable[..., Sandbox]) -> None:
    sandbox = make_sandbox(faults=("switch-server",))
    answer = requests.get(
        sandbox.url + "/pod2/chat/rest/Visitor/VisitorId",
        params={"org_id": "o", "deployment_id": "d"},
        headers=V,
        timeout=5,
    )
    assert answer.json()["messages"][0]["message"]["newUrl"] == sandbox.url + "/chat"


def test_switch_server_only_applies_to_visitor_resources(
    make_sandbox: Callable[..., Sandbox], visitor_on: VisitorOn
) -> None:
    sandbox = make_sandbox(faults=("switch-server",))
    visitor_on(sandbox).start_chat()
    assert sandbox.faults()[0]["seen"] == 0


# ---- the selectors ---------------------------------------------------------------------------------


def _fired_pattern(sandbox: Sandbox, count: int) -> list[int]:
    statuses = []
    for _ in range(count):
        response = requests.get(
            sandbox.pod_url + "Visitor/VisitorId", params={"org_id": "o", "deployment_id": "d"}, headers=V, timeout=5
        )
        statuses.append(response.status_code)
    return statuses


def test_every_fires_on_each_nth_matching_request(make_sandbox: Callable[..., Sandbox]) -> None:
    sandbox = make_sandbox(faults=("status:code=503,every=3",))
    assert _fired_pattern(sandbox, 7) == [200, 200, 503, 200, 200, 503, 200]


def test_every_counts_across_sessions(make_sandbox: Callable[..., Sandbox], visitor_on: VisitorOn) -> None:
    sandbox = make_sandbox(agent="manual", faults=("status:code=500,path=ChasitorInit,every=2",))
    statuses = []
    for _ in range(4):
        visitor = visitor_on(sandbox)
        visitor.open()
        statuses.append(visitor.init().status_code)
    assert statuses == [200, 500, 200, 500]


def test_times_caps_the_firings(make_sandbox: Callable[..., Sandbox]) -> None:
    sandbox = make_sandbox(faults=("status:code=503,times=2",))
    assert _fired_pattern(sandbox, 4) == [503, 503, 200, 200]
    assert sandbox.faults()[0] | {"seen": 4, "fired": 2} == sandbox.faults()[0]


def test_path_limits_a_rule_to_one_resource(make_sandbox: Callable[..., Sandbox], visitor_on: VisitorOn) -> None:
    sandbox = make_sandbox(faults=("status:code=500,path=ChatEnd",))
    visitor = visitor_on(sandbox)
    visitor.start_chat()
    assert visitor.send("fine").status_code == 200
    assert visitor.end().status_code == 500


def test_p_is_reproducible_with_a_seed(make_sandbox: Callable[..., Sandbox]) -> None:
    patterns = [_fired_pattern(make_sandbox(seed=seed, faults=("status:code=503,p=0.5",)), 40) for seed in (7, 7, 8)]
    assert patterns[0] == patterns[1]
    assert patterns[0] != patterns[2]
    assert 5 < patterns[0].count(503) < 35


def test_the_first_rule_added_wins_when_several_would_fire(make_sandbox: Callable[..., Sandbox]) -> None:
    sandbox = make_sandbox(faults=("status:code=502", "status:code=504"))
    assert _fired_pattern(sandbox, 2) == [502, 502]
    assert [f["seen"] for f in sandbox.faults()] == [2, 2]


# ---- at run time, and what shows ------------------------------------------------------------------


def test_faults_are_managed_at_run_time_through_the_control_api(
    make_sandbox: Callable[..., Sandbox], control_on: ControlOn
) -> None:
    sandbox = make_sandbox()
    control = control_on(sandbox)
    added = control.post("faults", {"spec": "status:code=500,times=1"})
    assert added.status_code == 201
    assert added.json() | {"id": 1, "kind": "status", "code": 500, "times": 1} == added.json()
    structured = control.post("faults", {"kind": "delay", "ms": 10, "path": "Messages"})
    assert structured.json()["spec"] == "delay:ms=10,path=Messages"
    assert control.post("faults", {"spec": "nope"}).status_code == 400
    assert control.post("faults", {"kind": "503", "every": True}).status_code == 400
    assert [f["id"] for f in control.get("faults").json()["faults"]] == [1, 2]
    assert _fired_pattern(sandbox, 2) == [500, 200]
    assert control.http.delete(control.base + "faults/2", timeout=5).json() == {"status": "ok", "removed": 1}
    assert control.http.delete(control.base + "faults/2", timeout=5).status_code == 404
    assert control.http.delete(control.base + "faults", timeout=5).json() == {"status": "ok", "removed": 1}
    assert control.get("faults").json() == {"faults": []}


def test_faults_never_touch_the_control_api(make_sandbox: Callable[..., Sandbox], control_on: ControlOn) -> None:
    sandbox = make_sandbox(faults=("status:code=500", "drop"))
    control = control_on(sandbox)
    assert control.get("health").status_code == 200
    assert [f["seen"] for f in control.get("faults").json()["faults"]] == [0, 0]


def test_a_fired_fault_shows_in_the_journal_and_the_chats_events(
    make_sandbox: Callable[..., Sandbox], visitor_on: VisitorOn, control_on: ControlOn
) -> None:
    sandbox = make_sandbox(faults=("status:code=500,path=ChatMessage,times=1",))
    visitor, control = visitor_on(sandbox), control_on(sandbox)
    visitor.start_chat()
    visitor.send("x")
    entry = sandbox.requests()[-1]
    assert (entry["fault"], entry["status"], entry["chat"]) == (
        "status:code=500,path=ChatMessage,times=1",
        500,
        visitor.info["id"],
    )
    faults = [e["data"] for e in control.chat(visitor.info["id"])["events"] if e["type"] == "Fault"]
    assert faults == [{"spec": "status:code=500,path=ChatMessage,times=1", "request": "POST Chasitor/ChatMessage"}]


def test_a_held_poll_counts_once_even_when_a_delay_fault_applies(
    make_sandbox: Callable[..., Sandbox], visitor_on: VisitorOn, control_on: ControlOn
) -> None:
    sandbox = make_sandbox(agent="manual", poll_hold=30, faults=("delay:ms=1,path=Messages",))
    visitor, control = visitor_on(sandbox), control_on(sandbox)
    visitor.open()
    visitor.init()
    visitor.wait_for("ChatRequestSuccess")
    poll = Background(visitor.poll)
    held(control, visitor.info["id"])
    control.agent(visitor.info["id"], "accept")
    assert types(poll.result().json()["messages"]) == ["ChatEstablished"]
