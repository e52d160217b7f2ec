"""The routing queue of each button: queue positions, QueueUpdate as the queue moves, the estimated wait."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from liveagent_cli.sandbox import Sandbox
from tests.sandbox.helpers import Control, Visitor, types

VisitorOn = Callable[[Sandbox], Visitor]
ControlOn = Callable[[Sandbox], Control]


def _queued(sandbox: Sandbox, visitor_on: VisitorOn, count: int, button: str, **init: Any) -> list[Visitor]:
    visitors = []
    for _ in range(count):
        visitor = visitor_on(sandbox)
        visitor.open()
        assert visitor.init(buttonId=button, **init).status_code == 200
        visitors.append(visitor)
    return visitors


def _first(visitor: Visitor, type_: str) -> dict[str, Any]:
    return next(m["message"] for m in visitor.wait_for(type_) if m["type"] == type_)


def test_chats_waiting_behind_others_learn_their_place(
    make_sandbox: Callable[..., Sandbox], visitor_on: VisitorOn, control_on: ControlOn
) -> None:
    sandbox = make_sandbox(agent="manual", poll_hold=0.2)
    visitors = _queued(sandbox, visitor_on, 3, "573QUEUE")
    assert [_first(v, "ChatRequestSuccess")["queuePosition"] for v in visitors] == [1, 2, 3]
    assert control_on(sandbox).get("queues").json() == {"queues": {"573QUEUE": [v.info["id"] for v in visitors]}}


def test_queue_updates_follow_the_queue_as_it_moves(
    make_sandbox: Callable[..., Sandbox], visitor_on: VisitorOn, control_on: ControlOn
) -> None:
    sandbox = make_sandbox(agent="manual", poll_hold=0.2)
    control = control_on(sandbox)
    first, second, third = _queued(sandbox, visitor_on, 3, "573MOVE")
    for v in (first, second, third):
        v.wait_for("ChatRequestSuccess")
    control.agent(first.info["id"], "accept")
    assert _first(second, "QueueUpdate") == {"position": 1, "estimatedWaitTime": 0}
    assert _first(third, "QueueUpdate")["position"] == 2
    assert second.end().status_code == 200  # leaving the queue also moves the chats behind
    assert _first(third, "QueueUpdate")["position"] == 1
    assert control.get("queues").json() == {"queues": {"573MOVE": [third.info["id"]]}}


def test_no_queue_updates_for_chats_that_did_not_ask(
    make_sandbox: Callable[..., Sandbox], visitor_on: VisitorOn, control_on: ControlOn
) -> None:
    sandbox = make_sandbox(agent="manual", poll_hold=0.2)
    first, quiet = _queued(sandbox, visitor_on, 2, "573QUIET", receiveQueueUpdates=False)
    assert _first(quiet, "ChatRequestSuccess")["queuePosition"] == 2
    control_on(sandbox).agent(first.info["id"], "accept")
    control_on(sandbox).agent(quiet.info["id"], "accept")
    assert types(quiet.wait_for("ChatEstablished")) == ["ChatEstablished"]


def test_queues_are_per_button(make_sandbox: Callable[..., Sandbox], visitor_on: VisitorOn) -> None:
    sandbox = make_sandbox(agent="manual", poll_hold=0.2)
    _queued(sandbox, visitor_on, 1, "573ONE")
    [other] = _queued(sandbox, visitor_on, 1, "573TWO")
    assert _first(other, "ChatRequestSuccess")["queuePosition"] == 1


def test_the_estimated_wait_comes_from_the_agent_then_from_accepted_chats(
    make_sandbox: Callable[..., Sandbox], visitor_on: VisitorOn, control_on: ControlOn
) -> None:
    echo = make_sandbox(accept_after=3, poll_hold=0.2)
    [visitor] = _queued(echo, visitor_on, 1, "573ECHO")
    assert _first(visitor, "ChatRequestSuccess")["estimatedWaitTime"] == 3  # the echo agent's delay
    manual = make_sandbox(agent="manual", poll_hold=0.2)
    [unknown] = _queued(manual, visitor_on, 1, "573MAN")
    assert _first(unknown, "ChatRequestSuccess")["estimatedWaitTime"] == -1  # nothing to go on yet
    control_on(manual).agent(unknown.info["id"], "accept")
    [later] = _queued(manual, visitor_on, 1, "573MAN")
    assert _first(later, "ChatRequestSuccess")["estimatedWaitTime"] == 0  # the first chat waited < 0.5 s
