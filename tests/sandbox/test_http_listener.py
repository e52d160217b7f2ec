"""The accept loop at the file-descriptor limit: the soft limit is raised at start-up, and a process that runs
out anyway says so once, keeps serving the connections it has, and accepts again once descriptors free up."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import threading

import requests

from tests.sandbox.helpers import wait_until

# The limits are set inside the child, before the sandbox starts: `soft hard` from argv.
_SERVE = textwrap.dedent("""
    import resource, sys
    resource.setrlimit(resource.RLIMIT_NOFILE, (int(sys.argv[1]), int(sys.argv[2])))
    from liveagent_cli.sandbox import SandboxConfig, serve_forever
    def ready(url):
        print(url, resource.getrlimit(resource.RLIMIT_NOFILE)[0], flush=True)
    serve_forever(SandboxConfig(poll_hold=30), ready)
""")
HEALTH = b"GET /_sandbox/health HTTP/1.1\r\nHost: x\r\n\r\n"


class _Serving:
    """`liveagent_cli.sandbox.serve_forever` in a child process with the given descriptor limits; its
    stderr is collected line by line on a thread."""

    def __init__(self, soft: int, hard: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _SERVE, str(soft), str(hard)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        url, limit = self.proc.stdout.readline().split()
        self.url, self.soft_limit = url.removesuffix("/chat/rest/"), int(limit)
        self.port = int(self.url.rsplit(":", 1)[1])
        self.stderr: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr.append(line)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self._reader.join(timeout=5)
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()


def _hard_limit() -> int:
    import resource

    return resource.getrlimit(resource.RLIMIT_NOFILE)[1]


def test_the_soft_descriptor_limit_is_raised_to_the_hard_one() -> None:
    hard = min(_hard_limit(), 4096)
    serving = _Serving(64, hard)
    try:
        assert serving.soft_limit == hard
    finally:
        serving.stop()


def test_out_of_descriptors_logs_one_line_and_keeps_serving_open_connections() -> None:
    serving = _Serving(64, 64)  # the hard limit too: nothing to raise
    idle: list[socket.socket] = []
    try:
        with socket.create_connection(("127.0.0.1", serving.port), timeout=10) as first:
            first.sendall(HEALTH)
            assert first.recv(65536).startswith(b"HTTP/1.1 200 OK")
            for _ in range(80):  # more than the process can hold: the rest wait in the backlog
                idle.append(socket.create_connection(("127.0.0.1", serving.port), timeout=10))
            wait_until(lambda: any("out of file descriptors" in line for line in serving.stderr), what="the warning")
            first.sendall(HEALTH)  # a connection it already has is still served
            assert first.recv(65536).startswith(b"HTTP/1.1 200 OK")
        for sock in idle:
            sock.close()
        idle.clear()

        def new_client_served() -> bool:
            try:
                return requests.get(serving.url + "/_sandbox/health", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        wait_until(new_client_served, timeout=15, what="a new client to be served again")
    finally:
        for sock in idle:
            sock.close()
        serving.stop()
    warnings = [line for line in serving.stderr if "out of file descriptors" in line]
    assert len(warnings) == 1, serving.stderr[:5]
    assert len(serving.stderr) == 1, serving.stderr[:5]  # that line is all: no traceback, no flood
