"""Where the reference is unsure (marked [UNVERIFIED] or contradicting itself), the sandbox makes a choice and
offers the other side as a switch: each setting is tested here, so a client can be tried against both."""

from __future__ import annotations

import json
import socket

import pytest

from tests.sandbox.miaw.conftest import MakeSandbox, UserOn
from tests.sandbox.miaw.helpers import (
    MESSAGE,
    PING,
    SSE_PATH,
    EndUser,
    SseStream,
    error_message,
    is_join,
    jwt_parts,
    wait_until,
)


def test_a_second_stream_refused_leaves_the_first_serving(make_sandbox: MakeSandbox, user_on: UserOn) -> None:
    """§3.1 one stream per subject; `second_stream="refuse"` answers the newcomer 409."""
    user = user_on(make_sandbox(second_stream="refuse"))
    first = user.start_chat()
    second = user.stream(last_event_id=first.last_id, expect=409)
    assert second.body
    user.round_trip(first, "still the first")


def test_a_second_stream_after_the_first_closed_is_accepted_even_when_refusing(
    make_sandbox: MakeSandbox, user_on: UserOn
) -> None:
    user = user_on(make_sandbox(second_stream="refuse"))
    first = user.start_chat()
    first.close()
    again = user.stream(last_event_id=first.last_id)
    user.round_trip(again, "the second stream")


@pytest.mark.parametrize("value", ["abc", "-1", "1.5"])
def test_a_malformed_last_event_id_is_ignored_when_lenient(
    make_sandbox: MakeSandbox, user_on: UserOn, value: str
) -> None:
    user = user_on(make_sandbox(last_event_id="lenient"))
    user.login()
    stream = user.stream(last_event_id=value)
    assert user.create().status_code == 201
    stream.until(lambda e: is_join(e, user.conv()), what="the agent joining")


@pytest.mark.parametrize("value", ["abc", "-1", "1.5"])
def test_a_malformed_last_event_id_is_400_when_strict(make_sandbox: MakeSandbox, user_on: UserOn, value: str) -> None:
    user = user_on(make_sandbox(last_event_id="strict"))
    user.login()
    stream = user.stream(last_event_id=value, expect=400)
    assert b"Last-Event-Id" in stream.body or b"last event" in stream.body.lower()


def test_a_missing_last_event_id_is_400_when_strict(make_sandbox: MakeSandbox, user_on: UserOn) -> None:
    """F-AGENT claims 400 without it (§1.4, UNVERIFIED): the knob's strictest choice."""
    user = user_on(make_sandbox(last_event_id="strict"))
    user.login()
    assert user.stream(resume=False, expect=None).status == 400
    assert user.stream(last_event_id="0").status == 200


def test_the_strict_profile_refuses_a_malformed_last_event_id_but_not_a_missing_one(
    make_sandbox: MakeSandbox, user_on: UserOn
) -> None:
    """Production clients (Botpress) open the stream without the header, so a real server takes it."""
    user = user_on(make_sandbox(strict=True))
    user.login()
    assert user.stream(last_event_id="not-an-id", expect=None).status == 400
    assert user.stream(resume=False).status == 200


def test_the_18_character_org_id_on_the_stream_when_allowed(make_sandbox: MakeSandbox, user_on: UserOn) -> None:
    """§7.3: F-AGENT shows the 18-character form working."""
    user = user_on(make_sandbox(org_id_18=True))
    user.login()
    assert user.stream(org_id=user.org_id + "AAA").status == 200
    other = user_on(user.sandbox)
    other.login()
    assert other.stream(org_id="00D" + "7" * 12 + "AAA", expect=400).status == 400


@pytest.mark.parametrize("choice", ["object", "string"])
def test_entry_payload_in_the_entries_list_follows_the_setting(
    make_sandbox: MakeSandbox, user_on: UserOn, choice: str
) -> None:
    """§1.5: an object by SAMPLE, a string by CW; on the stream it is always a string."""
    user = user_on(make_sandbox(entry_payload=choice))
    stream = user.start_chat()
    user.round_trip(stream, "shape")
    listed = user.entries(limit="50").json()["conversationEntries"]
    kinds = {type(e["entryPayload"]).__name__ for e in listed}
    assert kinds == ({"dict"} if choice == "object" else {"str"})
    if choice == "string":
        assert all(json.loads(e["entryPayload"])["entryType"] == e["entryType"] for e in listed)
    assert all(isinstance(e.entry["entryPayload"], str) for e in stream.seen if e.event != PING)


@pytest.mark.parametrize("choice", ["zero", "counter"])
def test_ping_data_follows_the_setting(make_sandbox: MakeSandbox, user_on: UserOn, choice: str) -> None:
    """§3.2, §7.7: `0` (F-AGENT) or an incrementing counter (F-TEAMS)."""
    user = user_on(make_sandbox(sse_ping=0.05, ping_data=choice))
    user.login()
    stream = user.stream()
    values = [int(stream.wait_for(PING).data) for _ in range(3)]
    if choice == "zero":
        assert values == [0, 0, 0]
    else:
        assert values == sorted(values) and len(set(values)) == 3


def test_a_failed_identity_token_binds_a_guest_by_default(user: EndUser) -> None:
    """§1.3 (F-AGENT §7.1): failed verification still answers 200, with an anonymous subject."""
    minted = user.adopt(user.mint_verified("not-a-jwt-at-all"))
    assert user.token is not None
    assert "/AUTH/" not in jwt_parts(user.token)[1]["sub"]
    assert "/AUTH/" not in minted["context"]["endUser"]["subject"]


def test_a_failed_identity_token_is_401_when_rejecting(make_sandbox: MakeSandbox, user_on: UserOn) -> None:
    user = user_on(make_sandbox(identity_failure="reject"))
    response = user.mint_verified("not-a-jwt-at-all")
    assert response.status_code == 401
    assert error_message(response)


@pytest.mark.parametrize("retry_after", [True, False])
def test_retry_after_on_429_follows_the_setting(make_sandbox: MakeSandbox, user_on: UserOn, retry_after: bool) -> None:
    user = user_on(make_sandbox(retry_after=retry_after))
    user.login()
    for _ in range(3):
        assert user.create().status_code == 201
    refused = user.create()
    assert refused.status_code == 429
    if retry_after:
        assert refused.headers["Retry-After"].isdigit() and 0 < int(refused.headers["Retry-After"]) <= 30
    else:
        assert "Retry-After" not in refused.headers


def test_the_strict_profile_takes_the_least_forgiving_choice_of_each(
    make_sandbox: MakeSandbox, user_on: UserOn
) -> None:
    """docs/sandbox.md: `--strict` = no replay, a second stream refused, a malformed Last-Event-Id 400,
    no Retry-After on 429."""
    sandbox = make_sandbox(strict=True)
    user = user_on(sandbox)
    stream = user.start_chat()
    user.round_trip(stream, "before")
    assert user.stream(last_event_id=stream.last_id, expect=409).status == 409
    assert user.stream(last_event_id="abc", expect=400).status == 400
    last = stream.last_id
    stream.close()
    assert user.send("missed").status_code == 202
    # The answer to "missed" has happened once the entries list shows it.
    wait_until(
        lambda: (
            sum(
                1
                for e in user.entries(limit="50").json()["conversationEntries"]
                if e["sender"]["role"] == "Agent" and "missed" in json.dumps(e)
            )
            == 1
        ),
        what="the answer while away",
    )
    again = user.stream(last_event_id=last)
    user.round_trip(again, "after")
    assert "missed" not in [e.text for e in again.events(MESSAGE)]
    limited = user_on(sandbox)
    limited.login()
    for _ in range(3):
        assert limited.create().status_code == 201
    refused = limited.create()
    assert refused.status_code == 429 and "Retry-After" not in refused.headers


def test_agent_receipts_can_be_switched_off(make_sandbox: MakeSandbox, user_on: UserOn) -> None:
    """Whether the console sends receipts depends on channel settings (§5, INFERRED)."""
    user = user_on(make_sandbox(agent_receipts=False))
    stream = user.start_chat()
    user.round_trip(stream, "no receipts")
    user.round_trip(stream, "sentinel")
    assert not stream.events("CONVERSATION_DELIVERY_ACKNOWLEDGEMENT")
    assert not stream.events("CONVERSATION_READ_ACKNOWLEDGEMENT")


def test_a_head_or_a_reader_gone_before_the_answer_leaves_no_phantom_stream(
    make_sandbox: MakeSandbox, user_on: UserOn
) -> None:
    """With `second_stream="refuse"`, a stream that never really opened must not refuse the real one."""
    sandbox = make_sandbox(second_stream="refuse")
    user = user_on(sandbox)
    user.login()
    head = SseStream("127.0.0.1", sandbox.port, user.stream_headers(), method="HEAD")
    user.streams.append(head)
    head.open()
    assert head.status == 200 and head.response_headers["content-type"].startswith("text/event-stream")
    with socket.create_connection(("127.0.0.1", sandbox.port), timeout=5) as sock:
        lines = "".join(f"{k}: {v}\r\n" for k, v in user.stream_headers().items())
        sock.sendall(f"GET {SSE_PATH} HTTP/1.1\r\nHost: x\r\n{lines}\r\n".encode())
    # ...closed at once, maybe before its answer started; the next stream is accepted either way.
    stream = user.stream()
    assert user.create().status_code == 201
    stream.until(lambda e: is_join(e, user.conv()), what="the agent joining")
