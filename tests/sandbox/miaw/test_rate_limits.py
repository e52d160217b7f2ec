"""The rate limits of reference §6 (tokens per org, conversation starts per page, inbound messages per
conversation), their 429, and the switch that turns them off for load tests."""

from __future__ import annotations

import json

import requests

from tests.sandbox.miaw.conftest import MakeSandbox, UserOn
from tests.sandbox.miaw.helpers import Control, EndUser, error_message, new_id


def _check_429(response: requests.Response) -> None:
    assert response.status_code == 429, response.status_code
    assert error_message(response)
    retry = response.headers.get("Retry-After")
    assert retry is not None and retry.isdigit() and 0 < int(retry) <= 60, retry


def test_the_201st_token_request_of_an_org_in_a_minute_is_429(user: EndUser, user_on: UserOn) -> None:
    for n in range(200):
        assert user.mint().status_code == 200, n
    _check_429(user.mint())
    other_org = user_on(user.sandbox)
    assert other_org.mint().status_code == 200, "the limit is per org"


def test_the_fourth_conversation_start_in_30_seconds_is_429(user: EndUser) -> None:
    user.login()
    for _ in range(3):
        assert user.create().status_code == 201
    _check_429(user.create())


def test_the_23rd_message_of_a_conversation_in_a_minute_is_429(user: EndUser, user_on: UserOn) -> None:
    stream = user.start_chat()
    for n in range(22):
        assert user.send(f"n{n}").status_code == 202, n
    refused = user.send("one too many")
    _check_429(refused)
    other = user_on(user.sandbox)
    other_stream = other.start_chat()
    other.round_trip(other_stream, "unaffected")
    assert "one too many" not in json.dumps(user.entries(limit="50").json()), "a refused message is not processed"
    assert "one too many" not in [e.text for e in stream.seen]


def test_rate_limits_can_be_switched_off(make_sandbox: MakeSandbox, user_on: UserOn) -> None:
    user = user_on(make_sandbox(rate_limits=False))
    for _ in range(205):
        assert user.mint().status_code == 200
    user.login()
    for _ in range(5):
        assert user.create().status_code == 201
    for n in range(30):
        assert user.send(f"n{n}").status_code == 202


def test_repeats_and_refusals_do_not_use_up_the_limits(user: EndUser, control: Control) -> None:
    """A limit counts messages and conversations, not requests: a retried message id is one message, a
    repeated create starts nothing, and what was refused (400, 417) was never an inbound message."""
    stream = user.start_chat()
    message_id = new_id()
    assert {user.send("same", message_id).status_code for _ in range(30)} == {202}
    bad = {"message": {}, "esDeveloperName": user.deployment}
    assert {user.request("POST", f"conversation/{user.conv()}/message", json=bad).status_code for _ in range(25)} == {
        400
    }
    user.round_trip(stream, "still under the limit")
    first = user.conv()
    assert {user.create(first).status_code for _ in range(4)} == {201}
    assert user.create().status_code == 201, "repeats of one create started one conversation"
    control.act(first, "end")
    stream.until(lambda e: e.event == "CONVERSATION_SESSION_STATUS_CHANGED" and e.conversation_id == first)
    assert {user.send("ended", conversation_id=first).status_code for _ in range(25)} == {417}
    assert user.send("new session", conversation_id=first, isNewMessagingSession=True).status_code == 202
