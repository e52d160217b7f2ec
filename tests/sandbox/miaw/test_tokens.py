"""Access tokens (reference §1.3, §2.1 #1, #2, #4): guest and verified mints, the JWT's claims, continuation,
lifetime, expiry (401 on REST, the open stream ends) and tokens the sandbox never issued."""

from __future__ import annotations

import json
import time

import pytest

from liveagent_cli.sandbox import Sandbox
from tests.sandbox.miaw.conftest import MakeSandbox, UserOn
from tests.sandbox.miaw.helpers import (
    API,
    EndUser,
    b64url,
    error_message,
    identity_token,
    jwt_parts,
    new_id,
)

# §1.3: the claim names of Salesforce's access-token JWTs.
ACCESS_TOKEN_CLAIMS = {
    "sub",
    "clientId",
    "channelAddId",
    "iss",
    "deviceId",
    "capabilitiesVersion",
    "orgId",
    "deviceInfo",
    "platform",
    "jwtId",
    "clientSessionId",
    "aud",
    "evtKey",
    "apiVersion",
    "scope",
    "jwks_uri",
    "esDeploymentType",
    "exp",
    "iat",
}


def test_a_guest_token_is_an_rs256_jwt_with_the_reference_claims(user: EndUser) -> None:
    minted = user.login()
    assert user.token is not None
    header, claims = jwt_parts(user.token)
    assert header["alg"] == "RS256" and header["typ"] == "JWT" and header["kid"]
    missing = ACCESS_TOKEN_CLAIMS - set(claims)
    assert not missing, f"claims missing from the access token: {sorted(missing)}"
    assert claims["sub"].startswith("v2/iamessage/UNAUTH/NA/uid:")
    assert claims["iss"] == "iamessage" and claims["aud"] == "USER" and claims["apiVersion"] == "v2"
    assert claims["orgId"] == user.org_id and claims["platform"] == "Web"
    assert isinstance(claims["exp"], int) and isinstance(claims["iat"], int) and claims["exp"] > claims["iat"]
    # §2.2: the response body around it.
    assert isinstance(minted["lastEventId"], str | int) and str(minted["lastEventId"])
    assert minted["context"]["endUser"]["subject"] == claims["sub"]
    config = minted["context"]["configuration"]["embeddedServiceConfig"]
    assert config["name"] == user.deployment


def test_every_guest_gets_a_subject_and_token_of_its_own(
    user: EndUser, user_on: UserOn, shared_sandbox: Sandbox
) -> None:
    other = user_on(shared_sandbox, org_id=user.org_id)
    user.login()
    other.login()
    assert user.token and other.token and user.token != other.token
    assert jwt_parts(user.token)[1]["sub"] != jwt_parts(other.token)[1]["sub"]


def test_an_18_character_org_id_is_accepted_and_the_token_carries_its_15_character_form(
    shared_sandbox: Sandbox, user_on: UserOn
) -> None:
    user = user_on(shared_sandbox)
    org15 = user.org_id
    user.adopt(user.mint(orgId=org15 + "AAA"))
    assert user.token is not None
    assert jwt_parts(user.token)[1]["orgId"] == org15


def test_the_token_lifetime_is_token_ttl(make_sandbox: MakeSandbox, user_on: UserOn) -> None:
    user = user_on(make_sandbox(token_ttl=1234))
    user.login()
    assert user.token is not None
    claims = jwt_parts(user.token)[1]
    assert claims["exp"] - claims["iat"] == 1234


@pytest.mark.parametrize(
    "overrides",
    [
        {"orgId": None},
        {"orgId": ""},
        {"orgId": "abc"},
        {"orgId": "00D12345678901"},  # 14 characters
        {"orgId": "001000000000001"},  # not an org id prefix
        {"orgId": 15},
        {"esDeveloperName": None},
        {"esDeveloperName": ""},
        {"esDeveloperName": ["x"]},
        {"capabilitiesVersion": {"v": 1}},
    ],
    ids=lambda o: ",".join(f"{k}={v!r}" for k, v in o.items()),
)
def test_a_token_request_with_a_missing_or_malformed_field_is_400(user: EndUser, overrides: dict[str, object]) -> None:
    body = user.token_body()
    for name, value in overrides.items():
        if value is None:
            del body[name]
        else:
            body[name] = value
    response = user.http.post(user.base + API + "authorization/unauthenticated/access-token", json=body, timeout=15)
    assert response.status_code == 400, (overrides, response.status_code, response.text[:200])
    assert error_message(response)


@pytest.mark.parametrize("raw", [b"", b"{not json", b"[]", b'"a string"', b"null", b"42"])
def test_a_token_request_whose_body_is_not_a_json_object_is_400(user: EndUser, raw: bytes) -> None:
    response = user.http.post(
        user.base + API + "authorization/unauthenticated/access-token",
        data=raw,
        headers={"Content-Type": "application/json"},
        timeout=15,
    )
    assert response.status_code == 400, (raw, response.status_code)
    assert error_message(response)


def test_a_verified_user_token_binds_the_identity_token_subject(user: EndUser) -> None:
    response = user.mint_verified(identity_token("ada@example.com"))
    minted = user.adopt(response)
    assert user.token is not None
    sub = jwt_parts(user.token)[1]["sub"]
    assert sub.startswith("v2/iamessage/AUTH/") and sub.endswith("/uid:ada@example.com"), sub
    assert minted["context"]["endUser"]["subject"] == sub


def test_the_same_verified_user_gets_the_same_subject_again(
    user: EndUser, user_on: UserOn, shared_sandbox: Sandbox
) -> None:
    again = user_on(shared_sandbox, org_id=user.org_id)
    user.adopt(user.mint_verified(identity_token("grace@example.com")))
    again.adopt(again.mint_verified(identity_token("grace@example.com")))
    assert user.token and again.token
    assert jwt_parts(user.token)[1]["sub"] == jwt_parts(again.token)[1]["sub"]


@pytest.mark.parametrize("drop", ["customerIdentityToken", "authorizationType"])
def test_a_verified_token_request_without_its_fields_is_400(user: EndUser, drop: str) -> None:
    body = user.token_body(authorizationType="JWT", customerIdentityToken=identity_token("ada"))
    del body[drop]
    response = user.http.post(user.base + API + "authorization/authenticated/access-token", json=body, timeout=15)
    assert response.status_code == 400, response.text[:200]
    assert error_message(response)


def test_the_continuation_token_keeps_the_subject_and_expiry_with_a_new_client_id(user: EndUser) -> None:
    user.login()
    assert user.create().status_code == 201
    first = user.token
    assert first is not None
    response = user.continuation()
    assert response.status_code == 200, response.text[:200]
    body = response.json()
    second = body["accessToken"]
    assert "lastEventId" in body
    old, new = jwt_parts(first)[1], jwt_parts(second)[1]
    assert new["sub"] == old["sub"]
    assert new["clientId"] != old["clientId"]
    assert new["exp"] == old["exp"], "the continuation token must not extend the JWT's lifetime (§1.3)"
    # The new token reaches the same conversation.
    assert user.status().status_code == 200
    status = user.request("GET", f"conversation/{user.conv()}", token=second)
    assert status.status_code == 200 and status.json()["conversationId"] == user.conv()


def test_the_continuation_token_needs_a_valid_bearer(user: EndUser) -> None:
    assert user.request("GET", "authorization/continuation-access-token", headers={}).status_code == 401
    assert user.continuation(token="not.a.jwt").status_code == 401


def _tampered(token: str) -> list[str]:
    head, body, signature = token.split(".")
    claims = jwt_parts(token)[1]
    claims["sub"] = claims["sub"][:-4] + "beef"
    forged_body = b64url(json.dumps(claims).encode())
    flipped = signature[:-2] + ("AA" if not signature.endswith("AA") else "BB")
    none_alg = b64url(b'{"alg":"none","typ":"JWT"}') + "." + body + "."
    return [f"{head}.{forged_body}.{signature}", f"{head}.{body}.{flipped}", none_alg, "garbage", head + "." + body]


def test_a_token_whose_claims_or_signature_were_changed_is_401_everywhere(user: EndUser) -> None:
    user.login()
    assert user.create().status_code == 201
    assert user.token is not None
    for forged in _tampered(user.token):
        assert user.status().status_code == 200
        assert user.request("GET", f"conversation/{user.conv()}", token=forged).status_code == 401, forged[-20:]
        stream = user.stream(token=forged, expect=None)
        assert stream.status == 401, forged[-20:]


def test_a_token_from_another_sandbox_is_401(make_sandbox: MakeSandbox, user_on: UserOn) -> None:
    first, second = make_sandbox(seed=1), make_sandbox(seed=2)  # two keys
    issued = user_on(first)
    issued.login()
    stranger = user_on(second, org_id=issued.org_id)
    stranger.token = issued.token
    assert stranger.create().status_code == 401
    assert stranger.stream(expect=None).status == 401


# ---- expiry -------------------------------------------------------------------------------------------


def test_an_expired_token_gets_401_on_rest_and_the_open_stream_ends(make_sandbox: MakeSandbox, user_on: UserOn) -> None:
    sandbox = make_sandbox(token_ttl=2)
    user = user_on(sandbox)
    stream = user.start()
    old_conversation = user.conv()
    assert user.status().status_code == 200
    stream.wait_closed(timeout=15)  # the server ends the stream when the token expires
    assert "Jwt is expired" in stream.wire.decode(), "§3.5, §9.2: the stream's last words"
    response = user.status()
    assert response.status_code == 401
    assert "Jwt is expired" in error_message(response), "the same words as the stream's (§3.5, §2.5)"
    assert user.send("too late").status_code == 401
    assert user.continuation().status_code == 401, "continuation is not a refresh (§1.3)"
    # Reopening the stream: 401 with a Spring-style body (§2.5).
    reopened = user.stream(expect=401)
    body = reopened.json_body()
    assert body["status"] == 401 and body["error"] == "Unauthorized" and body["path"] == "/eventrouter/v1/sse"
    # A fresh guest token is a new identity: the old conversation is out of its reach (§5).
    user.login()
    assert user.status(old_conversation).status_code == 404
    listed = user.conversations(inclClosedConvs="true").json()["conversations"]
    assert old_conversation not in [c["conversationId"] for c in listed]
    assert user.create(new_id()).status_code == 201


def test_revoking_a_verified_users_token_ends_it(user: EndUser) -> None:
    """§2.1 #3 (PM): DELETE …/authenticated/access-token, for authenticated tokens only."""
    user.adopt(user.mint_verified(identity_token("revoke@example.com")))
    stream = user.stream()
    response = user.request("DELETE", "authorization/authenticated/access-token")
    assert response.status_code == 204
    assert user.conversations().status_code == 401
    stream.wait_closed()


def test_a_guest_token_cannot_be_revoked(user: EndUser) -> None:
    user.login()
    response = user.request("DELETE", "authorization/authenticated/access-token")
    assert response.status_code == 400
    assert user.conversations().status_code == 200


def test_a_verified_user_who_comes_back_finds_their_conversation(
    user: EndUser, user_on: UserOn, shared_sandbox: Sandbox
) -> None:
    """§5 'Resuming later': verified users re-authenticate and get the same subject, hence the same conversations."""
    user.adopt(user.mint_verified(identity_token("returning@example.com")))
    stream = user.stream()
    assert user.create().status_code == 201
    stream.until(lambda e: e.event == "CONVERSATION_PARTICIPANT_CHANGED", what="the agent joining")
    later = user_on(shared_sandbox, org_id=user.org_id)
    later.adopt(later.mint_verified(identity_token("returning@example.com")))
    listed = [c["conversationId"] for c in later.conversations().json()["conversations"]]
    assert listed == [user.conv()]
    later.conversation_id = user.conv()
    assert later.status().status_code == 200
    resumed = later.stream(last_event_id="0")
    later.round_trip(resumed, "I am back")


def test_an_identity_token_that_does_not_verify_binds_a_guest(user: EndUser) -> None:
    """§1.3: failed verification still answers 200 with an anonymous token (the sandbox's default choice)."""
    now = int(time.time())
    head_hs = b64url(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "k"}).encode())
    body = b64url(json.dumps({"sub": "mallory", "iss": "x", "iat": now, "exp": now + 600}).encode())
    failing = {
        "expired": identity_token("late@example.com", lifetime=-60),
        "HS256": f"{head_hs}.{body}.{b64url(b'sig')}",
        "empty sub": identity_token(""),
    }
    for what, identity in failing.items():
        response = user.mint_verified(identity)
        assert response.status_code == 200, (what, response.status_code, response.text[:200])
        sub = jwt_parts(response.json()["accessToken"])[1]["sub"]
        assert "/AUTH/" not in sub, (what, sub)
