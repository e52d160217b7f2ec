"""A pod whose Messages reply is not what Live Agent sends: exit 5, nothing shown as if it were a message, and
no ack stored that the state file could not hold (outside finding QA2-30)."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.cli import invoke

SESSION = {"id": "i", "key": "i!1!c2VjcmV0c2VjcmV0c2VjcmV0", "affinityToken": "0000abcd", "clientPollTimeout": 40}


@contextmanager
def fake_pod(messages_reply: dict[str, object]) -> Iterator[str]:
    """Answers SessionId as a pod does and every Messages poll with `messages_reply`; yields its URL."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            body = SESSION if "SessionId" in self.path else messages_reply
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("reply", "says"),
    [
        ({"messages": [{"type": "ChatMessage", "message": "hi"}], "sequence": 1}, "ChatMessage whose message is"),
        ({"messages": [{"type": "ChatMessage", "message": {"name": "A"}}], "sequence": 1}, "ChatMessage without a"),
        ({"messages": [{"type": "RichMessage", "message": {"items": "notalist"}}], "sequence": 1}, "RichMessage"),
        ({"messages": [], "sequence": 10**30}, f"sequence of {10**30}"),
        ({"messages": [], "sequence": -3}, "sequence of -3"),
    ],
)
def test_a_reply_the_api_never_sends_is_exit_5_and_stores_nothing(
    isolated_env: Path, reply: dict[str, object], says: str
) -> None:
    with fake_pod(reply) as pod:
        env = {**os.environ, "LIVEAGENT_POD": pod}
        assert invoke("session", environ=env).code == 0
        run = invoke("poll", "--timeout", "5", environ=env)
    assert run.code == 5, run.stderr
    assert run.stdout == "", "nothing is shown as if it were a message"
    assert run.stderr.startswith("error: the Messages reply ") and says in run.stderr.splitlines()[0]
    status = invoke("status", "--json", environ=env)
    assert status.code == 0, "the state file is still readable"
    stored = json.loads(status.stdout)
    assert (stored["ack"], stored["chat"]) == (-1, "session"), "nothing is stored from a reply that cannot be trusted"
