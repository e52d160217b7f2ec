"""What third-party clients written for the real server lean on besides the rules: tokens that verify against
the advertised JWKS, CORS for browser clients (the official sample is a web app), chunked request bodies,
the sample's cache-busting query on the stream, unknown fields, and many conversations at once."""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from collections.abc import Iterator

import requests

from liveagent_cli.sandbox import Sandbox
from tests.sandbox.miaw.conftest import UserOn
from tests.sandbox.miaw.helpers import (
    API,
    MESSAGE,
    SSE_PATH,
    Background,
    EndUser,
    SseStream,
    b64url,
    echoes_of,
    is_join,
    jwt_parts,
    new_id,
)

ORIGIN = "http://localhost:3000"
SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _verifies(token: str, jwk: dict[str, str]) -> bool:
    """RS256 (RSASSA-PKCS1-v1_5 with SHA-256) by hand: the signature, raised to e mod n, is the padded digest."""
    head, body, signature = token.split(".")
    n = int.from_bytes(_b64decode(jwk["n"]), "big")
    e = int.from_bytes(_b64decode(jwk["e"]), "big")
    size = (n.bit_length() + 7) // 8
    recovered = pow(int.from_bytes(_b64decode(signature), "big"), e, n).to_bytes(size, "big")
    digest = hashlib.sha256(f"{head}.{body}".encode()).digest()
    padding = b"\xff" * (size - 3 - len(SHA256_DIGEST_INFO) - len(digest))
    return recovered == b"\x00\x01" + padding + b"\x00" + SHA256_DIGEST_INFO + digest


def test_the_access_token_verifies_against_the_jwks_its_claims_point_to(user: EndUser) -> None:
    user.login()
    assert user.token is not None
    header, claims = jwt_parts(user.token)
    response = requests.get(claims["jwks_uri"], timeout=15)
    assert response.status_code == 200
    keys = {key["kid"]: key for key in response.json()["keys"]}
    jwk = keys[header["kid"]]
    assert jwk["kty"] == "RSA" and int.from_bytes(_b64decode(jwk["n"]), "big").bit_length() >= 2048
    assert _verifies(user.token, jwk)
    head, body, signature = user.token.split(".")
    forged = dict(claims, sub=claims["sub"] + "x")
    assert not _verifies(f"{head}.{b64url(json.dumps(forged).encode())}.{signature}", jwk)


def test_a_browser_preflight_is_answered_for_the_rest_api_and_the_stream(user: EndUser) -> None:
    for method, path, asked in (
        ("POST", API + "conversation", "authorization,content-type"),
        ("GET", SSE_PATH, "authorization,x-org-id,last-event-id,cache-control"),
    ):
        response = requests.options(
            user.base + path,
            headers={
                "Origin": ORIGIN,
                "Access-Control-Request-Method": method,
                "Access-Control-Request-Headers": asked,
            },
            timeout=15,
        )
        assert response.status_code in (200, 204), (path, response.status_code)
        assert response.headers["Access-Control-Allow-Origin"] in (ORIGIN, "*")
        allowed = response.headers["Access-Control-Allow-Headers"].lower()
        assert all(name in allowed for name in asked.split(",")), allowed
        assert method in response.headers["Access-Control-Allow-Methods"]


def test_answers_and_the_stream_carry_cors_headers_for_a_browser(user: EndUser) -> None:
    minted = user.http.post(
        user.base + API + "authorization/unauthenticated/access-token",
        json=user.token_body(),
        headers={"Origin": ORIGIN},
        timeout=15,
    )
    assert minted.headers["Access-Control-Allow-Origin"] in (ORIGIN, "*")
    user.adopt(minted)
    stream = user.stream(headers={**user.stream_headers(), "Origin": ORIGIN})
    assert stream.response_headers["access-control-allow-origin"] in (ORIGIN, "*")


def test_a_chunked_request_body_is_read_like_any_other(user: EndUser) -> None:
    stream = user.start_chat()
    message_id = new_id()
    payload = json.dumps(user.message_body("sent in chunks", message_id)).encode()

    def pieces() -> Iterator[bytes]:
        for start in range(0, len(payload), 7):
            yield payload[start : start + 7]

    url = user.base + API + f"conversation/{user.conv()}/message"
    response = user.http.post(url, data=pieces(), headers={**user.bearer(), "Content-Type": "application/json"})
    assert response.status_code == 202, response.text[:200]
    stream.wait_for(MESSAGE, role="Agent", text="sent in chunks")
    assert len(echoes_of(stream.seen, message_id)) == 1


def test_the_stream_accepts_the_samples_cache_busting_query(user: EndUser, shared_sandbox: Sandbox) -> None:
    """SAMPLE reconnects with `?_ts=<now>` (§3.5)."""
    user.login()
    stream = SseStream("127.0.0.1", shared_sandbox.port, user.stream_headers(), path=SSE_PATH + "?_ts=1741299980669")
    user.streams.append(stream)
    stream.open()
    assert stream.status == 200
    assert user.create().status_code == 201
    stream.until(lambda e: is_join(e, user.conv()), what="the agent joining")


def test_unknown_fields_are_tolerated_on_v2(user: EndUser) -> None:
    """§9.3: unknown fields tolerated on v2 (strict on v1 only)."""
    user.adopt(user.mint(deviceId=new_id(), context={"appName": "pytest", "clientVersion": "1"}, futureField=[1]))
    stream = user.stream()
    assert user.create().status_code == 201
    stream.until(lambda e: is_join(e, user.conv()), what="the agent joining")
    body = user.message_body("extra fields", language="en", futureField={"x": 1})
    body["message"]["inReplyToMessageId"] = None
    body["message"]["somethingNew"] = True
    response = user.request("POST", f"conversation/{user.conv()}/message", json=body)
    assert response.status_code == 202, response.text[:200]
    stream.wait_for(MESSAGE, role="Agent", text="extra fields")


def test_the_continuation_token_opens_the_subjects_stream(user: EndUser) -> None:
    first = user.start_chat()
    continued = user.continuation().json()["accessToken"]
    second = user.stream(token=continued, last_event_id=first.last_id)
    user.round_trip(second, "through the continued stream")


def test_the_entries_list_returns_20_by_default(user: EndUser) -> None:
    """§2.1 #8: `limit` defaults to 20."""
    stream = user.start_chat()
    for n in range(8):
        user.round_trip(stream, f"page {n}")
    everything = user.entries(limit="50").json()["conversationEntries"]
    assert len(everything) > 20
    assert len(user.entries().json()["conversationEntries"]) == 20


def test_many_conversations_at_once_all_complete(shared_sandbox: Sandbox, user_on: UserOn) -> None:
    users = [user_on(shared_sandbox) for _ in range(12)]

    def converse(one: EndUser) -> list[str]:
        stream = one.start_chat()
        return [one.round_trip(stream, f"{one.org_id} {n}").text or "" for n in range(3)]

    calls = [Background(functools.partial(converse, one)) for one in users]
    for one, call in zip(users, calls, strict=True):
        assert call.result(timeout=60) == [f"{one.org_id} {n}" for n in range(3)]
