"""Helpers for the sandbox pod's tests: a hand-written visitor and control client over plain `requests`.

`Visitor` is a deliberately small, explicit re-statement of the wire protocol, so a bug in the project's
client cannot hide a bug in the pod.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

import requests

from liveagent_cli.sandbox import Sandbox

API_VERSION = "42"


class Visitor:
    """One visitor's session against a pod, speaking the wire protocol by hand."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.base = sandbox.pod_url
        self.http = requests.Session()
        self.info: dict[str, Any] = {}
        self.sequence = 0
        self.ack = -1
        self.offset: int | None = None

    # -- raw requests ---------------------------------------------------------------------------------
    def headers(self, **extra: str) -> dict[str, str]:
        headers = {"X-LIVEAGENT-API-VERSION": API_VERSION}
        if self.info:
            headers["X-LIVEAGENT-SESSION-KEY"] = self.info["key"]
            headers["X-LIVEAGENT-AFFINITY"] = self.info["affinityToken"]
        headers.update(extra)
        return headers

    def get(self, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any) -> requests.Response:
        return self.http.get(
            self.base + path, headers=self.headers() if headers is None else headers, timeout=15, **kwargs
        )

    def post(
        self,
        path: str,
        body: Any = None,
        *,
        sequence: int | None = None,
        data: Any = None,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        """POST with the next sequence number (or the one given); the number is spent only on a 2xx."""
        seq = self.sequence + 1 if sequence is None else sequence
        sent = self.headers(**{"X-LIVEAGENT-SEQUENCE": str(seq)}) if headers is None else headers
        response = self.http.post(self.base + path, json=body, data=data, headers=sent, timeout=15)
        if response.ok:
            self.sequence = max(self.sequence, seq)
        return response

    # -- the protocol ---------------------------------------------------------------------------------
    def open(self) -> dict[str, Any]:
        headers = {"X-LIVEAGENT-API-VERSION": API_VERSION, "X-LIVEAGENT-AFFINITY": "null"}
        response = self.http.get(self.base + "System/SessionId", headers=headers, timeout=15)
        assert response.status_code == 200, response.text
        self.info = response.json()
        return self.info

    def init(self, **fields: Any) -> requests.Response:
        body = {
            "organizationId": "00D000000000001",
            "deploymentId": "572000000000001",
            "buttonId": "573000000000001",
            "sessionId": self.info["id"],
            "userAgent": "pytest",
            "language": "en-US",
            "screenResolution": "1x1",
            "visitorName": "Ada",
            "prechatDetails": [],
            "prechatEntities": [],
            "receiveQueueUpdates": True,
            "isPost": True,
        }
        body.update(fields)
        return self.post("Chasitor/ChasitorInit", body)

    def poll(self, ack: int | None = None) -> requests.Response:
        """One long poll; acks with the last sequence seen unless told otherwise."""
        response = self.get("System/Messages", params={"ack": self.ack if ack is None else ack})
        if response.status_code == 200:
            self.ack = response.json()["sequence"]
            self.offset = response.json().get("offset")
        return response

    def wait_for(self, type_: str, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Poll until a message of `type_` arrives; returns every message seen on the way, in order."""
        seen: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            response = self.poll()
            assert response.status_code in (200, 204), response.text
            if response.status_code == 200:
                seen.extend(response.json()["messages"])
                if any(m["type"] == type_ for m in seen):
                    return seen
        raise AssertionError(f"no {type_} within {timeout} s; saw {[m['type'] for m in seen]}")

    def start_chat(self, **fields: Any) -> list[dict[str, Any]]:
        self.open()
        assert self.init(**fields).status_code == 200
        return self.wait_for("ChatEstablished")

    def send(self, text: str, **kwargs: Any) -> requests.Response:
        return self.post("Chasitor/ChatMessage", {"text": text}, **kwargs)

    def end(self, reason: str = "client") -> requests.Response:
        return self.post("Chasitor/ChatEnd", {"reason": reason})

    def close(self) -> None:
        self.http.close()


class Control:
    """The control API, over plain requests."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.base = sandbox.url + "/_sandbox/"
        self.http = requests.Session()

    def get(self, path: str) -> requests.Response:
        return self.http.get(self.base + path, timeout=15)

    def post(self, path: str, body: Any = None) -> requests.Response:
        return self.http.post(self.base + path, json=body, timeout=15)

    def chat(self, chat_id: str) -> dict[str, Any]:
        response = self.get(f"chats/{chat_id}")
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def agent(self, chat_id: str, action: str, **fields: Any) -> requests.Response:
        return self.post(f"chats/{chat_id}/agent", {"action": action, **fields})

    def close(self) -> None:
        self.http.close()


def wait_until(condition: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
    """Bounded wait for state another thread changes; tiny sleeps, never a fixed delay."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


def raw_exchange(sandbox: Sandbox, data: bytes, *, timeout: float = 5.0) -> bytes:
    """Send bytes on a fresh socket and read until the server closes it."""
    with socket.create_connection(("127.0.0.1", sandbox.port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)
