"""MiawClient against the sandbox's Enhanced Chat half on loopback: each resource once, the errors the flows
act on (401, 417, 429), and the event stream: framing, resume, a cut, an expired token."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from liveagent_cli.core.errors import NetworkError, NoMessagingSessionError, RateLimitedError, SessionGoneError
from liveagent_cli.core.exchange import WireRecord
from liveagent_cli.core.miaw.client import EventStream, MiawClient, StreamEnded, new_id
from liveagent_cli.core.miaw.events import PING, from_stream, interpret
from liveagent_cli.core.miaw.sse import SseEvent
from liveagent_cli.core.miaw.token import token_expiry
from liveagent_cli.sandbox import Sandbox, SandboxConfig


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(accept_after=0.05, sse_ping=0.2)) as running:
        yield running


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[MiawClient]:
    made = MiawClient(sandbox.messaging_url, sandbox.org_id, sandbox.deployment_name)
    yield made
    made.close()


def text(words: str, message_id: str | None = None) -> dict[str, Any]:
    return {
        "id": message_id or new_id(),
        "messageType": "StaticContentMessage",
        "staticContent": {"formatType": "Text", "text": words},
    }


def until(stream: EventStream, wanted: str, timeout: float = 10.0, **where: str) -> list[SseEvent]:
    """Events read until one called `wanted` (whose interpretation has `where`), pings left out."""
    seen: list[SseEvent] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        event = stream.next(0.5)
        if event is None or event.event == PING:
            continue
        seen.append(event)
        if event.event == wanted:
            meaning = interpret(from_stream(event.event, event.data, event.id))
            if all(getattr(meaning, k) == v for k, v in where.items()):
                return seen
    raise AssertionError(f"no {wanted} {where} in time; saw {[e.event for e in seen]}")


def test_guest_token_carries_the_stream_position_the_configuration_and_an_expiry(
    client: MiawClient, sandbox: Sandbox
) -> None:
    grant = client.guest_token()
    assert client.token == grant.access_token
    assert grant.last_event_id.isdigit()
    assert grant.subject.startswith("v2/iamessage/UNAUTH/")
    assert grant.configuration["forms"][0]["formType"] == "PreChat"
    expiry = token_expiry(grant.access_token)
    assert expiry is not None and expiry > time.time()


def test_a_conversation_from_create_to_echo_on_the_stream(client: MiawClient) -> None:
    grant = client.guest_token()
    conversation = new_id()
    client.create_conversation(conversation, routing_attributes={"_firstName": "Ada"})
    stream = client.open_stream(grant.last_event_id)
    try:
        until(stream, "CONVERSATION_PARTICIPANT_CHANGED", kind="established")
        message_id = new_id()
        client.send_message(conversation, text("hello", message_id))
        seen = until(stream, "CONVERSATION_MESSAGE", kind="message", text="hello")
        echoes = [e for e in seen if interpret(from_stream(e.event, e.data, e.id)).kind == "echo"]
        assert len(echoes) == 1 and all(e.id for e in seen)
    finally:
        stream.close()
    assert client.conversation_status(conversation)["routingStatus"]
    listed = [c["conversationId"] for c in client.list_conversations()["conversations"]]
    assert conversation in listed
    entries = client.entries(conversation, entry_types=("Message",))
    assert {e["entryType"] for e in entries} == {"Message"}


def test_a_message_sent_twice_with_one_id_is_processed_once(client: MiawClient) -> None:
    client.guest_token()
    conversation = new_id()
    client.create_conversation(conversation)
    message_id = new_id()
    first = client.send_message(conversation, text("once", message_id))
    again = client.send_message(conversation, text("once", message_id))
    assert first == again
    messages = [e for e in client.entries(conversation, entry_types=("Message",)) if e.get("identifier") == message_id]
    assert len(messages) == 1


def test_resume_from_a_last_event_id_replays_what_came_after(client: MiawClient) -> None:
    grant = client.guest_token()
    conversation = new_id()
    client.create_conversation(conversation)
    first = client.open_stream(grant.last_event_id)
    try:
        seen = until(first, "CONVERSATION_PARTICIPANT_CHANGED")
    finally:
        first.close()
    middle = seen[0].id
    assert middle is not None
    resumed = client.open_stream(middle)
    try:
        again = until(resumed, "CONVERSATION_PARTICIPANT_CHANGED")
    finally:
        resumed.close()
    assert [e.id for e in again] == [e.id for e in seen[1:]]


def test_a_cut_stream_ends_with_a_network_error_and_an_expired_token_says_so(
    client: MiawClient, sandbox: Sandbox
) -> None:
    grant = client.guest_token()
    client.create_conversation(new_id())
    sandbox.add_fault("sse-drop:after=1,times=1")
    stream = client.open_stream(grant.last_event_id)
    with pytest.raises((NetworkError, StreamEnded)):
        for _ in range(50):
            stream.next(1.0)
    stream.close()
    sandbox.add_fault("expire:path=sse,times=1")
    with pytest.raises(SessionGoneError, match="401"):
        client.open_stream(grant.last_event_id)


def test_a_stream_whose_token_expires_ends_as_expired() -> None:
    with Sandbox(SandboxConfig(accept_after=0.05, token_ttl=1.0, sse_ping=0.2)) as short:
        made = MiawClient(short.messaging_url, short.org_id, short.deployment_name)
        grant = made.guest_token()
        stream = made.open_stream(grant.last_event_id)
        with pytest.raises(StreamEnded) as ended:
            for _ in range(100):
                stream.next(0.5)
        assert ended.value.why == "expired"
        stream.close()
        with pytest.raises(SessionGoneError):
            made.list_conversations()
        made.close()


def test_after_the_agent_ends_the_session_a_message_is_417_until_a_new_session(
    client: MiawClient, sandbox: Sandbox
) -> None:
    grant = client.guest_token()
    conversation = new_id()
    client.create_conversation(conversation)
    stream = client.open_stream(grant.last_event_id)
    try:
        until(stream, "CONVERSATION_PARTICIPANT_CHANGED", kind="established")
        sandbox.agent_action(conversation, "end")
        until(stream, "CONVERSATION_SESSION_STATUS_CHANGED", kind="ended")
    finally:
        stream.close()
    message_id = new_id()
    with pytest.raises(NoMessagingSessionError):
        client.send_message(conversation, text("again", message_id))
    client.send_message(conversation, text("again", message_id), new_session=True, routing_attributes={})


def test_429_says_how_long_to_wait(client: MiawClient) -> None:
    client.guest_token()
    conversation = new_id()
    client.create_conversation(conversation)
    with pytest.raises(RateLimitedError) as limited:
        for n in range(40):
            client.send_message(conversation, text(f"m{n}"))
    assert limited.value.retry_after is not None and limited.value.retry_after >= 0


def test_deployment_configuration_and_business_hours_need_no_token(sandbox: Sandbox) -> None:
    anonymous = MiawClient(sandbox.messaging_url, sandbox.org_id, sandbox.deployment_name)
    config = anonymous.embedded_service_config()
    assert "embeddedServiceConfig" in config
    hours = anonymous.business_hours()["businessHoursInfo"]["businessHours"]
    assert hours and hours[0]["startTime"] < time.time() * 1000 < hours[0]["endTime"]
    anonymous.close()


def test_every_exchange_is_reported_with_its_headers(sandbox: Sandbox) -> None:
    records: list[WireRecord] = []
    logged = MiawClient(sandbox.messaging_url, sandbox.org_id, sandbox.deployment_name, on_exchange=records.append)
    grant = logged.guest_token()
    logged.open_stream(grant.last_event_id).close()
    sse = records[-1]
    assert sse.status == 200 and sse.request_headers["X-Org-Id"] == sandbox.org_id[:15]
    assert sse.request_headers["Authorization"] == f"Bearer {grant.access_token}"
    assert sse.request_headers["Last-Event-Id"] == grant.last_event_id
    assert "Authorization" not in records[0].request_headers  # the token mint carries none
    logged.close()
