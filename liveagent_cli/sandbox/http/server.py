"""A minimal asyncio HTTP/1.1 server: just enough HTTP for the sandbox pod, on one event loop.

Why not `http.server`: it spends a thread per connection, and the sandbox must hold a thousand long polls at
once. Why not aiohttp: the sandbox adds no dependencies. What it does:

- request line, case-insensitive headers, query string, `Content-Length` bodies, keep-alive (HTTP/1.1 default,
  `Connection: close` honoured, HTTP/1.0 only with `Connection: keep-alive`), `Expect: 100-continue`;
- refuses what it does not speak, then closes the connection: chunked or other `Transfer-Encoding` →
  411, head over `max_head` bytes or over `max_headers` lines → 431, body over `max_body` → 413, anything
  malformed → 400 (binary junk such as a TLS handshake at once), HTTP/2+ → 505, a request not completed
  within `request_timeout` → 408. After such a refusal it half-closes and drains what the client is still
  sending (bounded), so the client reads the answer instead of a connection reset;
- a handler exception becomes a 500 with a JSON body and one log line; the server keeps serving;
- `Request.disconnected()` lets a handler that holds a request (the long poll) learn that the client went
  away: it watches the socket for EOF only while asked, so ordinary requests pay nothing;
- every response carries `Content-Length`, except 1xx, 204 and 304, which RFC 9110 forbids it on.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, unquote

log = logging.getLogger("liveagent_cli.sandbox.http.server")

DEFAULT_MAX_BODY = 1 << 20
DEFAULT_MAX_HEAD = 16 * 1024
DEFAULT_MAX_HEADERS = 100
DEFAULT_KEEPALIVE_TIMEOUT = 120.0
DEFAULT_REQUEST_TIMEOUT = 30.0

_READ_CHUNK = 64 * 1024
_LINGER_SECONDS = 2.0
_LINGER_MAX_BYTES = 16 << 20
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_VERSION = re.compile(r"HTTP/(\d)\.(\d)\Z")
_DIGITS = re.compile(r"[0-9]{1,18}\Z")
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


class _Abandoned(Exception):
    """The client closed the connection in the middle of a request: nothing to answer."""


@dataclass(slots=True, eq=False)
class Request:
    """One parsed request; header names are lower-case, `path` is percent-decoded."""

    method: str
    target: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    http_version: tuple[int, int]
    peer: str = ""
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

        Watching starts on the first call and stops when the handler returns. A half-close (the client shuts
        down its sending side while waiting) counts as gone, which no real HTTP client does mid-request.
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


def dropped() -> Response:
    """No answer: the connection is closed as if the server (or a proxy) died mid-request."""
    return Response(0, drop=True)


def json_body(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def json_response(status: int, payload: Any, *, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(status, json_body(payload), "application/json", headers or [])


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
    """One client connection: our own read buffer, so the disconnect watcher can read ahead safely."""

    __slots__ = ("reader", "writer", "buf", "eof", "busy", "task", "peer", "_gone", "_watcher")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.buf = bytearray()
        self.eof = False
        self.busy = False
        self.task: asyncio.Task[Any] | None = None
        peer = writer.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) and len(peer) >= 2 else str(peer)
        self._gone: asyncio.Future[None] | None = None
        self._watcher: asyncio.Task[None] | None = None

    async def fill(self) -> bool:
        """Read what the client sent next into the buffer; False at EOF."""
        try:
            data = await self.reader.read(_READ_CHUNK)
        except OSError:
            data = b""
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

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
        # Bytes arriving (a pipelined request) mean the client is still there; keep them for the next request.
        if not await self.fill() and not gone.done():
            gone.set_result(None)

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
        server_name: str = "liveagent-sandbox",
        body_limit: Callable[[str], int] | None = None,
    ) -> None:
        self.handler = handler
        self.max_body = max_body
        self.body_limit = body_limit  # a per-path limit (the upload servlet takes more than the API)
        self.max_head = max_head
        self.max_headers = max_headers
        self.keepalive_timeout = keepalive_timeout
        self.request_timeout = request_timeout
        self.log_target = log_target  # redacts secrets (session keys in paths) from log lines
        self.server_name = server_name
        self._server: asyncio.Server | None = None
        self._conns: set[_Connection] = set()
        self._closing = False

    async def start(self, host: str, port: int, *, backlog: int = 2048) -> None:
        self._server = await asyncio.start_server(self._on_connect, host, port, backlog=backlog)

    @property
    def address(self) -> tuple[str, int]:
        if self._server is None or not self._server.sockets:
            raise RuntimeError("the server is not listening")
        sockname = self._server.sockets[0].getsockname()
        return str(sockname[0]), int(sockname[1])

    @property
    def connection_count(self) -> int:
        return len(self._conns)

    async def close(self, grace: float = 2.0) -> None:
        """Stop accepting; idle connections close at once, busy ones get `grace` seconds to answer."""
        self._closing = True
        if self._server is not None:
            self._server.close()
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
        if self._server is not None:
            await self._server.wait_closed()
        await asyncio.sleep(0)  # let the transports' connection_lost callbacks close their sockets

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = _Connection(reader, writer)
        conn.task = asyncio.current_task()
        self._conns.add(conn)
        try:
            await self._serve(conn)
        except (_Abandoned, OSError):
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
            except HTTPError as exc:
                await self._refuse(conn, exc)
                return
            if request is None:
                return
            conn.busy = True
            started = time.monotonic()
            response = await self._call_handler(request)
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
                return
            keep = request.keep_alive and not response.close and not self._closing
            await self._write(conn, response, keep, request.method == "HEAD", request.http_version)
            if log.isEnabledFor(logging.DEBUG):
                log.debug(
                    "%s %s %d %.1f ms",
                    request.method,
                    self.log_target(request.path),
                    response.status,
                    (time.monotonic() - started) * 1000,
                )
            if not keep:
                return

    async def _call_handler(self, request: Request) -> Response:
        try:
            return await self.handler(request)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("handler failed on %s %s", request.method, self.log_target(request.path))
            return error_response(500, "internal sandbox error", exception=type(exc).__name__)

    async def _fill_before(self, conn: _Connection, deadline: float) -> bool:
        try:
            async with asyncio.timeout_at(deadline):
                return await conn.fill()
        except TimeoutError:
            raise HTTPError(408, "the request was not completed in time") from None

    async def _read_request(self, conn: _Connection) -> Request | None:
        buf = conn.buf
        if not buf:
            if conn.eof:
                return None
            try:
                async with asyncio.timeout(self.keepalive_timeout):
                    if not await conn.fill():
                        return None
            except TimeoutError:
                return None  # idle keep-alive connection: close quietly
        deadline = asyncio.get_running_loop().time() + self.request_timeout
        while True:
            if buf.startswith((b"\r", b"\n")):  # RFC 9112 2.2: ignore empty lines before a request line
                del buf[: len(buf) - len(buf.lstrip(b"\r\n"))]
            end, sep = _head_end(buf)
            if end >= 0:
                break
            if len(buf) > self.max_head:
                raise HTTPError(431, f"request line and headers exceed {self.max_head} bytes")
            _check_request_line_prefix(buf)
            if not await self._fill_before(conn, deadline):
                if buf:
                    raise _Abandoned
                return None
        if end > self.max_head:
            raise HTTPError(431, f"request line and headers exceed {self.max_head} bytes")
        head = bytes(buf[:end]).decode("latin-1")
        del buf[: end + sep]
        request = self._parse_head(head)
        request.peer = conn.peer
        request._conn = conn
        length = _content_length(request.headers)
        limit = self.max_body if self.body_limit is None else self.body_limit(request.path)
        if length > limit:
            raise HTTPError(
                413, f"request body of {length} bytes exceeds the {limit}-byte limit", discard=length - len(buf)
            )
        if length:
            if len(buf) < length and "100-continue" in request.headers.get("expect", "").lower():
                conn.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            while len(buf) < length:
                if not await self._fill_before(conn, deadline):
                    raise _Abandoned
            request.body = bytes(buf[:length])
            del buf[:length]
        return request

    def _parse_head(self, head: str) -> Request:
        lines = head.split("\n")
        request_line = lines[0].rstrip("\r")
        parts = request_line.split(" ")
        if len(parts) != 3:
            raise HTTPError(400, "malformed request line")
        method, target, version = parts
        if not _TOKEN.match(method):
            raise HTTPError(400, "malformed request method")
        match = _VERSION.match(version)
        if match is None:
            raise HTTPError(400, "malformed HTTP version")
        http_version = (int(match.group(1)), int(match.group(2)))
        if http_version[0] != 1:
            raise HTTPError(505, "only HTTP/1.0 and HTTP/1.1 are supported")
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
            query = parse_qs(
                query_string.partition("#")[0], keep_blank_values=True, errors="strict", max_num_fields=100
            )
        except (UnicodeDecodeError, ValueError):
            raise HTTPError(400, "malformed request target") from None
        if len(lines) - 1 > self.max_headers:
            raise HTTPError(431, f"more than {self.max_headers} header lines")
        headers: dict[str, str] = {}
        for raw_line in lines[1:]:
            line = raw_line.rstrip("\r")
            if not line:
                continue
            if line[0] in " \t":
                raise HTTPError(400, "folded header lines are not supported")
            name, colon, value = line.partition(":")
            if not colon or not _TOKEN.match(name):
                raise HTTPError(400, "malformed header line")
            key = name.lower()
            value = value.strip(" \t")
            previous = headers.get(key)
            if previous is None:
                headers[key] = value
            elif key == "content-length":
                if previous != value:
                    raise HTTPError(400, "conflicting Content-Length headers")
            else:
                headers[key] = f"{previous}, {value}"
        if "transfer-encoding" in headers:
            if "chunked" in headers["transfer-encoding"].lower():
                raise HTTPError(411, "chunked request bodies are not supported: send a Content-Length body")
            raise HTTPError(411, "Transfer-Encoding is not supported: send the body with Content-Length")
        return Request(method, target, path, query, headers, b"", http_version)

    async def _write(
        self, conn: _Connection, response: Response, keep_alive: bool, head_only: bool, http_version: tuple[int, int]
    ) -> None:
        status = response.status
        bodyless = status < 200 or status in (204, 304)
        lines = [
            f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}\r\n"
            f"Server: {self.server_name}\r\nDate: {_http_date()}\r\n"
        ]
        if not bodyless:
            if response.content_type:
                lines.append(f"Content-Type: {response.content_type}\r\n")
            lines.append(f"Content-Length: {len(response.body)}\r\n")
        for name, value in response.headers:
            lines.append(f"{name}: {value}\r\n")
        if not keep_alive:
            lines.append("Connection: close\r\n")
        elif http_version < (1, 1):
            lines.append("Connection: keep-alive\r\n")
        lines.append("\r\n")
        data = "".join(lines).encode("latin-1")
        if not bodyless and not head_only:
            data += response.body
        conn.writer.write(data)
        await conn.writer.drain()

    async def _refuse(self, conn: _Connection, exc: HTTPError) -> None:
        log.info("refused a request from %s: %d %s", conn.peer, exc.status, exc.message)
        try:
            await self._write(conn, error_response(exc.status, exc.message), False, False, (1, 1))
        except OSError:
            return
        await self._linger(conn, exc.discard)

    async def _linger(self, conn: _Connection, discard: int) -> None:
        """Half-close, then drain what the client still sends, so it reads our answer rather than a reset."""
        if discard > _LINGER_MAX_BYTES:
            return
        budget = max(discard, 0) + _READ_CHUNK
        conn.buf.clear()
        with contextlib.suppress(OSError, RuntimeError):
            if conn.writer.can_write_eof():
                conn.writer.write_eof()
        try:
            async with asyncio.timeout(_LINGER_SECONDS):
                while budget > 0 and await conn.fill():
                    budget -= len(conn.buf)
                    conn.buf.clear()
        except TimeoutError:
            pass


def _head_end(buf: bytearray) -> tuple[int, int]:
    """Where the header block ends, and the length of its terminator; (-1, 0) if not yet complete."""
    crlf = buf.find(b"\r\n\r\n")
    lf = buf.find(b"\n\n", 0, crlf + 2 if crlf >= 0 else len(buf))
    if lf >= 0 and (crlf < 0 or lf < crlf):
        return lf, 2
    if crlf >= 0:
        return crlf, 4
    return -1, 0


def _check_request_line_prefix(buf: bytearray) -> None:
    """Refuse at once what cannot become a request line (a TLS handshake, binary junk) instead of waiting for
    a header block that will never come."""
    newline = buf.find(b"\n")
    line = buf[: newline if newline >= 0 else min(len(buf), 256)]
    space = line.find(b" ")
    bad_method = space < 0 and len(line) > 32 or space >= 0 and not _TOKEN_BYTES.match(line, 0, space)
    if bad_method or _BAD_LINE_BYTES.search(line):
        raise HTTPError(400, "malformed request line")


def _content_length(headers: dict[str, str]) -> int:
    raw = headers.get("content-length")
    if raw is None:
        return 0
    if not _DIGITS.match(raw):
        raise HTTPError(400, "malformed Content-Length header")
    return int(raw)
