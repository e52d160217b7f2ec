"""`--log FILE`: one JSON line per exchange, flushed as it happens, session keys redacted everywhere."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from liveagent_cli.sandbox import Sandbox
from tests.sandbox.helpers import Visitor


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_each_exchange_is_one_json_line_written_at_once(
    tmp_path: Path, make_sandbox: Callable[..., Sandbox], visitor_on: Callable[[Sandbox], Visitor]
) -> None:
    log = tmp_path / "wire.log"
    sandbox = make_sandbox(log_file=str(log), faults=("status:code=500,path=ChatMessage,times=1",))
    visitor = visitor_on(sandbox)
    visitor.start_chat()
    visitor.send("x")
    lines = _lines(log)  # read while the sandbox runs: every line is already flushed
    assert [(e["method"], e["path"].rsplit("/", 1)[-1]) for e in lines[:2]] == [
        ("GET", "SessionId"),
        ("POST", "ChasitorInit"),
    ]
    for entry in lines:
        assert {"time", "method", "path", "query", "status", "ms", "chat", "fault", "headers"} <= set(entry)
        assert entry["time"].endswith("Z") and entry["ms"] >= 0
    last = lines[-1]
    assert (last["status"], last["fault"], last["chat"]) == (
        500,
        "status:code=500,path=ChatMessage,times=1",
        visitor.info["id"],
    )
    assert json.loads(last["body"]) == {"text": "x"}
    assert lines[2]["query"] == {"ack": "-1"}


def test_session_keys_are_redacted_in_headers_paths_and_bodies(
    tmp_path: Path, make_sandbox: Callable[..., Sandbox], visitor_on: Callable[[Sandbox], Visitor]
) -> None:
    log = tmp_path / "wire.log"
    sandbox = make_sandbox(log_file=str(log))
    visitor = visitor_on(sandbox)
    visitor.open()
    key = visitor.info["key"]
    visitor.init(sessionId=key, visitorName=f"key in a name {key}")  # some clients send the key as sessionId
    visitor.wait_for("ChatEstablished")
    requests.delete(visitor.base + f"System/SessionId/{key}", headers=visitor.headers(), timeout=5)
    text = log.read_text()
    assert key not in text and key.split("!")[-1] not in text
    entries = _lines(log)
    assert entries[1]["headers"]["x-liveagent-session-key"] == "<redacted>"
    assert json.loads(entries[1]["body"])["sessionId"] == "<redacted>"
    assert entries[-1]["path"] == "/chat/rest/System/SessionId/<redacted>"
    assert all(e["chat"] == visitor.info["id"] for e in entries)


def test_a_dropped_exchange_is_logged_with_no_status(
    tmp_path: Path, make_sandbox: Callable[..., Sandbox], visitor_on: Callable[[Sandbox], Visitor]
) -> None:
    log = tmp_path / "wire.log"
    sandbox = make_sandbox(log_file=str(log), faults=("drop:path=SessionId,times=1",))
    visitor = visitor_on(sandbox)
    try:
        visitor.open()
    except requests.ConnectionError:
        pass
    else:
        raise AssertionError("the SessionId answer should have been dropped")
    [entry] = _lines(log)
    assert (entry["status"], entry["fault"]) == (None, "drop:path=SessionId,times=1")
