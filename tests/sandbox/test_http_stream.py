"""Streamed answers of the sandbox's HTTP server (`Response.stream`, what Server-Sent Events need): written
piece by piece, chunked on HTTP/1.1, closed on HTTP/1.0, cut short on demand, and ended when the reader
leaves or stops reading."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from liveagent_cli.sandbox.http.server import HTTPServer, Request, Response, ResponseStream, json_response
from tests.sandbox.helpers import wait_until


class _Server:
    """An HTTPServer on its own loop in a thread, whose streams record how they ended."""

    def __init__(self, producer: Callable[[Request, ResponseStream], Any], **settings: Any) -> None:
        self.producer = producer
        self.settings = settings
        self.ended: list[str] = []
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.stop = asyncio.Event()
        self.thread = threading.Thread(target=self._main, daemon=True)
        self.port = 0

    def _main(self) -> None:
        try:
            self.loop.run_until_complete(self._serve())
        finally:
            self.loop.close()

    async def _serve(self) -> None:
        async def handle(request: Request) -> Response:
            if request.path != "/stream":
                return json_response(200, {"path": request.path})

            async def run(stream: ResponseStream) -> None:
                try:
                    self.ended.append(await self.producer(request, stream))
                except asyncio.CancelledError:
                    self.ended.append("cancelled")
                    raise

            return Response(200, content_type="text/event-stream", stream=run)

        server = HTTPServer(handle, **self.settings)
        await server.start("127.0.0.1", 0)
        self.port = server.address[1]
        self.ready.set()
        await self.stop.wait()
        await server.close(grace=0.5)

    def __enter__(self) -> _Server:
        self.thread.start()
        self.ready.wait(5)
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(5)


@pytest.fixture
def serve() -> Iterator[Callable[..., _Server]]:
    started: list[_Server] = []

    def make(producer: Callable[[Request, ResponseStream], Any], **settings: Any) -> _Server:
        server = _Server(producer, **settings).__enter__()
        started.append(server)
        return server

    yield make
    for server in started:
        server.__exit__()


async def _three_then_end(request: Request, stream: ResponseStream) -> str:
    for n in range(3):
        await stream.write(b"data:%d\n\n" % n)
    return "finished"


def test_a_stream_is_chunked_on_http_1_1_and_the_connection_serves_the_next_request(
    serve: Callable[..., _Server],
) -> None:
    server = serve(_three_then_end)
    with requests.Session() as http:
        response = http.get(f"http://127.0.0.1:{server.port}/stream", stream=True, timeout=5)
        assert response.headers["Transfer-Encoding"] == "chunked"
        assert "Content-Length" not in response.headers
        assert list(response.iter_lines()) == [b"data:0", b"", b"data:1", b"", b"data:2", b""]
        assert http.get(f"http://127.0.0.1:{server.port}/after", timeout=5).json() == {"path": "/after"}
    assert server.ended == ["finished"]


def test_a_stream_on_http_1_0_ends_with_the_connection(serve: Callable[..., _Server]) -> None:
    server = serve(_three_then_end)
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"GET /stream HTTP/1.0\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"Transfer-Encoding" not in head and b"Content-Length" not in head and b"Connection: close" in head
    assert body == b"data:0\n\ndata:1\n\ndata:2\n\n"


def test_a_stream_that_is_cut_ends_without_its_last_chunk(serve: Callable[..., _Server]) -> None:
    async def cut_after_one(request: Request, stream: ResponseStream) -> str:
        await stream.write(b"data:0\n\n")
        stream.cut()
        return "cut" if not await stream.write(b"data:1\n\n") else "still open"

    server = serve(cut_after_one)
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                data += chunk
    assert data.endswith(b"8\r\ndata:0\n\n\r\n")  # one chunk, and no terminating 0-chunk
    wait_until(lambda: server.ended == ["cut"])


def test_the_producer_learns_that_its_reader_left(serve: Callable[..., _Server]) -> None:
    async def until_gone(request: Request, stream: ResponseStream) -> str:
        await stream.write(b"data:hello\n\n")
        await stream.gone
        return "gone" if not stream.open else "open"

    server = serve(until_gone)
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
        received = b""
        while b"data:hello" not in received:
            chunk = sock.recv(65536)
            assert chunk, "the server closed the stream"
            received += chunk
    wait_until(lambda: server.ended == ["gone"])


def test_a_reader_that_takes_nothing_is_cut_off(serve: Callable[..., _Server]) -> None:
    async def flood(request: Request, stream: ResponseStream) -> str:
        piece = b"data:" + b"x" * 65536 + b"\n\n"
        while await stream.write(piece):
            pass
        return "cut off"

    server = serve(flood, stream_write_timeout=0.3)
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
        wait_until(lambda: server.ended == ["cut off"], timeout=10)


def test_head_of_a_streamed_resource_gets_the_head_only(serve: Callable[..., _Server]) -> None:
    server = serve(_three_then_end)
    response = requests.head(f"http://127.0.0.1:{server.port}/stream", timeout=5)
    assert response.status_code == 200 and response.content == b""
    assert server.ended == []
