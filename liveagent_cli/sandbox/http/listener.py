"""The listening socket and its accept loop, written here because asyncio's cannot run out of file
descriptors gracefully.

asyncio's accept loop (`loop.create_server`) logs a traceback for every failed `accept()` and retries it up
to `backlog` times in a row, so a process at its descriptor limit writes some 100,000 lines a second while
every new client waits. This one, on EMFILE/ENFILE (or ENOBUFS/ENOMEM), logs one line (at most one a
minute), stops accepting for a moment and keeps serving the connections it already has; the clients still
queued in the backlog are accepted once descriptors are free again. `raise_open_file_limit` lifts the soft
descriptor limit to the hard one at start-up, so that moment comes as late as the system allows.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import time
from collections.abc import Callable

log = logging.getLogger("liveagent_cli.sandbox.http.server")

ACCEPT_PAUSE = 0.5  # seconds without accepting after the process ran out of descriptors
_WARN_EVERY = 60.0  # seconds between two warnings about it
_ACCEPT_BATCH = 64  # accept() calls per readiness event, so a flood of connects cannot starve the loop
_OUT_OF_RESOURCES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
_FALLBACK_FILE_LIMIT = 10240  # macOS reports an unlimited hard limit but refuses a soft one above OPEN_MAX


def raise_open_file_limit() -> int | None:
    """Raise the soft RLIMIT_NOFILE to the hard limit (best effort); the soft limit now in force, or None."""
    try:
        import resource
    except ImportError:  # not a POSIX system
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for limit in (hard, _FALLBACK_FILE_LIMIT):
        if soft == resource.RLIM_INFINITY or (limit != resource.RLIM_INFINITY and limit <= soft):
            break  # nothing to gain
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))
            break
        except (ValueError, OSError):
            continue
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def bind(host: str, port: int, backlog: int) -> socket.socket:
    """A non-blocking listening TCP socket on the first address `host` resolves to; OSError when busy."""
    addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, address = addresses[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(address)
        sock.listen(backlog)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


class Listener:
    """Accepts connections on `sock` for as long as it is open, and hands each to `on_accept`."""

    def __init__(
        self, sock: socket.socket, on_accept: Callable[[socket.socket], None], open_count: Callable[[], int]
    ) -> None:
        self.sock = sock
        self.on_accept = on_accept
        self.open_count = open_count  # for the warning: how many connections are being served meanwhile
        self.starved = False  # out of descriptors: not accepting until ACCEPT_PAUSE has passed
        self._loop = asyncio.get_running_loop()
        self._resume: asyncio.TimerHandle | None = None
        self._warned_at = -_WARN_EVERY
        self._closed = False

    @property
    def address(self) -> tuple[str, int]:
        sockname = self.sock.getsockname()
        return str(sockname[0]), int(sockname[1])

    def start(self) -> None:
        self._loop.add_reader(self.sock.fileno(), self._accept)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._resume is not None:
            self._resume.cancel()
        self._loop.remove_reader(self.sock.fileno())
        self.sock.close()

    def _accept(self) -> None:
        for _ in range(_ACCEPT_BATCH):
            try:
                client, _ = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except ConnectionAbortedError:
                continue
            except OSError as exc:
                self._pause(exc)
                return
            if self.starved:
                self.starved = False
                log.info("accepting connections again")
            client.setblocking(False)
            self.on_accept(client)

    def _pause(self, exc: OSError) -> None:
        """Stop watching the socket for a moment: at the descriptor limit it stays readable, and every
        accept() would fail again at once."""
        self._loop.remove_reader(self.sock.fileno())
        self._resume = self._loop.call_later(ACCEPT_PAUSE, self._restart)
        now = time.monotonic()
        if not self.starved and now - self._warned_at >= _WARN_EVERY:
            self._warned_at = now
            what = "out of file descriptors" if exc.errno in _OUT_OF_RESOURCES else "accept() failed"
            log.warning(
                "sandbox: %s (%s); not accepting new connections for a moment, still serving the %d open",
                what,
                exc.strerror or exc,
                self.open_count(),
            )
        self.starved = True

    def _restart(self) -> None:
        self._resume = None
        if not self._closed:
            self._loop.add_reader(self.sock.fileno(), self._accept)
