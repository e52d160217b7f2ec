"""The event stream `GET /eventrouter/v1/sse` (reference §1.4, §3): its headers, framing, envelope, every event
type the agents cause, pings, replay after Last-Event-Id, one stream per subject."""

from __future__ import annotations

import json
import socket

import pytest

from liveagent_cli.sandbox import Sandbox
from tests.sandbox.miaw.conftest import MakeSandbox, UserOn
from tests.sandbox.miaw.helpers import (
    MESSAGE,
    PING,
    ROUTING_RESULT,
    SESSION_STATUS,
    SSE_PATH,
    TYPING_STARTED,
    TYPING_STOPPED,
    Background,
    Control,
    EndUser,
    SseStream,
    StreamClosed,
    echoes_of,
    is_join,
    new_id,
    wait_until,
)

ROLES = ("EndUser", "Agent", "Chatbot", "System", "Router", "Supervisor")


# ---- opening it -------------------------------------------------------------------------------------------


def test_the_stream_needs_x_org_id(user: EndUser) -> None:
    user.login()
    headers = user.stream_headers()
    del headers["X-Org-Id"]
    stream = user.stream(headers=headers, expect=400)
    assert "OrgId is required" in stream.body.decode()


def test_x_org_id_must_be_the_tokens_org(user: EndUser) -> None:
    user.login()
    other_org = "00D" + ("9" * 12 if not user.org_id.endswith("9" * 12) else "8" * 12)
    stream = user.stream(org_id=other_org, expect=400)
    assert "OrgId in the header and token must match" in stream.body.decode()


def test_x_org_id_in_its_18_character_form_is_refused_by_default(user: EndUser) -> None:
    """§1.2 and §7.3: the header carries the 15-character form (F-SPIKE got 'must match' with 18)."""
    user.login()
    stream = user.stream(org_id=user.org_id + "AAA", expect=400)
    assert "must match" in stream.body.decode()


@pytest.mark.parametrize("name", ["X-Org-ID", "x-org-id", "X-ORG-ID"])
def test_the_org_id_header_name_is_case_insensitive(user: EndUser, name: str) -> None:
    user.login()
    headers = user.stream_headers()
    headers[name] = headers.pop("X-Org-Id")
    stream = user.stream(headers=headers)
    assert stream.status == 200


@pytest.mark.parametrize("authorization", [None, "Bearer ", "Bearer x.y.z", "Basic abc"])
def test_the_stream_without_a_valid_bearer_is_a_spring_style_401(user: EndUser, authorization: str | None) -> None:
    user.login()
    headers = user.stream_headers()
    del headers["Authorization"]
    if authorization is not None:
        headers["Authorization"] = authorization
    stream = user.stream(headers=headers, expect=401)
    body = stream.json_body()
    assert body["status"] == 401 and body["error"] == "Unauthorized" and body["path"] == SSE_PATH


def test_the_stream_is_an_event_stream(user: EndUser) -> None:
    user.login()
    stream = user.stream()
    assert stream.response_headers["content-type"].split(";")[0].strip() == "text/event-stream"
    assert "content-length" not in stream.response_headers


def test_only_get_opens_the_stream(user: EndUser, shared_sandbox: Sandbox) -> None:
    user.login()
    for method in ("POST", "PUT", "DELETE"):
        stream = SseStream("127.0.0.1", shared_sandbox.port, {**user.stream_headers(), "Content-Length": "0"})
        stream.method = method
        user.streams.append(stream)
        stream.open()
        assert stream.status == 405 and "GET" in stream.response_headers["allow"], (method, stream.status)


# ---- framing and envelope ------------------------------------------------------------------------------------


def test_events_are_framed_id_event_data_and_a_blank_line(user: EndUser) -> None:
    stream = user.start_chat()
    user.round_trip(stream, "framing")
    events = [e for e in stream.seen if e.event != PING]
    assert events
    for event in events:
        assert len(event.lines) == 3, event.lines
        assert event.lines[0].startswith("id:") and event.lines[1].startswith("event:")
        assert event.lines[2].startswith("data:")
        json.loads(event.data)  # one line of JSON
    raw = stream.wire.decode()
    assert "\n\n" in raw and "\r" not in raw.replace("\r\n", "")


def test_event_ids_increase(user: EndUser) -> None:
    stream = user.start_chat()
    user.round_trip(stream, "count me")
    ids = [int(e.id) for e in stream.seen if e.id is not None]
    assert len(ids) >= 4 and ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(int(i) > int(user.last_event_id or 0) for i in ids)


def test_the_envelope_carries_entry_payload_as_a_json_string(user: EndUser) -> None:
    stream = user.start_chat()
    user.round_trip(stream, "envelope")
    for event in stream.seen:
        if event.event == PING:
            continue
        data = event.json()
        assert data["channelType"] == "embedded_messaging"
        for key in ("channelPlatformKey", "channelAddressIdentifier", "conversationId"):
            assert isinstance(data[key], str) and data[key], key
        assert data["conversationId"] == user.conv()
        entry = data["conversationEntry"]
        assert isinstance(entry["entryPayload"], str), "entryPayload is a JSON string inside the JSON (§1.5)"
        assert isinstance(entry["identifier"], str) and isinstance(entry["transcriptedTimestamp"], int)
        assert entry["sender"]["role"] in ROLES and "senderDisplayName" in entry
        assert isinstance(entry.get("relatedRecords", []), list)
        assert event.payload["entryType"] == entry["entryType"]


# ---- the events the agents cause -----------------------------------------------------------------------------


def test_a_routed_conversation_brings_routing_result_then_the_agent_joining(user: EndUser) -> None:
    stream = user.start()
    read = stream.until(lambda e: is_join(e, user.conv()), what="the agent joining")
    routing = [e for e in read if e.event == ROUTING_RESULT]
    assert routing, "a ROUTING_RESULT comes before the agent joins"
    payload = routing[0].payload
    assert payload["entryType"] == "RoutingResult"
    assert payload["routingType"] == "Initial" and payload["failureType"] == "None"
    join = read[-1].payload
    assert join["entryType"] == "ParticipantChanged"
    added = [item for item in join["entries"] if item["operation"] == "add"]
    assert added[0]["participant"]["role"] == "Agent" and added[0]["displayName"]
    assert user.status().json()["routingStatus"] == "ROUTED"


def test_the_end_users_own_message_is_echoed_with_role_end_user(user: EndUser) -> None:
    stream = user.start_chat()
    message_id = new_id()
    assert user.send("mine", message_id).status_code == 202
    echo = stream.until(lambda e: bool(echoes_of([e], message_id)), what="the echo")[-1]
    message = echo.payload["abstractMessage"]
    assert echo.payload["entryType"] == "Message"
    assert message["messageType"] == "StaticContentMessage"
    assert message["staticContent"] == {"formatType": "Text", "text": "mine"}


def test_agent_typing_brings_typing_started_and_stopped(user: EndUser, control: Control) -> None:
    stream = user.start_chat()
    control.act(user.conv(), "typing")
    started = stream.wait_for(TYPING_STARTED)
    control.act(user.conv(), "not-typing")
    stopped = stream.wait_for(TYPING_STOPPED)
    assert started.payload["entryType"] == "TypingStartedIndicator" and started.role == "Agent"
    assert stopped.payload["entryType"] == "TypingStoppedIndicator"
    assert isinstance(started.payload["timestamp"], int)


def test_the_agent_saying_something_is_a_message_with_role_agent(user: EndUser, control: Control) -> None:
    stream = user.start_chat()
    control.act(user.conv(), "say", text="Hello from the console")
    said = stream.wait_for(MESSAGE, role="Agent")
    assert said.text == "Hello from the console" and said.entry["senderDisplayName"]


def test_the_agent_ending_brings_session_status_changed_ended(user: EndUser, control: Control) -> None:
    stream = user.start_chat()
    control.act(user.conv(), "end")
    ended = stream.wait_for(SESSION_STATUS)
    assert ended.payload["entryType"] == "SessionStatusChanged" and ended.payload["sessionStatus"] == "Ended"
    assert not stream.events("CONVERSATION_CLOSE_CONVERSATION"), "only an end user's close sends that (§3.4)"


def test_a_transfer_brings_a_transfer_routing_result_and_a_new_agent(user: EndUser, control: Control) -> None:
    stream = user.start_chat()
    control.act(user.conv(), "transfer")
    transfer = stream.until(
        lambda e: e.event == ROUTING_RESULT and e.payload.get("routingType") == "Transfer", what="the transfer"
    )[-1]
    assert transfer.conversation_id == user.conv()
    stream.until(lambda e: is_join(e, user.conv()), what="the new agent joining")
    user.round_trip(stream, "after the transfer")


# ---- pings ----------------------------------------------------------------------------------------------------


def test_pings_come_at_sse_ping_without_an_id(make_sandbox: MakeSandbox, user_on: UserOn) -> None:
    user = user_on(make_sandbox(sse_ping=0.1))
    user.login()
    stream = user.stream()
    pings = [stream.wait_for(PING) for _ in range(3)]
    for ping in pings:
        assert ping.id is None, "a ping carries no id, so it never moves Last-Event-Id (§3.2)"
        assert all(not line.startswith("id:") for line in ping.lines)
        assert int(ping.data) >= 0


def test_pings_do_not_disturb_a_conversation(make_sandbox: MakeSandbox, user_on: UserOn) -> None:
    user = user_on(make_sandbox(sse_ping=0.05))
    stream = user.start_chat()
    user.round_trip(stream, "between pings")
    ids = [int(e.id) for e in stream.seen if e.id is not None]
    assert ids == sorted(ids)


# ---- one stream per subject, and what it carries --------------------------------------------------------------


def test_a_second_stream_for_one_subject_takes_over_and_the_first_ends(user: EndUser) -> None:
    first = user.start_chat()
    second = user.stream(last_event_id=first.last_id)
    first.wait_closed()
    user.round_trip(second, "to the newer stream")


def test_streams_opened_at_once_for_one_subject_leave_exactly_one(user: EndUser, shared_sandbox: Sandbox) -> None:
    user.login()
    streams = [SseStream("127.0.0.1", shared_sandbox.port, user.stream_headers()) for _ in range(6)]
    user.streams.extend(streams)
    opening = [Background(stream.open) for stream in streams]
    for call in opening:
        call.result()
    open_ones = [s for s in streams if s.status == 200]
    assert open_ones, [s.status for s in streams]
    assert user.create().status_code == 201
    survivors = []
    for stream in open_ones:
        try:
            stream.until(lambda e: is_join(e, user.conv()), timeout=3, what="the agent joining")
            survivors.append(stream)
        except StreamClosed:
            pass
    assert len(survivors) == 1, f"{len(survivors)} streams of one subject carried the conversation"


def test_an_http_1_0_reader_gets_a_stream_ended_by_closing(user: EndUser, shared_sandbox: Sandbox) -> None:
    """No chunked encoding for HTTP/1.0: the body is delimited by the connection's end."""
    user.login()
    with socket.create_connection(("127.0.0.1", shared_sandbox.port), timeout=10) as sock:
        head = "".join(f"{k}: {v}\r\n" for k, v in user.stream_headers().items())
        sock.sendall(f"GET {SSE_PATH} HTTP/1.0\r\n{head}\r\n".encode())
        assert user.create().status_code == 201
        received = b""
        while b"CONVERSATION_PARTICIPANT_CHANGED" not in received:
            chunk = sock.recv(65536)
            assert chunk, received[:300]
            received += chunk
    head_bytes, _, body = received.partition(b"\r\n\r\n")
    assert b" 200 " in head_bytes.split(b"\r\n")[0] and b"chunked" not in head_bytes.lower()
    assert body.startswith(b"id:") or body.startswith(b"event:")


def test_one_stream_carries_every_conversation_of_its_subject(user: EndUser) -> None:
    stream = user.start_chat()
    first = user.conv()
    assert user.create().status_code == 201
    second = user.conv()
    stream.until(lambda e: is_join(e, second), what="the agent joining the second conversation")
    user.round_trip(stream, "in the second")
    assert user.send("in the first", conversation_id=first).status_code == 202
    answer = stream.until(lambda e: e.event == MESSAGE and e.role == "Agent" and e.text == "in the first")[-1]
    assert answer.conversation_id == first


def test_a_stream_never_carries_another_subjects_events(
    user: EndUser, user_on: UserOn, shared_sandbox: Sandbox
) -> None:
    other = user_on(shared_sandbox, org_id=user.org_id)
    mine = user.start_chat()
    theirs = other.start_chat()
    other.round_trip(theirs, "private")
    user.round_trip(mine, "mine")
    assert {e.conversation_id for e in mine.seen if e.event != PING} == {user.conv()}


# ---- replay after Last-Event-Id (§3.5) ---------------------------------------------------------------------------


def _miss_one_exchange(user: EndUser) -> str:
    """Close the stream, let the agent answer while it is closed; returns the last event id seen before."""
    stream = user.start_chat()
    user.round_trip(stream, "before")
    last = stream.last_id
    assert last is not None
    stream.close()
    assert user.send("while away").status_code == 202
    wait_until(
        lambda: (
            sum(
                1
                for e in user.entries(limit="50").json()["conversationEntries"]
                if e["sender"]["role"] == "Agent" and "while away" in json.dumps(e)
            )
            == 1
        ),
        what="the agent's answer while away",
    )
    return last


def test_a_new_stream_replays_what_came_after_last_event_id(user: EndUser) -> None:
    last = _miss_one_exchange(user)
    stream = user.stream(last_event_id=last)
    read = stream.until(lambda e: e.event == MESSAGE and e.role == "Agent" and e.text == "while away")
    assert all(int(e.id) > int(last) for e in read if e.id is not None)
    assert "before" not in [e.text for e in read], "nothing up to Last-Event-Id is sent again"
    assert [e.text for e in read if e.event == MESSAGE] == ["while away", "while away"]  # echo, then answer


def test_the_token_responses_last_event_id_replays_the_whole_conversation(user: EndUser) -> None:
    stream = user.start_chat()
    user.round_trip(stream, "everything")
    seen = [e.id for e in stream.seen if e.id is not None]
    stream.close()
    again = user.stream()  # Last-Event-Id = the token's lastEventId
    read = again.until(lambda e: e.id == seen[-1], what="the last event again")
    assert [e.id for e in read if e.id is not None] == seen


def test_last_event_id_zero_replays_everything(user: EndUser) -> None:
    """AND-DEC sends "0" when it has no id."""
    stream = user.start_chat()
    first_id = stream.seen[0].id
    stream.close()
    again = user.stream(last_event_id="0")
    assert again.next_event() is not None and again.seen[0].id == first_id


def test_last_event_id_ahead_of_the_log_replays_nothing_and_goes_on(user: EndUser) -> None:
    stream = user.start_chat()
    stream.close()
    again = user.stream(last_event_id=str(10**15))
    answer = user.round_trip(again, "fresh only")
    assert [e.text for e in again.seen if e.event == MESSAGE] == ["fresh only", "fresh only"]
    assert answer.role == "Agent"


def test_no_replay_gives_a_new_stream_nothing_it_missed(make_sandbox: MakeSandbox, user_on: UserOn) -> None:
    sandbox = make_sandbox(replay=False)
    user = user_on(sandbox)
    last = _miss_one_exchange(user)
    stream = user.stream(last_event_id=last)
    user.round_trip(stream, "after")
    assert "while away" not in [e.text for e in stream.seen], "--no-replay: nothing missed comes on a new stream"


@pytest.mark.parametrize("value", ["abc", "-1", "1.5", "0x10", "9" * 40, "1,2", "\u00e9"])
def test_a_malformed_last_event_id_is_ignored_by_default(user: EndUser, value: str) -> None:
    """§1.4 is unsure (F-AGENT claims 400); the sandbox's default ignores it (the strict 400 is in test_choices)."""
    user.login()
    headers = user.stream_headers()
    headers["Last-Event-Id"] = value
    stream = user.stream(headers=headers)
    assert user.create().status_code == 201
    stream.until(lambda e: is_join(e, user.conv()), what="the agent joining")


def test_an_empty_last_event_id_is_a_stream_from_now(user: EndUser) -> None:
    user.login()
    headers = user.stream_headers()
    headers["Last-Event-Id"] = ""
    stream = user.stream(headers=headers)
    assert user.create().status_code == 201
    stream.until(lambda e: is_join(e, user.conv()), what="the agent joining")


def test_the_stream_survives_the_end_of_a_conversation(user: EndUser) -> None:
    stream = user.start_chat()
    assert user.close_conversation().status_code == 204
    stream.wait_for("CONVERSATION_CLOSE_CONVERSATION")
    assert user.create().status_code == 201
    try:
        stream.until(lambda e: is_join(e, user.conv()), what="the next conversation's agent")
    except StreamClosed:
        pytest.fail("closing one conversation ended the subject's stream")
