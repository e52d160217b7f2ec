"""Helpers for the sandbox pod's tests: a hand-written visitor and control client over plain `requests`.

`Visitor` is a deliberately small, explicit re-statement of the wire protocol, so a bug in the project's
client cannot hide a bug in the pod.
"""

from __future__ import annotations

import itertools
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import requests

from liveagent_cli.sandbox import Sandbox

API_VERSION = "42"
_buttons = itertools.count(1)


def fresh_button() -> str:
    """A button id of its own, so chats of other tests on a shared pod never queue ahead of this one."""
    return f"573{next(_buttons):012d}"


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
        self.button_id = fresh_button()

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
        if response.ok and "X-LIVEAGENT-SEQUENCE" in sent:
            self.sequence = max(self.sequence, int(sent["X-LIVEAGENT-SEQUENCE"]))
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
            "buttonId": self.button_id,
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

    def reconnect(self, *, affinity: str = "null", offset: int | None = None) -> requests.Response:
        """ReconnectSession after a 503; on 200 adopts the new token and restarts the sequence, as Android does."""
        params = {"ReconnectSession.offset": self.offset if offset is None else offset}
        response = self.get(
            "System/ReconnectSession", params=params, headers=self.headers(**{"X-LIVEAGENT-AFFINITY": affinity})
        )
        if response.status_code == 200:
            message = response.json()["messages"][0]["message"]
            self.info["affinityToken"] = message["affinityToken"]
            if message.get("resetSequence", True):
                self.sequence = 0
        return response

    def upload(
        self,
        transfer: dict[str, Any],
        data: bytes,
        *,
        filename: str = "note.txt",
        content_type: str = "text/plain",
        **overrides: str,
    ) -> requests.Response:
        """The multipart upload an SDK sends to a FileTransfer's uploadServletUrl (no Live Agent headers)."""
        params = {
            "orgId": "00D000000000001",
            "chatKey": self.info["id"],
            "fileToken": transfer["fileToken"],
            "encoding": "UTF-8",
            **overrides,
        }
        return self.http.post(
            transfer["uploadServletUrl"], params=params, files={"file": (filename, data, content_type)}, timeout=15
        )

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


class Background:
    """A request run on its own thread (a long poll to hold while the test does something else)."""

    def __init__(self, call: Callable[[], requests.Response]) -> None:
        self.response: requests.Response | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(call,), daemon=True)
        self._thread.start()

    def _run(self, call: Callable[[], requests.Response]) -> None:
        try:
            self.response = call()
        except BaseException as exc:  # handed to the test through result()
            self.error = exc

    def result(self, timeout: float = 10.0) -> requests.Response:
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise AssertionError(f"the request did not finish within {timeout} s")
        if self.error is not None:
            raise self.error
        assert self.response is not None
        return self.response


def held(control: Control, chat_id: str, count: int = 1) -> None:
    """Wait until the pod holds `count` polls of a chat (the control API's `pollsHeld`)."""
    wait_until(lambda: control.chat(chat_id)["pollsHeld"] == count, what=f"{count} held poll(s)")


def types(messages: list[dict[str, Any]]) -> list[str]:
    return [m["type"] for m in messages]
