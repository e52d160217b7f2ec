"""Bad requests never crash the pod: malformed JSON, missing headers, wrong methods, garbage bytes each get a
clear 4xx, and the server keeps serving."""

from __future__ import annotations

import random

import pytest
import requests

from liveagent_cli.sandbox import Sandbox
from liveagent_cli.sandbox.defaults import NOUNS
from tests.sandbox.helpers import Visitor, raw_exchange

POST_NOUNS = [n for n, prefix in NOUNS.items() if prefix == "Chasitor"] + ["MultiNoun", "Breadcrumb"]
BAD_BODIES = [b"{not json", b"[1, 2]", b"\xff\xfe\x00garbage", b'"just a string"', b"[" * 100_000, b"null"]


def _path(noun: str) -> str:
    return f"{NOUNS[noun]}/{noun}"


@pytest.mark.parametrize("noun", POST_NOUNS)
def test_malformed_bodies_get_a_clear_4xx_on_every_post(noun: str, visitor: Visitor) -> None:
    visitor.start_chat()
    for body in BAD_BODIES:
        response = visitor.post(_path(noun), data=body)
        if noun in ("ChasitorTyping", "ChasitorNotTyping", "ChatEnd", "ChasitorResyncState") and body == b"null":
            continue  # bodies these nouns ignore or may omit
        assert 400 <= response.status_code < 500, (noun, body[:20], response.status_code)
        assert response.json()["error"]
    assert visitor.send("the chat still works").status_code == 200


@pytest.mark.parametrize("noun", list(NOUNS))
def test_every_resource_refuses_a_missing_version_header_and_a_wrong_method(noun: str, shared_sandbox: Sandbox) -> None:
    url = shared_sandbox.pod_url + _path(noun)
    method = (
        "GET"
        if noun
        in ("SessionId", "Messages", "ReconnectSession", "ResyncSession", "Settings", "Availability", "VisitorId")
        else "POST"
    )
    assert requests.request(method, url, timeout=5).status_code == 400
    wrong = requests.request("PUT", url, timeout=5)
    assert wrong.status_code == 405 and method in wrong.headers["Allow"]


def test_random_garbage_never_takes_the_server_down(shared_sandbox: Sandbox) -> None:
    rng = random.Random(1234)
    for _ in range(40):
        junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400))) + b"\r\n\r\n"
        answer = raw_exchange(shared_sandbox, junk, timeout=5)
        assert answer.startswith(b"HTTP/1.1 4") or answer == b"", junk[:20]
    assert requests.get(shared_sandbox.url + "/_sandbox/health", timeout=5).json()["status"] == "ok"


def test_query_strings_and_headers_that_are_wrong_get_400(visitor: Visitor) -> None:
    visitor.start_chat()
    assert visitor.get("System/Messages", params={"ack": "1e9"}).status_code == 400
    assert visitor.get("System/ReconnectSession", params={"ReconnectSession.offset": "x"}).status_code == 400
    assert (
        visitor.post(
            "Chasitor/ChatMessage", {"text": "x"}, headers=visitor.headers(**{"X-LIVEAGENT-SEQUENCE": "ten"})
        ).status_code
        == 400
    )
    assert visitor.send("fine").status_code == 200
