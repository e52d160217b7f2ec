"""Slow and vanishing readers of the event stream, and junk on the wire: the sandbox never crashes, and never
stalls another conversation — each test ends with another end user completing a round trip."""

from __future__ import annotations

import socket

from liveagent_cli.sandbox import Sandbox
from tests.sandbox.miaw.conftest import UserOn
from tests.sandbox.miaw.helpers import (
    MESSAGE,
    SSE_PATH,
    Control,
    EndUser,
    Event,
    StreamClosed,
    is_join,
    wait_until,
)

COUNT = 30  # big agent messages of 100 kB for a reader that does not read
LAST = str(COUNT - 1)


def _someone_else_completes_a_round_trip(sandbox: Sandbox, user_on: UserOn) -> None:
    other = user_on(sandbox)
    stream = other.start_chat()
    other.round_trip(stream, "still served")


def test_a_reader_that_stops_reading_never_stalls_other_conversations(
    user: EndUser, control: Control, user_on: UserOn, shared_sandbox: Sandbox
) -> None:
    user.login()
    stream = user.stream(receive_buffer=4096)
    assert user.create().status_code == 201
    wait_until(lambda: control.conversation(user.conv())["state"] == "established", what="the agent joining")
    big = "x" * 100_000
    for n in range(COUNT):  # far more than the socket buffers hold while nobody reads
        control.act(user.conv(), "say", text=f"{n} {big}")
    _someone_else_completes_a_round_trip(shared_sandbox, user_on)
    # The slow reader gets everything, on this stream or, if the server let it go, after resuming.
    received: list[str] = []
    current = stream
    for _attempt in range(5):
        try:
            current.until(lambda e: _number(e) == LAST, timeout=20, what="the last of the big messages")
        except StreamClosed:
            pass  # the server may drop a reader that fell behind; resuming must then bring the rest
        received += [n for n in (_number(e) for e in current.seen) if n is not None and n not in received]
        if LAST in received:
            break
        current = user.stream(last_event_id=current.last_id)
    assert received == [str(n) for n in range(COUNT)]


def _number(event: Event) -> str | None:
    """The number a big agent message starts with."""
    if event.event != MESSAGE or event.role != "Agent" or not event.text or " " not in event.text:
        return None
    return event.text.split(" ", 1)[0]


def test_a_reader_that_vanishes_is_forgotten_and_can_resume(
    user: EndUser, control: Control, user_on: UserOn, shared_sandbox: Sandbox
) -> None:
    stream = user.start_chat()
    last = stream.last_id
    stream.vanish()
    for n in range(5):
        control.act(user.conv(), "say", text=f"gone {n}")
    _someone_else_completes_a_round_trip(shared_sandbox, user_on)
    again = user.stream(last_event_id=last)
    again.wait_for(MESSAGE, text="gone 4")
    assert [e.text for e in again.events(MESSAGE)] == [f"gone {n}" for n in range(5)]


def test_many_readers_vanishing_at_once_leave_the_sandbox_serving(shared_sandbox: Sandbox, user_on: UserOn) -> None:
    for _ in range(30):
        user = user_on(shared_sandbox)
        user.login()
        user.stream().vanish()
    _someone_else_completes_a_round_trip(shared_sandbox, user_on)


def test_a_reader_that_vanishes_mid_event_leaves_the_sandbox_serving(
    user: EndUser, control: Control, user_on: UserOn, shared_sandbox: Sandbox
) -> None:
    stream = user.start_chat()
    control.act(user.conv(), "say", text="y" * 900_000)
    stream.next_event()  # reading has begun
    stream.vanish()
    control.act(user.conv(), "say", text="after the reset")
    _someone_else_completes_a_round_trip(shared_sandbox, user_on)


def test_a_stream_request_that_never_finishes_its_headers_stalls_nobody(
    shared_sandbox: Sandbox, user_on: UserOn
) -> None:
    with socket.create_connection(("127.0.0.1", shared_sandbox.port), timeout=5) as sock:
        sock.sendall(f"GET {SSE_PATH} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ".encode())
        _someone_else_completes_a_round_trip(shared_sandbox, user_on)


def test_a_half_closed_reader_is_released(user: EndUser, user_on: UserOn, shared_sandbox: Sandbox) -> None:
    user.login()
    stream = user.stream()
    stream.half_close()
    _someone_else_completes_a_round_trip(shared_sandbox, user_on)
    fresh = user.stream()  # the half-closed stream does not keep the subject from a new one
    assert user.create().status_code == 201
    fresh.until(lambda e: is_join(e, user.conv()), what="the agent joining")


def test_junk_on_the_stream_path_never_takes_the_server_down(shared_sandbox: Sandbox, user_on: UserOn) -> None:
    junk = [
        b"GET /eventrouter/v1/sse HTTP/1.1\r\nHost: x\r\nLast-Event-Id: \x00\x01\r\n\r\n",
        b"GET /eventrouter/v1/sse?" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /eventrouter/v1/sse HTTP/1.1\r\nHost: x\r\nX-Org-Id: " + b"\xff" * 30 + b"\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 100,
    ]
    for data in junk:
        with socket.create_connection(("127.0.0.1", shared_sandbox.port), timeout=5) as sock:
            sock.sendall(data)
            answer = sock.recv(1024)
        assert answer.startswith(b"HTTP/1.1 4") or answer == b"", answer[:40]
    control = Control(shared_sandbox)
    try:
        wait_until(control.healthy, what="health")
    finally:
        control.close()
    _someone_else_completes_a_round_trip(shared_sandbox, user_on)
