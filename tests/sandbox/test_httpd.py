"""The sandbox's HTTP/1.1 server: framing, limits, malformed input, keep-alive, disconnects, errors."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import requests

from liveagent_cli.sandbox import Sandbox
from liveagent_cli.sandbox.http.server import HTTPServer, Request, Response, json_response
from tests.sandbox.helpers import API_VERSION, Control, Visitor, raw_exchange, wait_until

ControlOn = Callable[[Sandbox], Control]


def _status(raw: bytes) -> int:
    return int(raw.split(b" ", 2)[1])


def _health_ok(sandbox: Sandbox) -> bool:
    return requests.get(sandbox.url + "/_sandbox/health", timeout=5).status_code == 200


def test_garbage_bytes_get_400_and_the_server_keeps_serving(shared_sandbox: Sandbox) -> None:
    for junk in (
        b"\x00\x01\x02 garbage \xff\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
        b"GET\r\n\r\n",
        b"GET / SPDY/3\r\n\r\n",
        b"GET / HTTP/1.1\r\nno colon here\r\n\r\n",
    ):
        answer = raw_exchange(shared_sandbox, junk)
        assert _status(answer) == 400, junk
        assert b"Connection: close" in answer
    assert _health_ok(shared_sandbox)


def test_http2_preface_is_refused(shared_sandbox: Sandbox) -> None:
    answer = raw_exchange(shared_sandbox, b"GET / HTTP/2.0\r\n\r\n")
    assert _status(answer) == 505


def test_oversized_body_is_413(shared_sandbox: Sandbox) -> None:
    response = requests.post(
        shared_sandbox.pod_url + "Chasitor/ChatMessage",
        data=b"x" * ((1 << 20) + 1),
        headers={"X-LIVEAGENT-API-VERSION": API_VERSION},
        timeout=10,
    )
    assert response.status_code == 413
    assert "limit" in response.json()["error"]
    assert _health_ok(shared_sandbox)


def test_chunked_body_is_refused_with_411(shared_sandbox: Sandbox) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"text": '
        yield b'"hi"}'

    response = requests.post(shared_sandbox.pod_url + "Chasitor/ChatMessage", data=chunks(), timeout=10)
    assert response.status_code == 411
    assert "chunked" in response.json()["error"]


def test_oversized_headers_are_431(shared_sandbox: Sandbox) -> None:
    url = shared_sandbox.url + "/_sandbox/health"
    assert requests.get(url, headers={"X-Big": "a" * 20_000}, timeout=10).status_code == 431
    many = b"GET /_sandbox/health HTTP/1.1\r\n" + b"X-A: b\r\n" * 150 + b"\r\n"
    answer = raw_exchange(shared_sandbox, many)
    assert _status(answer) == 431


def test_keep_alive_and_connection_close(shared_sandbox: Sandbox) -> None:
    request = b"GET /_sandbox/health HTTP/1.1\r\nHost: x\r\n\r\n"
    with socket.create_connection(("127.0.0.1", shared_sandbox.port), timeout=5) as sock:
        sock.sendall(request + request)  # pipelined on one connection
        data = b""
        while data.count(b"HTTP/1.1 200 OK") < 2:
            chunk = sock.recv(65536)
            assert chunk, "the server closed a keep-alive connection"
            data += chunk
    closing = raw_exchange(shared_sandbox, b"GET /_sandbox/health HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert _status(closing) == 200 and b"Connection: close" in closing  # and raw_exchange saw the close
    old = raw_exchange(shared_sandbox, b"GET /_sandbox/health HTTP/1.0\r\n\r\n")
    assert _status(old) == 200


def test_every_response_has_content_length_but_204(shared_sandbox: Sandbox) -> None:
    answer = raw_exchange(shared_sandbox, b"GET /nowhere HTTP/1.1\r\nConnection: close\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert _status(answer) == 404
    assert f"Content-Length: {len(body)}".encode() in head


def test_expect_100_continue(shared_sandbox: Sandbox) -> None:
    body = b'{"action": "accept"}'
    with socket.create_connection(("127.0.0.1", shared_sandbox.port), timeout=5) as sock:
        sock.sendall(
            b"POST /_sandbox/chats/none/agent HTTP/1.1\r\nExpect: 100-continue\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
        )
        assert sock.recv(1024).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        sock.sendall(body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert _status(answer) == 404  # the request was read and routed


def test_a_client_leaving_releases_its_held_poll(
    make_sandbox: Callable[..., Sandbox], visitor_on: Callable[[Sandbox], Visitor], control_on: ControlOn
) -> None:
    sandbox = make_sandbox(poll_hold=30)
    visitor, control = visitor_on(sandbox), control_on(sandbox)
    info = visitor.open()
    request = (
        f"GET /chat/rest/System/Messages?ack=-1 HTTP/1.1\r\nHost: x\r\n"
        f"X-LIVEAGENT-API-VERSION: {API_VERSION}\r\nX-LIVEAGENT-SESSION-KEY: {info['key']}\r\n\r\n"
    )
    sock = socket.create_connection(("127.0.0.1", sandbox.port), timeout=5)
    try:
        sock.sendall(request.encode())
        wait_until(lambda: control.chat(info["id"])["pollsHeld"] == 1, what="the poll to be held")
    finally:
        sock.close()
    wait_until(lambda: control.chat(info["id"])["pollsHeld"] == 0, timeout=3, what="the poll to be released")


def test_stop_releases_held_polls_promptly(
    make_sandbox: Callable[..., Sandbox], visitor_on: Callable[[Sandbox], Visitor], control_on: ControlOn
) -> None:
    sandbox = make_sandbox(poll_hold=30)
    visitor, control = visitor_on(sandbox), control_on(sandbox)
    visitor.open()
    result: dict[str, int] = {}
    poller = threading.Thread(target=lambda: result.update(status=visitor.poll().status_code))
    poller.start()
    wait_until(lambda: control.chat(visitor.info["id"])["pollsHeld"] == 1, what="the poll to be held")
    started = time.monotonic()
    sandbox.stop()
    poller.join(timeout=10)
    assert time.monotonic() - started < 3
    assert result == {"status": 204}
    with pytest.raises(requests.ConnectionError):
        requests.get(sandbox.url + "/_sandbox/health", timeout=2)


def _serve_once(handler: Callable[[Request], Response], requests_: list[bytes]) -> list[bytes]:
    """Run an HTTPServer with `handler` on its own loop; send each request on its own connection."""

    async def main() -> list[bytes]:
        async def handle(request: Request) -> Response:
            return handler(request)

        server = HTTPServer(handle)
        await server.start("127.0.0.1", 0)
        answers = []
        try:
            for raw in requests_:
                reader, writer = await asyncio.open_connection(*server.address)
                writer.write(raw)
                answers.append(await reader.read())
                writer.close()
                await writer.wait_closed()
        finally:
            await server.close()
        return answers

    return asyncio.run(main())


def test_handler_exception_is_500_json_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    def handler(request: Request) -> Response:
        if request.path == "/boom":
            raise KeyError("boom")
        return json_response(200, {"ok": True})

    with caplog.at_level(logging.ERROR, logger="liveagent_cli.sandbox.http.server"):
        boom, fine = _serve_once(
            handler,
            [b"GET /boom HTTP/1.1\r\nConnection: close\r\n\r\n", b"GET /fine HTTP/1.1\r\nConnection: close\r\n\r\n"],
        )
    assert _status(boom) == 500
    assert b'"error":"internal sandbox error"' in boom and b"application/json" in boom
    assert _status(fine) == 200
    assert any("handler failed on GET /boom" in r.getMessage() for r in caplog.records)


def test_request_parsing() -> None:
    seen: list[Request] = []

    def handler(request: Request) -> Response:
        seen.append(request)
        return json_response(200, {})

    _serve_once(
        handler,
        [
            b"POST /a%20b/c?ack=1&ack=2&x= HTTP/1.1\r\nX-LiveAgent-Thing:  v  \r\n"
            b"Content-Length: 4\r\nConnection: close\r\n\r\nbody"
        ],
    )
    request = seen[0]
    assert request.method == "POST" and request.path == "/a b/c"
    assert request.query_value("ack") == "2" and request.query_value("x") == ""
    assert request.header("x-liveagent-thing") == "v" and request.header("X-LIVEAGENT-THING") == "v"
    assert request.body == b"body"
