"""A few plain-`requests` steps of Enhanced Chat for the sandbox's own tests of it (test_miaw_*.py).

Deliberately small and explicit (paths, headers and bodies as miaw-api.md gives them), and independent of
the conformance suite's helpers in tests/sandbox/miaw/, so each checks the sandbox on its own reading.
"""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

import requests

from liveagent_cli.sandbox import Sandbox

V2 = "/iamessage/api/v2"
ORG = "00D5g000000SBOX"
DEPLOYMENT = "Test_Deployment"


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass
class SseEvent:
    id: str | None
    event: str | None
    data: str
    lines: list[str]

    @property
    def envelope(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.data)
        return value

    @property
    def payload(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.envelope["conversationEntry"]["entryPayload"])
        return value

    @property
    def role(self) -> str:
        role: str = self.envelope["conversationEntry"]["sender"]["role"]
        return role

    @property
    def text(self) -> str | None:
        content = self.payload.get("abstractMessage", {}).get("staticContent", {})
        text = content.get("text")
        return text if isinstance(text, str) else None


@dataclass
class Stream:
    """`GET /eventrouter/v1/sse` read by a thread into a queue of events (`None` once the stream ends)."""

    response: requests.Response
    events: queue.Queue[SseEvent | None] = field(default_factory=queue.Queue)
    seen: list[SseEvent] = field(default_factory=list)
    ended: bool = False

    def __post_init__(self) -> None:
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        lines: list[str] = []
        try:
            for raw in self.response.iter_lines(decode_unicode=True):
                if raw != "":
                    lines.append(raw)
                    continue
                fields: dict[str, str] = {}
                for line in lines:
                    name, _, value = line.partition(":")
                    fields.setdefault(name, value)
                self.events.put(SseEvent(fields.get("id"), fields.get("event"), fields.get("data", ""), lines))
                lines = []
        except (requests.RequestException, OSError, ValueError, AttributeError):
            pass
        self.events.put(None)

    def next(self, timeout: float = 10.0) -> SseEvent | None:
        event = self.events.get(timeout=timeout)
        if event is None:
            self.ended = True
        else:
            self.seen.append(event)
        return event

    def until(self, name: str, timeout: float = 10.0, **where: Any) -> SseEvent:
        """The next event called `name` (pings included) whose properties equal `where`."""
        while True:
            event = self.next(timeout)
            assert event is not None, f"the stream ended before {name} {where}"
            if event.event == name and all(getattr(event, k) == v for k, v in where.items()):
                return event

    def drain_until_end(self, timeout: float = 10.0) -> list[SseEvent]:
        read = []
        while (event := self.next(timeout)) is not None:
            read.append(event)
        return read

    def close(self) -> None:
        """Shut the socket first: a reader thread blocked in recv() would hold the response's close."""
        connection = getattr(self.response.raw, "_connection", None)
        sock = getattr(connection, "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self.response.close()


class EndUser:
    """One end user of a sandbox's Enhanced Chat, over plain requests."""

    def __init__(self, sandbox: Sandbox, *, org: str = ORG, deployment: str = DEPLOYMENT) -> None:
        self.base = sandbox.url
        self.org = org
        self.deployment = deployment
        self.http = requests.Session()
        self.token = ""
        self.last_event_id = ""
        self.conversation = ""
        self.streams: list[Stream] = []

    def headers(self, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **extra}

    def login(self, **extra: Any) -> dict[str, Any]:
        body = {"orgId": self.org, "esDeveloperName": self.deployment, "capabilitiesVersion": "1", "platform": "Web"}
        url = self.base + V2 + "/authorization/unauthenticated/access-token"
        response = self.http.post(url, json={**body, **extra})
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        self.token, self.last_event_id = answer["accessToken"], answer["lastEventId"]
        return answer

    def create(self, conversation_id: str | None = None, **extra: Any) -> requests.Response:
        self.conversation = conversation_id or new_id()
        body = {"conversationId": self.conversation, "esDeveloperName": self.deployment, **extra}
        return self.http.post(self.base + V2 + "/conversation", json=body, headers=self.headers())

    def stream(self, last_event_id: str | None = None, **headers: str) -> Stream:
        sent = self.headers(**{"X-Org-Id": self.org[:15], "Accept": "text/event-stream", **headers})
        if last_event_id is not None:
            sent["Last-Event-Id"] = last_event_id
        response = self.http.get(self.base + "/eventrouter/v1/sse", headers=sent, stream=True, timeout=15)
        stream = Stream(response)
        self.streams.append(stream)
        return stream

    def send(self, text: str, message_id: str | None = None, **extra: Any) -> requests.Response:
        message = {"id": message_id or new_id(), "messageType": "StaticContentMessage"}
        message["staticContent"] = {"formatType": "Text", "text": text}  # type: ignore[assignment]
        body = {"message": message, "esDeveloperName": self.deployment, **extra}
        path = f"{V2}/conversation/{self.conversation}/message"
        return self.http.post(self.base + path, json=body, headers=self.headers())

    def get(self, path: str, **params: str) -> requests.Response:
        return self.http.get(self.base + V2 + path, params=params, headers=self.headers())

    def delete(self, path: str) -> requests.Response:
        return self.http.delete(
            self.base + V2 + path, params={"esDeveloperName": self.deployment}, headers=self.headers()
        )

    def close(self) -> None:
        for stream in self.streams:
            stream.close()
        self.http.close()
