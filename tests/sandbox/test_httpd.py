"""The sandbox's HTTP/1.1 server: framing, limits, malformed input, keep-alive, disconnects, errors."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
from collections.abc import Callable
from typing import Any

import pytest
import requests

from liveagent_cli.sandbox import Sandbox
from liveagent_cli.sandbox.http.server import HTTPServer, Request, Response, dropped, json_response
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
        b"GET / HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n",
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


def test_oversized_headers_are_431(shared_sandbox: Sandbox) -> None:
    url = shared_sandbox.url + "/_sandbox/health"
    assert requests.get(url, headers={"X-Big": "a" * 20_000}, timeout=10).status_code == 431
    many = b"GET /_sandbox/health HTTP/1.1\r\nHost: x\r\n" + b"X-A: b\r\n" * 150 + b"\r\n"
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
    closing = raw_exchange(shared_sandbox, b"GET /_sandbox/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert _status(closing) == 200 and b"Connection: close" in closing  # and raw_exchange saw the close
    old = raw_exchange(shared_sandbox, b"GET /_sandbox/health HTTP/1.0\r\n\r\n")
    assert _status(old) == 200 and b"Connection: close" in old


def test_every_response_has_content_length_but_204(shared_sandbox: Sandbox) -> None:
    answer = raw_exchange(shared_sandbox, b"GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert _status(answer) == 404
    assert f"Content-Length: {len(body)}".encode() in head


def test_expect_100_continue(shared_sandbox: Sandbox) -> None:
    body = b'{"action": "accept"}'
    with socket.create_connection(("127.0.0.1", shared_sandbox.port), timeout=5) as sock:
        sock.sendall(
            b"POST /_sandbox/chats/none/agent HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
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
    sandbox.stop()
    poller.join(timeout=10)  # the hold is 30 s: only the stop can have answered it by then
    assert not poller.is_alive() and result == {"status": 204}
    with pytest.raises(requests.ConnectionError):
        requests.get(sandbox.url + "/_sandbox/health", timeout=2)


def _serve_once(handler: Callable[[Request], Response], requests_: list[bytes], **settings: Any) -> list[bytes]:
    """Run an HTTPServer with `handler` on its own loop; send each request on its own connection and read
    until the server closes it (b"" when it closed without a word, b"RESET" when it reset the connection)."""

    async def main() -> list[bytes]:
        async def handle(request: Request) -> Response:
            return handler(request)

        server = HTTPServer(handle, **settings)
        await server.start("127.0.0.1", 0)
        answers = []
        try:
            for raw in requests_:
                reader, writer = await asyncio.open_connection(*server.address)
                writer.write(raw)
                try:
                    answers.append(await asyncio.wait_for(reader.read(), 10))
                except ConnectionResetError:
                    answers.append(b"RESET")
                writer.close()
                with contextlib.suppress(ConnectionResetError):
                    await writer.wait_closed()
        finally:
            await server.close()
        return answers

    return asyncio.run(main())


def _get(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()


def _boom(request: Request) -> Response:
    if request.path == "/boom":
        raise KeyError("boom-secret")
    return json_response(200, {"ok": True})


def test_handler_exception_is_500_json_and_one_log_line(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="liveagent_cli.sandbox.http.server"):
        boom, fine = _serve_once(_boom, [_get("/boom"), _get("/fine")])
    assert _status(boom) == 500
    assert b'"error":"internal sandbox error"' in boom and b"application/json" in boom
    assert _status(fine) == 200
    [record] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    message = record.getMessage()
    assert message.startswith("handler failed on GET /boom: KeyError at test_httpd.py:")
    assert "\n" not in message and record.exc_info is None  # one line, no traceback
    assert "boom-secret" not in message  # an exception's text may hold a session key


def test_handler_exception_has_its_traceback_at_debug_level(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="liveagent_cli.sandbox.http.server"):
        [boom] = _serve_once(_boom, [_get("/boom")], log_text=lambda text: text.replace("boom-secret", "<redacted>"))
    assert _status(boom) == 500
    [record] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    message = record.getMessage()
    assert "Traceback (most recent call last)" in message and "KeyError: '<redacted>'" in message


def test_request_parsing() -> None:
    seen: list[Request] = []

    def handler(request: Request) -> Response:
        seen.append(request)
        return json_response(200, {})

    _serve_once(
        handler,
        [
            b"POST /a%20b/c?ack=1&ack=2&x= HTTP/1.1\r\nHost: x\r\nX-LiveAgent-Thing:  v  \r\n"
            b"Content-Length: 4\r\nConnection: close\r\n\r\nbody",
            b"\r\nPOST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
            b"HEAD /h HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        ],
    )
    request, chunked, head = seen
    assert request.method == "POST" and request.path == "/a b/c"
    assert request.query_value("ack") == "2" and request.query_value("x") == ""
    assert request.header("x-liveagent-thing") == "v" and request.header("X-LIVEAGENT-THING") == "v"
    assert request.body == b"body"
    assert chunked.body == b"abcde"  # and the empty line before its request line was ignored (RFC 9112 2.2)
    assert (head.method, head.head, head.path) == ("GET", True, "/h")


def test_fault_answers_drop_reset_and_cut_short() -> None:
    """What fault injection needs from the server: no answer (FIN or RST), or an answer cut part-way."""

    def handler(request: Request) -> Response:
        if request.path == "/drop":
            return dropped()
        if request.path == "/reset":
            return dropped(reset=True)
        response = json_response(200, {"text": "x" * 100})
        response.cut_at = 20
        return response

    dropped_answer, reset_answer, cut_answer = _serve_once(handler, [_get("/drop"), _get("/reset"), _get("/cut")])
    assert dropped_answer == b""
    assert reset_answer == b"RESET"
    assert cut_answer == b"HTTP/1.1 200 OK\r\nSer"  # the first 20 bytes, then the connection closed


def test_a_request_not_completed_in_time_is_408() -> None:
    head_only, stalled_body = _serve_once(
        lambda request: json_response(200, {}),
        [b"GET / HTTP/1.1\r\nHost: x\r\n", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"],
        request_timeout=0.2,
    )
    assert _status(head_only) == 408 and b"not completed in time" in head_only
    assert _status(stalled_body) == 408 and b"stalled" in stalled_body


def test_a_chunked_body_over_the_limit_is_413() -> None:
    body = b"".join(b"40\r\n" + b"a" * 64 + b"\r\n" for _ in range(4)) + b"0\r\n\r\n"
    [answer] = _serve_once(
        lambda request: json_response(200, {}),
        [b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + body],
        max_body=100,
    )
    assert _status(answer) == 413 and b"Connection: close" in answer
