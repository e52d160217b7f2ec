"""The sandbox's HTTP/1.1 server, on one event loop: h11 reads the requests, this module owns the sockets.

Why not `http.server`: it spends a thread per connection, and the sandbox must hold a thousand long polls at
once. Why not a framework (aiohttp, an ASGI server): a pod for tests must be able to process a request and
lose its answer, answer late, cut an answer short and hold a request while watching for its client to
leave, and frameworks hide the socket that takes. h11 (sans-IO, pure Python, no dependencies) parses and
validates each request and decodes chunked bodies. The answers are written here: a status line and the
few headers we choose, which is all an answer needs, costs a fifth of h11's writer (measured: it is on the
path of every message of a thousand chats) and lets an answer be cut short. The rest:

- keep-alive (HTTP/1.1 by default, `Connection: close` honoured, HTTP/1.0 only with `Connection:
  keep-alive`), `Expect: 100-continue`, request bodies with `Content-Length` or `Transfer-Encoding: chunked`, HEAD
  wherever GET is (the handler sees GET, `Request.head` set; the answer goes without its body);
- refuses what it does not speak, then closes the connection: malformed requests (a NUL or bare CR in a
  header, a missing or repeated `Host` on HTTP/1.1, bad `Content-Length`, both `Content-Length` and
  `Transfer-Encoding`, which RFC 9112 6.3 allows refusing) and binary junk such as a TLS handshake → 400 at
  once; a head over `max_head` bytes or `max_headers` lines → 431; a body over the path's limit → 413; a
  transfer coding other than chunked, or a method it does not implement → 501; HTTP/2+ → 505; an `Expect`
  other than 100-continue → 417; a head not complete within `request_timeout`, or a body that stalls that
  long → 408. After such a refusal it half-closes and drains what the client is still sending (bounded), so
  the client reads the answer instead of a connection reset;
- a handler exception becomes a 500 with a JSON body and one log line (the traceback only when the logger
  is at DEBUG); the server keeps serving;
- `Request.disconnected()` lets a handler that holds a request (the long poll) learn that the client went
  away: it reads ahead only while asked, keeping what a pipelining client sends for the next request;
- `Response.drop` closes (or resets) the connection without an answer, `Response.cut_at` closes it part-way
  through the answer: the failures a test pod injects;
- `Response.stream` is an answer written piece by piece while the connection stays open (Server-Sent
  Events): chunked on HTTP/1.1, ended by closing on HTTP/1.0; the producer is told when the client left,
  and a reader too slow to take what is written is cut off rather than buffered without end;
- every response carries `Content-Length`, except 204 and 304, which RFC 9110 forbids it on.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import logging
import os
import re
import socket
import struct
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, unquote

import h11

from liveagent_cli.sandbox.http.listener import Listener, bind, raise_open_file_limit
from liveagent_cli.sandbox.jsonbody import encode

log = logging.getLogger("liveagent_cli.sandbox.http.server")

DEFAULT_MAX_BODY = 1 << 20
DEFAULT_MAX_HEAD = 16 * 1024
DEFAULT_MAX_HEADERS = 100
DEFAULT_KEEPALIVE_TIMEOUT = 120.0
DEFAULT_REQUEST_TIMEOUT = 30.0
DEFAULT_STREAM_WRITE_TIMEOUT = 30.0  # seconds a streamed answer's reader may take nothing before it is cut off

# RFC 9110 methods this server routes to its handler; CONNECT and TRACE (and anything else) get 501.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

_READ_CHUNK = 64 * 1024
_READ_AHEAD_MAX = 1 << 20  # bytes kept from a client pipelining while its request is held
_LINGER_SECONDS = 2.0
_LINGER_MAX_BYTES = 16 << 20
_BAD_TARGET = re.compile(r"[\x00-\x20\x7f-\xff]")
_ABSOLUTE_FORM = re.compile(r"https?://[^/?#]*", re.IGNORECASE)
_BAD_LINE_BYTES = re.compile(rb"[^\x20-\x7e\r]")
_TOKEN_BYTES = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_REASONS = {status.value: status.phrase for status in HTTPStatus}


class HTTPError(Exception):
    """A request refused before any handler sees it; the connection is closed after the answer."""

    def __init__(self, status: int, message: str, *, discard: int = 0) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.discard = discard  # body bytes the client is still expected to send; drained before closing


@dataclass(slots=True, eq=False)
class Request:
    """One parsed request; header names are lower-case, `path` is percent-decoded.

    A HEAD request arrives as `method` "GET" with `head` set (RFC 9110 9.3.2: the same answer without its
    body), so every resource that serves GET serves HEAD.
    """

    method: str
    target: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    http_version: tuple[int, int]
    peer: str = ""
    head: bool = False
    _conn: _Connection | None = field(default=None, repr=False)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def query_value(self, name: str) -> str | None:
        """The last value of a query parameter (clients that repeat one mean the latest)."""
        values = self.query.get(name)
        return values[-1] if values else None

    @property
    def keep_alive(self) -> bool:
        tokens = {t.strip().lower() for t in self.headers.get("connection", "").split(",")}
        if self.http_version >= (1, 1):
            return "close" not in tokens
        return "keep-alive" in tokens

    def disconnected(self) -> asyncio.Future[None]:
        """A future that completes when the client closes the connection; for handlers that hold a request.

        Watching starts on the first call and stops when the handler returns. Bytes the client pipelines
        meanwhile are kept for the next request, and watching goes on (up to 1 MiB of them). A half-close
        (the client shuts down its sending side while waiting) counts as gone, which no real HTTP client
        does mid-request.
        """
        if self._conn is None:
            return asyncio.get_running_loop().create_future()
        return self._conn.watch_disconnect()


@dataclass(slots=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    close: bool = False
    drop: bool = False  # close the connection without answering at all (fault injection)
    reset: bool = False  # with `drop`: reset the connection (RST) rather than close it (FIN)
    cut_at: int | None = None  # close the connection after this many bytes of the answer, head included
    # A body written piece by piece (SSE): called once the head is sent, the connection stays open until it
    # returns. Ignored for HEAD (the head alone is sent).
    stream: Callable[[ResponseStream], Awaitable[None]] | None = None


class ResponseStream:
    """The open body of a streamed answer, handed to `Response.stream`'s producer.

    `write` sends one piece and waits until the socket took it, for at most `write_timeout` seconds: a
    reader that takes nothing for that long is cut off (its connection aborted), so one stalled client
    costs a bounded buffer, never the server's memory. `gone` completes when the client closes the
    connection. `cut()` closes it at once without ending the body properly: a stream dropped mid-way.
    """

    __slots__ = ("_conn", "_chunked", "_timeout", "broken", "cut_short")

    def __init__(self, conn: _Connection, *, chunked: bool, write_timeout: float) -> None:
        self._conn = conn
        self._chunked = chunked
        self._timeout = write_timeout
        self.broken = False  # the client left, or could not keep up: nothing more can be written
        self.cut_short = False  # the producer cut the stream (a fault)

    @property
    def gone(self) -> asyncio.Future[None]:
        return self._conn.watch_disconnect()

    @property
    def open(self) -> bool:
        return not (self.broken or self.cut_short or self._conn.gone)

    async def write(self, data: bytes) -> bool:
        """Send `data` now; False (and nothing sent) once the stream cannot take more."""
        if not data:
            return self.open
        if not self.open:
            return False
        writer = self._conn.writer
        try:
            writer.write(b"%x\r\n%s\r\n" % (len(data), data) if self._chunked else data)
            async with asyncio.timeout(self._timeout):
                await writer.drain()
        except TimeoutError:
            log.info("stream to %s cut off: it took nothing for %.0f s", self._conn.peer, self._timeout)
            self.broken = True
            writer.transport.abort()
            return False
        except (OSError, RuntimeError):
            self.broken = True
            return False
        return True

    def cut(self) -> None:
        """Close the connection now, the body unfinished (no last chunk): what a dropped stream looks like."""
        self.cut_short = True
        self._conn.writer.transport.abort()

    async def finish(self) -> bool:
        """End the body properly (the last chunk); True when the connection can serve another request."""
        if not self.open:
            return False
        if not self._chunked:
            return False  # HTTP/1.0: the body ends when the connection closes
        try:
            self._conn.writer.write(b"0\r\n\r\n")
            async with asyncio.timeout(self._timeout):
                await self._conn.writer.drain()
        except (TimeoutError, OSError, RuntimeError):
            return False
        return True


def dropped(*, reset: bool = False) -> Response:
    """No answer: the connection is closed as if the server (or a proxy) died mid-request."""
    return Response(0, drop=True, reset=reset)


def json_response(status: int, payload: Any, *, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(status, encode(payload), "application/json", headers or [])


def text_response(status: int, text: str) -> Response:
    return Response(status, text.encode("utf-8"), "text/plain; charset=utf-8")


def empty_response(status: int) -> Response:
    return Response(status)


def error_response(status: int, message: str, **extra: Any) -> Response:
    """The sandbox's error shape everywhere: `{"error": message, ...}`."""
    return json_response(status, {"error": message, **extra})


_date_cache: tuple[int, str] = (0, "")


def _http_date() -> str:
    """`Date` header value, formatted at most once a second (this is on the hot path)."""
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, email.utils.formatdate(now, usegmt=True))
    return _date_cache[1]


Handler = Callable[[Request], Awaitable[Response]]


class _Connection:
    """One client connection; only one task reads it at a time (the request loop, or the disconnect watcher
    while a handler holds the request).

    h11 state exists only while a request is being read: between requests (an idle keep-alive connection, a
    held poll) the connection keeps just the bytes the client sent ahead, so a thousand held polls cost the
    garbage collector a thousand bytearrays rather than a thousand parsers. (The answers are written here,
    not through h11, so each request gets a parser of its own anyway.)
    """

    __slots__ = (
        "reader",
        "writer",
        "max_head",
        "h11",
        "ahead",
        "eof",
        "busy",
        "task",
        "peer",
        "head",
        "_gone",
        "_watcher",
    )

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, max_head: int) -> None:
        self.reader = reader
        self.writer = writer
        self.max_head = max_head
        self.h11: h11.Connection | None = None  # the parser of the request being read
        self.ahead = bytearray()  # bytes of the next request, received while no request was being read
        self.eof = False
        self.busy = False
        self.task: asyncio.Task[Any] | None = None
        peer = writer.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) and len(peer) >= 2 else str(peer)
        self.head = False  # the request being answered is a HEAD (its answers carry no body)
        self._gone: asyncio.Future[None] | None = None
        self._watcher: asyncio.Task[None] | None = None

    async def receive(self) -> int:
        """Read what the client sent next, into the parser or ahead of it; the number of bytes, 0 at EOF."""
        if self.eof:
            return 0
        try:
            data = await self.reader.read(_READ_CHUNK)
        except OSError:
            data = b""
        if not data:
            self.eof = True
            if self.h11 is not None:
                self.h11.receive_data(b"")
            return 0
        if self.h11 is not None:
            self.h11.receive_data(data)
        elif self.ahead:
            self.ahead += data
        else:  # RFC 9112 2.2: ignore empty lines before a request line
            self.ahead += data.lstrip(b"\r\n")
        return len(data)

    @property
    def idle(self) -> bool:
        """Nothing of a next request received yet (nor the end of the connection)."""
        return self.h11 is None and not self.ahead and not self.eof

    def parser(self) -> h11.Connection:
        """The parser of the request now being read, fed what arrived ahead of it."""
        if self.h11 is None:
            self.h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=self.max_head)
            if self.ahead:
                self.h11.receive_data(bytes(self.ahead))
                self.ahead = bytearray()
            if self.eof:
                self.h11.receive_data(b"")
        return self.h11

    def request_read(self) -> None:
        """The request is read whole: keep what the client pipelined after it, and drop the parser."""
        if self.h11 is not None:
            self.ahead = bytearray(self.h11.trailing_data[0].lstrip(b"\r\n"))
            self.h11 = None

    def pending(self) -> bytes:
        """Bytes received that the parser has not turned into events yet."""
        return self.h11.trailing_data[0] if self.h11 is not None else bytes(self.ahead)

    def watch_disconnect(self) -> asyncio.Future[None]:
        if self._gone is None:
            loop = asyncio.get_running_loop()
            self._gone = loop.create_future()
            if self.eof:
                self._gone.set_result(None)
            else:
                self._watcher = loop.create_task(self._watch(self._gone))
        return self._gone

    async def _watch(self, gone: asyncio.Future[None]) -> None:
        # Bytes arriving (a pipelined request) mean the client is still there: h11 keeps them for the next
        # request, and we keep watching, until the read-ahead budget is spent (then TCP holds the rest).
        budget = _READ_AHEAD_MAX
        while budget > 0:
            size = await self.receive()
            if not size:
                if not gone.done():
                    gone.set_result(None)
                return
            budget -= size

    def reset(self) -> None:
        """Close with an RST rather than a FIN: SO_LINGER with a zero timeout discards the connection."""
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()

    @property
    def gone(self) -> bool:
        return self._gone is not None and self._gone.done()

    async def end_request(self) -> None:
        """Stop watching for disconnects; must finish before the next read (one reader at a time)."""
        watcher, self._watcher = self._watcher, None
        if watcher is not None and not watcher.done():
            watcher.cancel()
            await asyncio.wait([watcher])
        if not self.eof:
            self._gone = None


class HTTPServer:
    """Serves one handler on one socket; `close()` lets in-flight requests finish, then drops the rest."""

    def __init__(
        self,
        handler: Handler,
        *,
        max_body: int = DEFAULT_MAX_BODY,
        max_head: int = DEFAULT_MAX_HEAD,
        max_headers: int = DEFAULT_MAX_HEADERS,
        keepalive_timeout: float = DEFAULT_KEEPALIVE_TIMEOUT,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        log_target: Callable[[str], str] = lambda path: path,
        log_text: Callable[[str], str] = lambda text: text,
        server_name: str = "liveagent-sandbox",
        body_limit: Callable[[str], int] | None = None,
        stream_write_timeout: float = DEFAULT_STREAM_WRITE_TIMEOUT,
    ) -> None:
        self.handler = handler
        self.stream_write_timeout = stream_write_timeout
        self.max_body = max_body
        self.body_limit = body_limit  # a per-path limit (the upload servlet takes more than the API)
        self.max_head = max_head
        self.max_headers = max_headers
        self.keepalive_timeout = keepalive_timeout
        self.request_timeout = request_timeout
        self.log_target = log_target  # redacts secrets (session keys in paths) from log lines
        self.log_text = log_text  # the same for a traceback
        self.server_name = server_name
        self._listener: Listener | None = None
        self._tasks: set[asyncio.Task[None]] = set()  # one per connection: the loop keeps only weak references
        self._conns: set[_Connection] = set()
        self._closing = False

    async def start(self, host: str, port: int, *, backlog: int = 2048) -> None:
        raise_open_file_limit()
        self._listener = Listener(bind(host, port, backlog), self._on_socket, lambda: len(self._conns))
        self._listener.start()

    @property
    def address(self) -> tuple[str, int]:
        if self._listener is None:
            raise RuntimeError("the server is not listening")
        return self._listener.address

    @property
    def connection_count(self) -> int:
        return len(self._conns)

    async def close(self, grace: float = 2.0) -> None:
        """Stop accepting; idle connections close at once, busy ones get `grace` seconds to answer."""
        self._closing = True
        if self._listener is not None:
            self._listener.close()
        for conn in list(self._conns):
            if not conn.busy and conn.task is not None:
                conn.task.cancel()
        busy = [c.task for c in self._conns if c.busy and c.task is not None]
        if busy:
            await asyncio.wait(busy, timeout=grace)
        tasks = [c.task for c in self._conns if c.task is not None and not c.task.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=1.0)
        for conn in list(self._conns):
            conn.writer.transport.abort()
        await asyncio.sleep(0)  # let the transports' connection_lost callbacks close their sockets

    def _on_socket(self, sock: socket.socket) -> None:
        if self._closing:
            sock.close()
            return
        task = asyncio.get_running_loop().create_task(self._open(sock))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _open(self, sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=_READ_CHUNK, loop=loop)
        protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
        try:
            transport, _ = await loop.connect_accepted_socket(lambda: protocol, sock)
        except OSError:
            sock.close()
            return
        await self._on_connect(reader, asyncio.StreamWriter(transport, protocol, reader, loop))

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = _Connection(reader, writer, self.max_head)
        conn.task = asyncio.current_task()
        self._conns.add(conn)
        try:
            await self._serve(conn)
        except OSError:
            pass
        except asyncio.CancelledError:
            pass  # server shutdown; the socket is closed below
        except Exception:  # a bug in this module: drop the connection, keep the server
            log.exception("connection from %s failed", conn.peer)
        finally:
            self._conns.discard(conn)
            with contextlib.suppress(BaseException):
                await conn.end_request()
            writer.close()

    async def _serve(self, conn: _Connection) -> None:
        while not self._closing:
            conn.busy = False
            try:
                request = await self._read_request(conn)
            except h11.RemoteProtocolError as exc:
                if not conn.eof:  # at EOF the client left mid-request: nobody to answer
                    await self._refuse(conn, self._protocol_error(exc))
                return
            except HTTPError as exc:
                await self._refuse(conn, exc)
                return
            if request is None:
                return
            conn.busy = True
            started = time.monotonic()
            response = await self._call_handler(request)
            if response.stream is not None and not response.drop and not conn.gone and not request.head:
                if not await self._stream(conn, request, response):
                    return
                continue
            await conn.end_request()
            if conn.gone:
                log.debug(
                    "%s %s: client went away after %.0f ms",
                    request.method,
                    self.log_target(request.path),
                    (time.monotonic() - started) * 1000,
                )
                return
            if response.drop:
                log.debug("%s %s: dropped without an answer", request.method, self.log_target(request.path))
                if response.reset:
                    conn.reset()
                return
            keep = request.keep_alive and not response.close and response.cut_at is None and not self._closing
            await self._write(conn, response, keep, request.http_version)
            if log.isEnabledFor(logging.DEBUG):
                log.debug(
                    "%s %s %d %.1f ms",
                    "HEAD" if request.head else request.method,
                    self.log_target(request.path),
                    response.status,
                    (time.monotonic() - started) * 1000,
                )
            if not keep:
                return

    async def _stream(self, conn: _Connection, request: Request, response: Response) -> bool:
        """Send the head of a streamed answer, run its producer, end the body; True to keep the connection."""
        assert response.stream is not None
        chunked = request.http_version >= (1, 1)
        keep = chunked and request.keep_alive and not response.close and not self._closing
        conn.watch_disconnect()  # the producer learns at once that its reader left
        stream = ResponseStream(conn, chunked=chunked, write_timeout=self.stream_write_timeout)
        head = self._encode(response, keep, True, request.http_version, streamed=True)
        path = self.log_target(request.path)
        try:
            if not await self._write_head(conn, head):
                return False
            log.debug("%s %s %d: streaming", request.method, path, response.status)
            await response.stream(stream)
            keep = await stream.finish() and keep
        except (OSError, RuntimeError):
            keep = False
        finally:
            await conn.end_request()
        log.debug("%s %s: stream ended", request.method, path)
        return keep and not conn.gone

    async def _write_head(self, conn: _Connection, head: bytes) -> bool:
        try:
            conn.writer.write(head)
            async with asyncio.timeout(self.stream_write_timeout):
                await conn.writer.drain()
        except (TimeoutError, OSError, RuntimeError):
            return False
        return True

    def _protocol_error(self, exc: h11.RemoteProtocolError) -> HTTPError:
        """h11's refusal, in our words and without the bytes it quotes (they may hold a session key)."""
        if exc.error_status_hint == 431:
            return HTTPError(431, f"request line and headers exceed {self.max_head} bytes")
        return HTTPError(exc.error_status_hint, str(exc).partition(": bytearray(")[0] or "malformed request")

    async def _call_handler(self, request: Request) -> Response:
        try:
            return await self.handler(request)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            where = traceback.extract_tb(exc.__traceback__)[-1]
            line = "handler failed on %s %s: %s at %s:%d"
            place = (os.path.basename(where.filename), where.lineno or 0)
            args = (request.method, self.log_target(request.path), type(exc).__name__, *place)
            if log.isEnabledFor(logging.DEBUG):
                log.error(line + "\n%s", *args, self.log_text(traceback.format_exc()).rstrip())
            else:
                log.error(line, *args)  # one line; the exception's text may hold a session key
            return error_response(500, "internal sandbox error", exception=type(exc).__name__)

    async def _read_request(self, conn: _Connection) -> Request | None:
        """The next request with its whole body; None when the client closed or idled out between requests."""
        conn.head = False
        event = await self._next_head(conn)
        if event is None:
            return None
        conn.head = event.method == b"HEAD"
        request = self._request(event)
        request.peer = conn.peer
        request._conn = conn
        limit = self.max_body if self.body_limit is None else self.body_limit(request.path)
        length = request.headers.get("content-length")
        if length is not None and int(length) > limit:
            raise HTTPError(413, f"request body of {length} bytes exceeds the {limit}-byte limit", discard=int(length))
        request.body = await self._read_body(conn, limit)
        conn.request_read()
        return request

    async def _next_head(self, conn: _Connection) -> h11.Request | None:
        if conn.idle:  # between requests: wait for the next one to begin
            try:
                async with asyncio.timeout(self.keepalive_timeout):
                    while conn.idle:
                        await conn.receive()
            except TimeoutError:
                return None  # idle keep-alive connection: close quietly
        h = conn.parser()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.request_timeout  # the request has begun: the whole head must come by then
        while True:
            event = h.next_event()
            if isinstance(event, h11.Request):
                return event
            if event is not h11.NEED_DATA:
                return None  # ConnectionClosed
            _check_request_line_prefix(conn.pending())
            try:
                async with asyncio.timeout_at(deadline):
                    await conn.receive()
            except TimeoutError:
                raise HTTPError(408, "the request was not completed in time") from None

    def _request(self, event: h11.Request) -> Request:
        """Our Request from h11's, refused with an HTTPError where h11 lets through what we do not serve."""
        version = event.http_version
        if not version.startswith(b"1."):
            raise HTTPError(505, "only HTTP/1.0 and HTTP/1.1 are supported")
        method = event.method.decode("ascii")
        if method not in METHODS:
            raise HTTPError(501, f"{method} is not a method this server implements")
        headers: dict[str, str] = {}
        size = len(event.method) + len(event.target) + 12
        raw_headers = event.headers.raw_items()  # a list: cheaper than iterating the Headers sequence
        for raw_name, raw_value in raw_headers:
            name, value = raw_name.decode("ascii").lower(), raw_value.decode("latin-1")
            size += len(name) + len(value) + 4
            previous = headers.get(name)
            headers[name] = value if previous is None else f"{previous}, {value}"
        if size > self.max_head:
            raise HTTPError(431, f"request line and headers exceed {self.max_head} bytes")
        if len(raw_headers) > self.max_headers:
            raise HTTPError(431, f"more than {self.max_headers} header lines")
        expect = headers.get("expect")
        if expect is not None and version != b"1.0" and expect.lower() != "100-continue":
            raise HTTPError(417, f"unsupported expectation {expect!r}: only 100-continue is")
        if "transfer-encoding" in headers and "content-length" in headers:
            raise HTTPError(400, "both Content-Length and Transfer-Encoding: send one")
        target, path, query = _parse_target(event.target.decode("ascii"))
        http_version = (1, int(version[2:3]))
        if method == "HEAD":
            return Request("GET", target, path, query, headers, b"", http_version, head=True)
        return Request(method, target, path, query, headers, b"", http_version)

    async def _read_body(self, conn: _Connection, limit: int) -> bytes:
        """The request body, de-chunked; 413 as soon as it outgrows `limit`, 408 when it stalls."""
        h = conn.parser()
        chunks: list[bytes] = []
        size = 0
        continued = False
        while True:
            event = h.next_event()
            if isinstance(event, h11.Data):
                size += len(event.data)
                if size > limit:
                    raise HTTPError(413, f"request body exceeds the {limit}-byte limit")
                chunks.append(event.data)
            elif isinstance(event, h11.EndOfMessage):
                return b"".join(chunks)
            elif event is h11.NEED_DATA:
                if h.they_are_waiting_for_100_continue and not continued:
                    conn.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                    continued = True
                try:
                    async with asyncio.timeout(self.request_timeout):
                        await conn.receive()
                except TimeoutError:
                    raise HTTPError(408, "the request body stalled") from None
            else:  # ConnectionClosed cannot come before EndOfMessage: h11 raises instead
                raise HTTPError(400, "malformed request body")

    def _encode(
        self,
        response: Response,
        keep_alive: bool,
        head: bool,
        http_version: tuple[int, int],
        *,
        streamed: bool = False,
    ) -> bytes:
        """The answer's bytes; `streamed`: the head alone, its body to follow chunked (HTTP/1.1) or until close."""
        status = response.status
        bodyless = status < 200 or status in (204, 304)
        lines = [
            f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}\r\n"
            f"Server: {self.server_name}\r\nDate: {_http_date()}\r\n"
        ]
        if not bodyless:
            if response.content_type:
                lines.append(f"Content-Type: {response.content_type}\r\n")
            if not streamed:
                lines.append(f"Content-Length: {len(response.body)}\r\n")
            elif http_version >= (1, 1):
                lines.append("Transfer-Encoding: chunked\r\n")
        for name, value in response.headers:
            lines.append(f"{name}: {value}\r\n")
        if not keep_alive:
            lines.append("Connection: close\r\n")
        elif http_version < (1, 1):
            lines.append("Connection: keep-alive\r\n")
        lines.append("\r\n")
        data = "".join(lines).encode("latin-1")
        if not bodyless and not head and not streamed:
            data += response.body
        return data

    async def _write(
        self, conn: _Connection, response: Response, keep_alive: bool, http_version: tuple[int, int] = (1, 1)
    ) -> None:
        data = self._encode(response, keep_alive, conn.head, http_version)
        if response.cut_at is not None:
            data = data[: response.cut_at]  # then the connection closes: an answer cut short
        conn.writer.write(data)
        await conn.writer.drain()

    async def _refuse(self, conn: _Connection, exc: HTTPError) -> None:
        log.info("refused a request from %s: %d %s", conn.peer, exc.status, exc.message)
        try:
            await self._write(conn, error_response(exc.status, exc.message), False)
        except OSError:
            return
        await self._linger(conn, exc.discard)

    async def _linger(self, conn: _Connection, discard: int) -> None:
        """Half-close, then drain what the client still sends, so it reads our answer rather than a reset."""
        if discard > _LINGER_MAX_BYTES or conn.eof:
            return
        budget = max(discard, 0) + _READ_CHUNK
        with contextlib.suppress(OSError, RuntimeError):
            if conn.writer.can_write_eof():
                conn.writer.write_eof()
        try:
            async with asyncio.timeout(_LINGER_SECONDS):
                while budget > 0:
                    data = await conn.reader.read(_READ_CHUNK)
                    if not data:
                        return
                    budget -= len(data)
        except (TimeoutError, OSError):
            pass


def _parse_target(target: str) -> tuple[str, str, dict[str, list[str]]]:
    """The origin-form target, its percent-decoded path and its query; 400 for what is not one."""
    if _BAD_TARGET.search(target):
        raise HTTPError(400, "malformed request target")
    if not target.startswith("/"):
        absolute = _ABSOLUTE_FORM.match(target)
        if absolute is None:
            raise HTTPError(400, "malformed request target")
        target = target[absolute.end() :] or "/"
    raw_path, _, query_string = target.partition("?")
    raw_path = raw_path.partition("#")[0]
    try:
        path = unquote(raw_path, errors="strict")
        query = parse_qs(query_string.partition("#")[0], keep_blank_values=True, errors="strict", max_num_fields=100)
    except (UnicodeDecodeError, ValueError):
        raise HTTPError(400, "malformed request target") from None
    return target, path, query


def _check_request_line_prefix(data: bytes) -> None:
    """Refuse at once what cannot become a request line (a TLS handshake, binary junk) instead of waiting for
    a header block that will never come."""
    newline = data.find(b"\n")
    line = data[: newline if newline >= 0 else min(len(data), 256)]
    space = line.find(b" ")
    bad_method = space < 0 and len(line) > 32 or space >= 0 and not _TOKEN_BYTES.match(line, 0, space)
    if bad_method or _BAD_LINE_BYTES.search(line):
        raise HTTPError(400, "malformed request line")
