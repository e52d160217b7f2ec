"""Faults on the Enhanced Chat half (CONTRACT: `--fault`, `sse-drop:after=N`): each kind on a MIAW endpoint,
with what the end user sees and what the conversation keeps. Each test has a sandbox of its own (faults are
global)."""

from __future__ import annotations

import pytest
import requests

from liveagent_cli.sandbox import Sandbox
from tests.sandbox.miaw.conftest import ControlOn, MakeSandbox, UserOn
from tests.sandbox.miaw.helpers import (
    MESSAGE,
    PING,
    EndUser,
    echoes_of,
    is_join,
    new_id,
    wait_until,
)

# How a fault's `path=` names the Enhanced Chat endpoints.
SEND_PATH = "message"
TOKEN_PATH = "access-token"


@pytest.fixture
def pod(make_sandbox: MakeSandbox) -> Sandbox:
    return make_sandbox()


def _answered_once(user: EndUser, message_id: str, text: str) -> None:
    stream = user.streams[-1]
    user.round_trip(stream, "sentinel")
    assert len(echoes_of(stream.seen, message_id)) == 1, "the message was processed more than once, or never"
    assert len([e for e in stream.events(MESSAGE) if e.role == "Agent" and e.text == text]) == 1


@pytest.mark.parametrize("after", [1, 2, 5])
def test_sse_drop_closes_the_stream_after_its_nth_event(
    pod: Sandbox, user_on: UserOn, control_on: ControlOn, after: int
) -> None:
    user = user_on(pod)
    first = user.start_chat()
    user.round_trip(first, "a conversation to replay")
    everything = [e.id for e in first.seen if e.id is not None]
    first.close()
    control_on(pod).add_fault(f"sse-drop:after={after},times=1")
    dropped = user.stream()  # from the token's lastEventId: the whole log again
    ids = [e.id for e in dropped.wait_closed() if e.event != PING]
    assert ids == everything[:after]
    resumed = user.stream(last_event_id=ids[-1])
    read = resumed.until(lambda e: e.id == everything[-1], what="the rest of the log")
    assert [e.id for e in read if e.id is not None] == everything[after:]
    user.round_trip(resumed, "after the drop")


def test_sse_drop_every_time_still_lets_a_resuming_client_hear_everything(
    make_sandbox: MakeSandbox, user_on: UserOn
) -> None:
    user = user_on(make_sandbox(faults=("sse-drop:after=2",)))
    user.login()
    stream = user.stream()
    assert user.create().status_code == 201
    resume = user.last_event_id
    for event in stream.wait_closed():  # routing result, the agent joining
        resume = event.id or resume
    texts = [f"m{n}" for n in range(4)]
    for text in texts:
        assert user.send(text).status_code == 202
    heard: list[tuple[str, str | None]] = []
    for _stream in range(40):
        stream = user.stream(last_event_id=resume)
        while ("Agent", texts[-1]) not in heard and (got := stream.next_event()) is not None:
            resume = got.id or resume
            if got.event == MESSAGE:
                heard.append((got.role, got.text))
        if ("Agent", texts[-1]) in heard:
            break
    assert [text for role, text in heard if role == "EndUser"] == texts  # each echo once, in order
    assert [text for role, text in heard if role == "Agent"] == texts  # each answer once, in order


def test_a_dropped_answer_to_a_message_then_a_retry_with_the_same_id_is_processed_once(
    pod: Sandbox, user_on: UserOn, control_on: ControlOn
) -> None:
    user = user_on(pod)
    user.start_chat()
    control_on(pod).add_fault(f"drop:path={SEND_PATH},times=1")
    message_id = new_id()
    with pytest.raises(requests.ConnectionError):
        user.send("lost answer", message_id)
    assert user.send("lost answer", message_id).status_code == 202
    _answered_once(user, message_id, "lost answer")


def test_a_request_dropped_before_processing_is_processed_once_on_retry(
    pod: Sandbox, user_on: UserOn, control_on: ControlOn
) -> None:
    user = user_on(pod)
    stream = user.start_chat()
    control_on(pod).add_fault(f"drop:path={SEND_PATH},when=before,times=1")
    message_id = new_id()
    with pytest.raises(requests.ConnectionError):
        user.send("never arrived", message_id)
    user.round_trip(stream, "probe")
    assert not echoes_of(stream.seen, message_id), "a request dropped before processing was processed"
    assert user.send("never arrived", message_id).status_code == 202
    _answered_once(user, message_id, "never arrived")


def test_a_delayed_answer_is_still_the_right_answer(pod: Sandbox, user_on: UserOn, control_on: ControlOn) -> None:
    user = user_on(pod)
    stream = user.start_chat()
    control = control_on(pod)
    rule = control.add_fault(f"delay:ms=300,path={SEND_PATH},times=1")
    user.round_trip(stream, "slowly")
    assert control.fault(rule["id"])["fired"] == 1


@pytest.mark.parametrize("code", [500, 503, 429])
def test_a_status_fault_answers_that_code_and_processes_nothing(
    pod: Sandbox, user_on: UserOn, control_on: ControlOn, code: int
) -> None:
    user = user_on(pod)
    stream = user.start_chat()
    control_on(pod).add_fault(f"status:code={code},path={SEND_PATH},times=1")
    message_id = new_id()
    assert user.send("refused", message_id).status_code == code
    user.round_trip(stream, "probe")
    assert not echoes_of(stream.seen, message_id)
    assert user.send("refused", message_id).status_code == 202
    _answered_once(user, message_id, "refused")


def test_a_status_fault_on_the_token_endpoint(pod: Sandbox, user_on: UserOn, control_on: ControlOn) -> None:
    user = user_on(pod)
    control_on(pod).add_fault(f"status:code=503,path={TOKEN_PATH},times=1")
    assert user.mint().status_code == 503
    user.login()


def test_an_expire_fault_makes_the_token_401_from_then_on(pod: Sandbox, user_on: UserOn, control_on: ControlOn) -> None:
    user = user_on(pod)
    stream = user.start_chat()
    control_on(pod).add_fault("expire:times=1")
    assert user.send("expired?").status_code == 401
    assert user.status().status_code == 401
    stream.wait_closed()
    assert user.stream(expect=None).status == 401
    bystander = user_on(pod)
    bystander.login()
    other = bystander.stream()
    assert bystander.create().status_code == 201
    other.until(lambda e: is_join(e, bystander.conv()), what="a new user's agent")


def test_faults_are_counted_and_can_be_cleared(pod: Sandbox, user_on: UserOn, control_on: ControlOn) -> None:
    user = user_on(pod)
    stream = user.start_chat()
    control = control_on(pod)
    rule = control.add_fault(f"status:code=500,path={SEND_PATH}")
    assert user.send("one").status_code == 500
    assert user.send("two").status_code == 500
    wait_until(lambda: control.fault(rule["id"])["fired"] == 2, what="two firings")
    control.clear_faults()
    user.round_trip(stream, "clear")


def test_faults_on_the_stream_itself(pod: Sandbox, user_on: UserOn, control_on: ControlOn) -> None:
    """`path=sse`: a stream request can be dropped or refused like any other, and the next one works."""
    user = user_on(pod)
    user.login()
    control = control_on(pod)
    control.add_fault("status:code=503,path=sse,times=1")
    assert user.stream(expect=None).status == 503
    control.add_fault("drop:path=sse,times=1")
    with pytest.raises(AssertionError, match="closed before a response head"):
        user.stream(expect=None)  # the connection closes with no answer
    stream = user.stream()
    assert user.create().status_code == 201
    stream.until(lambda e: is_join(e, user.conv()), what="the agent joining")
