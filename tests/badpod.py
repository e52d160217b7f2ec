"""A deliberately wrong 'pod' for bad-input tests: HTML, non-JSON, oversized or silent replies, TLS."""

from __future__ import annotations

import socket
import ssl
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SESSION_JSON = b'{"id":"i","key":"i!1!c2VjcmV0c2VjcmV0c2VjcmV0","affinityToken":"0000abcd","clientPollTimeout":40}'


def _handler(mode: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # keep test output clean
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            if mode == "html":
                self._send(200, b"<!DOCTYPE html><html><body>Login</body></html>", "text/html")
            elif mode == "text":
                self._send(200, b"this is not json", "text/plain")
            elif mode == "oversized":
                self._send(200, b"[" + b"1," * (3 * 1024 * 1024) + b"1]", "application/json")
            elif mode == "status418":
                self._send(418, b'{"error":"teapot"}', "application/json")
            elif mode == "ok":
                self._send(200, SESSION_JSON, "application/json")

        def _send(self, status: int, body: bytes, ctype: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


@contextmanager
def bad_pod(mode: str, tls_context: ssl.SSLContext | None = None) -> Iterator[str]:
    """Serve `mode` on a loopback port; yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(mode))
    server.daemon_threads = True
    scheme = "http"
    if tls_context is not None:
        server.socket = tls_context.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"{scheme}://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def silent_pod() -> Iterator[str]:
    """Accepts connections and never answers: the pod that hangs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
                held.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()


class RawPod:
    """A port that takes connections but does not speak HTTP: it sends `banner` to each one (an SSH server
    says `SSH-2.0-...` first), or resets it (RST) once the request arrives when `banner` is None.

    `connections` counts what the client tried, so a test can tell a quick give-up from a minute of retries.
    """

    def __init__(self, banner: bytes | None) -> None:
        self.banner = banner
        self.connections = 0
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self._listener.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self.port = self._listener.getsockname()[1]

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                continue
            self.connections += 1
            with conn:
                conn.settimeout(5)
                try:
                    if self.banner is not None:
                        conn.sendall(self.banner)
                        conn.recv(65536)  # the client's request; it then gives up on the banner
                    else:
                        conn.recv(1)  # the request has arrived: reset with most of it unread
                        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                except OSError:
                    pass

    def __enter__(self) -> RawPod:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._listener.close()
