"""Enhanced Chat's tokens and event stream in the sandbox: the JWT and its key, continuation, verified users,
and the stream's rules (X-Org-Id, Last-Event-Id, one stream per subject, replay on or off, sse-drop)."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Callable, Iterator

import pytest
import requests

from liveagent_cli.sandbox import Sandbox
from tests.sandbox.miaw_support import V2, EndUser, new_id

MakeSandbox = Callable[..., Sandbox]


@pytest.fixture
def users() -> Iterator[Callable[..., EndUser]]:
    made: list[EndUser] = []

    def make(sandbox: Sandbox, **options: str) -> EndUser:
        user = EndUser(sandbox, **options)
        made.append(user)
        return user

    yield make
    for user in made:
        user.close()


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _identity(sub: str, *, exp_in: int = 600, alg: str = "RS256") -> str:
    head = base64.urlsafe_b64encode(json.dumps({"alg": alg, "kid": "k1"}).encode()).rstrip(b"=").decode()
    body = {"sub": sub, "iss": "acme", "iat": int(time.time()), "exp": int(time.time()) + exp_in}
    claims = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    return f"{head}.{claims}.c2ln"


def test_the_token_is_an_rs256_jwt_that_the_jwks_verifies(
    make_sandbox: MakeSandbox, users: Callable[..., EndUser]
) -> None:
    sandbox = make_sandbox(seed=21, token_ttl=900)
    user = users(sandbox)
    user.login()
    head_b64, claims_b64, signature_b64 = user.token.split(".")
    header, claims = json.loads(_b64(head_b64)), json.loads(_b64(claims_b64))
    assert header["alg"] == "RS256" and header["typ"] == "JWT"
    assert claims["exp"] - claims["iat"] == 900 and claims["apiVersion"] == "v2" and claims["aud"] == "USER"
    keys = requests.get(str(claims["jwks_uri"]), timeout=10).json()["keys"]
    [key] = [k for k in keys if k["kid"] == header["kid"]]
    n, e = int.from_bytes(_b64(key["n"]), "big"), int.from_bytes(_b64(key["e"]), "big")
    signed = pow(int.from_bytes(_b64(signature_b64), "big"), e, n).to_bytes(len(_b64(key["n"])), "big")
    digest = hashlib.sha256(f"{head_b64}.{claims_b64}".encode()).digest()
    assert signed.endswith(digest) and signed.startswith(b"\x00\x01\xff")


def test_a_continuation_token_keeps_the_subject_and_the_expiry(
    make_sandbox: MakeSandbox, users: Callable[..., EndUser]
) -> None:
    user = users(make_sandbox(seed=21))
    user.login()
    first = json.loads(_b64(user.token.split(".")[1]))
    answer = user.http.get(user.base + V2 + "/authorization/continuation-access-token", headers=user.headers())
    assert answer.status_code == 200
    second = json.loads(_b64(answer.json()["accessToken"].split(".")[1]))
    assert (second["sub"], second["exp"]) == (first["sub"], first["exp"])
    assert second["clientId"] != first["clientId"]


def test_a_verified_user_gets_the_same_subject_each_time_and_a_bad_identity_a_guest(
    make_sandbox: MakeSandbox, users: Callable[..., EndUser]
) -> None:
    sandbox = make_sandbox(seed=21)
    user = users(sandbox)

    def mint(identity: str) -> requests.Response:
        body = {
            "orgId": user.org,
            "esDeveloperName": user.deployment,
            "capabilitiesVersion": "1",
            "authorizationType": "JWT",
            "customerIdentityToken": identity,
        }
        return user.http.post(user.base + V2 + "/authorization/authenticated/access-token", json=body, timeout=10)

    subjects = [mint(_identity("ada@example.com")).json()["context"]["endUser"]["subject"] for _ in range(2)]
    assert subjects[0] == subjects[1] == "v2/iamessage/AUTH/acme/uid:ada@example.com"
    expired = mint(_identity("ada@example.com", exp_in=-10))
    assert expired.status_code == 200  # as the reference reports it: a guest token, the only tell is the subject
    assert expired.json()["context"]["endUser"]["subject"].startswith("v2/iamessage/UNAUTH/")
    assert mint("not a jwt").json()["context"]["endUser"]["subject"].startswith("v2/iamessage/UNAUTH/")
    strict = users(make_sandbox(seed=21, identity_failure="reject"))
    body = {
        "orgId": strict.org,
        "esDeveloperName": strict.deployment,
        "capabilitiesVersion": "1",
        "authorizationType": "JWT",
        "customerIdentityToken": _identity("x", alg="HS256"),
    }
    refused = strict.http.post(strict.base + V2 + "/authorization/authenticated/access-token", json=body, timeout=10)
    assert refused.status_code == 401


def test_the_stream_needs_the_tokens_15_character_org_id(
    make_sandbox: MakeSandbox, users: Callable[..., EndUser]
) -> None:
    sandbox = make_sandbox(seed=21)
    user = users(sandbox, org="00D5g000000SBOXEAA")  # the token request may carry 18 characters
    user.login()
    url = user.base + "/eventrouter/v1/sse"
    missing = user.http.get(url, headers=user.headers(), timeout=10)
    assert missing.status_code == 400 and missing.json()["message"] == "OrgId is required"
    eighteen = user.http.get(url, headers=user.headers(**{"X-Org-Id": user.org}), timeout=10)
    assert eighteen.status_code == 400 and eighteen.json()["message"] == "OrgId in the header and token must match"
    lenient = users(make_sandbox(seed=21, org_id_18=True), org=user.org)
    lenient.login()
    with lenient.http.get(
        url.replace(user.base, lenient.base),
        headers=lenient.headers(**{"X-Org-ID": lenient.org}),
        stream=True,
        timeout=10,
    ) as accepted:
        assert accepted.status_code == 200


def test_a_second_stream_replaces_the_first_or_is_refused(
    make_sandbox: MakeSandbox, users: Callable[..., EndUser]
) -> None:
    user = users(make_sandbox(seed=21))
    user.login()
    first = user.stream()
    assert first.response.status_code == 200
    second = user.stream()
    assert second.response.status_code == 200
    assert first.drain_until_end() == []  # the first ends, cleanly
    strict = users(make_sandbox(seed=21, second_stream="refuse"))
    strict.login()
    held = strict.stream()
    assert held.response.status_code == 200
    headers = strict.headers(**{"X-Org-Id": strict.org})
    refused = strict.http.get(strict.base + "/eventrouter/v1/sse", headers=headers, timeout=10)
    assert refused.status_code == 409
    held.close()
    for _ in range(200):  # the refusal lasts only while the first stream is open
        if (
            after := strict.http.get(strict.base + "/eventrouter/v1/sse", headers=headers, stream=True, timeout=10)
        ).status_code == 200:
            after.close()
            break
        time.sleep(0.01)
    else:
        raise AssertionError("a stream could not be opened after the first one closed")


def test_without_replay_a_new_stream_gets_only_what_comes_next(
    make_sandbox: MakeSandbox, users: Callable[..., EndUser]
) -> None:
    user = users(make_sandbox(seed=21, replay=False))
    user.login()
    user.create()
    stream = user.stream(last_event_id=user.last_event_id)  # what happened before it opened is not sent
    assert user.send("now").status_code == 202
    event = stream.next()
    assert event is not None and event.event == "CONVERSATION_MESSAGE" and event.text == "now"


def test_a_malformed_last_event_id_is_ignored_or_refused_under_strict(
    make_sandbox: MakeSandbox, users: Callable[..., EndUser]
) -> None:
    user = users(make_sandbox(seed=21))
    user.login()
    headers = user.headers(**{"X-Org-Id": user.org, "Last-Event-Id": "undefined"})
    with user.http.get(user.base + "/eventrouter/v1/sse", headers=headers, stream=True, timeout=10) as lenient:
        assert lenient.status_code == 200
    strict = users(make_sandbox(seed=21, strict=True))
    strict.login()
    headers = strict.headers(**{"X-Org-Id": strict.org, "Last-Event-Id": "undefined"})
    refused = strict.http.get(strict.base + "/eventrouter/v1/sse", headers=headers, timeout=10)
    assert refused.status_code == 400
    # a missing one is no error even under --strict: production clients open the stream without it
    headers = strict.headers(**{"X-Org-Id": strict.org})
    with strict.http.get(strict.base + "/eventrouter/v1/sse", headers=headers, stream=True, timeout=10) as missing:
        assert missing.status_code == 200


def test_sse_drop_cuts_the_stream_after_its_nth_event(make_sandbox: MakeSandbox, users: Callable[..., EndUser]) -> None:
    sandbox = make_sandbox(seed=21, faults=("sse-drop:after=2,times=1",))
    user = users(sandbox)
    user.login()
    user.create()
    stream = user.stream(last_event_id=user.last_event_id)
    read = stream.drain_until_end()
    assert len(read) == 2  # routing result, work result; then the connection is cut
    again = user.stream(last_event_id=read[-1].id)
    assert again.until("CONVERSATION_PARTICIPANT_CHANGED").payload["entries"][0]["operation"] == "add"
    [rule] = sandbox.faults()
    assert rule["fired"] == 1 and rule["after"] == 2


def test_an_expire_fault_makes_the_token_expire(make_sandbox: MakeSandbox, users: Callable[..., EndUser]) -> None:
    sandbox = make_sandbox(seed=21)
    user = users(sandbox)
    user.login()
    user.create()
    stream = user.stream(last_event_id=user.last_event_id)
    stream.until("CONVERSATION_PARTICIPANT_CHANGED")
    sandbox.add_fault("expire:path=message,times=1")
    refused = user.send("hello")
    assert refused.status_code == 401 and refused.json()["message"] == "Jwt is expired"
    assert any("Jwt is expired" in e.lines for e in stream.drain_until_end())
    assert user.get(f"/conversation/{user.conversation}").status_code == 401
    [chat] = [c for c in sandbox.chats() if c["id"] == user.conversation]
    assert [e["data"]["spec"] for e in chat["events"] if e["type"] == "Fault"] == ["expire:path=message,times=1"]


def test_tokens_never_reach_the_journal(make_sandbox: MakeSandbox, users: Callable[..., EndUser]) -> None:
    sandbox = make_sandbox(seed=21)
    user = users(sandbox)
    user.login()
    user.create(conversation_id=new_id())
    shown = json.dumps(sandbox.requests()) + json.dumps(sandbox.chats())
    assert user.token not in shown and sandbox.issued_keys() and user.token in sandbox.issued_keys()
    assert "<redacted>" in shown


def test_a_stream_that_never_started_does_not_count_as_open(
    make_sandbox: MakeSandbox, users: Callable[..., EndUser]
) -> None:
    sandbox = make_sandbox(seed=21, second_stream="refuse", faults=("drop:path=sse,times=1",))
    user = users(sandbox)
    user.login()
    url, headers = user.base + "/eventrouter/v1/sse", user.headers(**{"X-Org-Id": user.org})
    with pytest.raises(requests.ConnectionError):
        user.http.get(url, headers=headers, timeout=10)  # processed, then its answer lost
    assert user.http.head(url, headers=headers, timeout=10).status_code == 200
    stream = user.stream()
    assert stream.response.status_code == 200, "neither the HEAD nor the lost answer left a stream open"


def test_a_message_whose_answer_was_lost_is_processed_once_when_sent_again(
    make_sandbox: MakeSandbox, users: Callable[..., EndUser]
) -> None:
    sandbox = make_sandbox(seed=21, faults=("drop:path=message,times=1",))
    user = users(sandbox)
    user.login()
    user.create()
    stream = user.stream(last_event_id=user.last_event_id)
    stream.until("CONVERSATION_PARTICIPANT_CHANGED")
    message_id = new_id()
    with pytest.raises(requests.ConnectionError):
        user.send("retry me", message_id)
    assert user.send("retry me", message_id).status_code == 202
    assert user.send("next").status_code == 202
    stream.until("CONVERSATION_MESSAGE", role="Agent", text="next")
    texts = [e.text for e in stream.seen if e.event == "CONVERSATION_MESSAGE"]
    assert texts == ["retry me", "retry me", "next", "next"]
