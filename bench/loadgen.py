"""What the two capacity benchmarks share (sandbox_capacity.py: legacy Chat; miaw_capacity.py: Enhanced Chat):
the sandbox run as its own process, what /proc says about it, and a load generator's raw HTTP/1.1 on stdlib
asyncio: a keep-alive connection for requests and a reader of a chunked event stream. No third-party client,
so the generator's own cost stays small and known; every wait is bounded.
"""

from __future__ import annotations

import asyncio
import gc
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT = 30.0
REQUEST_TIMEOUT = 40.0  # a held legacy poll lasts at most --poll-hold (30 s)
CONNECT_CONCURRENCY = 100  # connections (and set-up requests) in flight at once while a level ramps up
_TICKS = os.sysconf("SC_CLK_TCK")


class HTTPConnection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection, one request at a time; parses just what the sandbox sends."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._try_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("connection closed by the sandbox"))

    def _try_complete(self) -> None:
        if self.waiter is None or self.waiter.done():
            return
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buffer[:end]).decode("latin-1")
        status = int(head.split(" ", 2)[1])
        length = 0
        for line in head.split("\r\n")[1:]:
            name, _, value = line.partition(":")
            if name.lower() == "content-length":
                length = int(value)
        if len(self.buffer) < end + 4 + length:
            return
        body = bytes(self.buffer[end + 4 : end + 4 + length])
        del self.buffer[: end + 4 + length]
        self.waiter.set_result((status, body))

    async def request(
        self, method: str, target: str, headers: dict[str, str], body: bytes = b"", timeout: float = REQUEST_TIMEOUT
    ) -> tuple[int, bytes]:
        if self.closed or self.transport is None:
            raise ConnectionError("connection is closed")
        lines = [f"{method} {target} HTTP/1.1", "Host: bench"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        if body or method == "POST":
            lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        self._try_complete()
        async with asyncio.timeout(timeout):
            return await self.waiter

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def connect(host: str, port: int) -> HTTPConnection:
    _, protocol = await asyncio.get_running_loop().create_connection(HTTPConnection, host, port)
    return protocol


# called with (event name, event id or None, data, the moment its bytes arrived); once per event
EventSink = Callable[[bytes, bytes | None, bytes, float], None]


class EventStream(asyncio.Protocol):
    """A GET whose answer is a chunked `text/event-stream`: `opened` completes with the status once the head
    is in (a non-200 answer's body is in `error_body`), then `sink` gets each event as it arrives, and
    `ended` completes when the stream ends (its last chunk, or the connection closing). Parses only the
    framing the sandbox writes: `field:value` lines, events separated by a blank line."""

    def __init__(self, request: bytes, sink: EventSink) -> None:
        self.request = request
        self.sink = sink
        self.transport: asyncio.Transport | None = None
        loop = asyncio.get_running_loop()
        self.opened: asyncio.Future[int] = loop.create_future()
        self.ended: asyncio.Future[None] = loop.create_future()
        self.raw = bytearray()  # the body as received: chunk framing not yet taken off
        self.text = bytearray()  # the de-chunked body not yet split into events
        self.in_body = False
        self.error_body = b""
        self.events = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(ConnectionError("the sandbox closed the stream before its head"))
        if not self.ended.done():
            self.ended.set_result(None)

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        self.raw += data
        if not self.in_body:
            end = self.raw.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.raw[:end]).decode("latin-1")
            del self.raw[: end + 4]
            status = int(head.split(" ", 2)[1])
            if status != 200:
                self.error_body = bytes(self.raw)
                self.opened.set_result(status)
                self.close()
                return
            self.in_body = True
            self.opened.set_result(status)
        self._dechunk()
        text = self.text
        start = 0
        while True:
            end = text.find(b"\n\n", start)
            if end < 0:
                break
            self._event(bytes(text[start:end]), now)
            start = end + 2
        if start:
            del text[:start]

    def _dechunk(self) -> None:
        raw = self.raw
        while True:
            line_end = raw.find(b"\r\n")
            if line_end < 0:
                return
            size = int(raw[:line_end].split(b";", 1)[0], 16)
            if size == 0:
                if not self.ended.done():
                    self.ended.set_result(None)
                del raw[:]
                return
            if len(raw) < line_end + 2 + size + 2:
                return
            self.text += raw[line_end + 2 : line_end + 2 + size]
            del raw[: line_end + 2 + size + 2]

    def _event(self, frame: bytes, now: float) -> None:
        name, event_id, data = b"message", None, b""
        for line in frame.split(b"\n"):
            field, _, value = line.partition(b":")
            if value[:1] == b" ":
                value = value[1:]
            if field == b"event":
                name = value
            elif field == b"id":
                event_id = value
            elif field == b"data":
                data = value
        self.events += 1
        self.sink(name, event_id, data, now)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def open_stream(host: str, port: int, request: bytes, sink: EventSink) -> EventStream:
    _, protocol = await asyncio.get_running_loop().create_connection(lambda: EventStream(request, sink), host, port)
    return protocol


def quiet_collector() -> None:
    """The generator's own collector pauses would show up as round trips: keep them out of the measurement,
    as `sandbox serve` does for itself. Call once the set-up's objects exist."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(5000, 20, 100)


def raise_file_limit() -> None:
    """Two connections per chat: lift the generator's soft descriptor limit to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def start_sandbox(*options: str, profile: str | None = None) -> tuple[subprocess.Popen[str], str]:
    """`liveagent sandbox serve --port 0 --quiet OPTIONS` in its own process; (process, the URL it printed).
    `profile`: run it under cProfile timing CPU (cpu_profile.py), which writes that file when the sandbox stops."""
    runner = [str(Path(__file__).with_name("cpu_profile.py")), profile] if profile else ["-m", "liveagent_cli"]
    command = [sys.executable, *runner, "sandbox", "serve", "--port", "0", "--quiet", *options]
    # Its own session, as a server started from its own terminal: under the scheduler's autogroups (Linux
    # groups CPU time by session) it then competes as one program, not inside the load generator's share.
    proc = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + STARTUP_TIMEOUT
    os.set_blocking(proc.stdout.fileno(), False)
    line = ""
    while time.monotonic() < deadline and "\n" not in line:
        if proc.poll() is not None:
            raise RuntimeError(f"the sandbox exited: {proc.stderr.read() if proc.stderr else ''}")
        chunk = proc.stdout.readline()
        line += chunk or ""
        if not chunk:
            time.sleep(0.02)
    if "\n" not in line:
        proc.kill()
        raise RuntimeError("the sandbox did not print its URL in time")
    return proc, line.strip()


def stop_sandbox(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process (all its threads) has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime: fields 14 and 15 of proc(5)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def machine() -> str:
    import platform

    return (
        f"Machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}; {time.strftime('%Y-%m-%d %H:%M %Z')}."
    )
