"""Bad input to every REST endpoint (reference §1.4, §2.1, §2.5): a missing or bad bearer is 401, a body that is
not the right JSON is 400 (or 415 for a wrong content type), each with a JSON error body carrying `message`;
nothing refused is processed, and the conversation goes on working."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.sandbox.miaw.helpers import MESSAGE, EndUser, error_message, new_id, text_message

Body = Callable[[EndUser], dict[str, Any]]


def _message(user: EndUser) -> dict[str, Any]:
    return user.message_body("hello")


def _typing(user: EndUser) -> dict[str, Any]:
    return {"entryType": "TypingStartedIndicator", "id": new_id()}


def _ack(user: EndUser) -> dict[str, Any]:
    return {"acks": [{"id": new_id(), "entryType": "Delivery", "conversationEntryId": new_id()}]}


def _create(user: EndUser) -> dict[str, Any]:
    return {"conversationId": new_id(), "esDeveloperName": user.deployment}


# name -> (method, path below /iamessage/api/v2/ with {c} for the conversation, valid JSON body or None)
ENDPOINTS: dict[str, tuple[str, str, Body | None]] = {
    "continuation": ("GET", "authorization/continuation-access-token", None),
    "create": ("POST", "conversation", _create),
    "status": ("GET", "conversation/{c}", None),
    "list": ("GET", "conversation/list", None),
    "entries": ("GET", "conversation/{c}/entries", None),
    "message": ("POST", "conversation/{c}/message", _message),
    "file": ("POST", "conversation/{c}/file", None),
    "entry": ("POST", "conversation/{c}/entry", _typing),
    "acknowledge": ("POST", "conversation/{c}/acknowledge-entries", _ack),
    "end session": ("DELETE", "conversation/{c}/session?esDeveloperName=" + "Pytest_Custom_Client", None),
    "close": ("DELETE", "conversation/{c}?esDeveloperName=" + "Pytest_Custom_Client", None),
}
JSON_ENDPOINTS = [name for name, (_, _, body) in ENDPOINTS.items() if body is not None]
BAD_AUTHORIZATION = {
    "missing": None,
    "empty bearer": "Bearer ",
    "not a jwt": "Bearer garbage",
    "basic scheme": "Basic dXNlcjpwYXNz",
    "token without scheme": "TOKEN",
}


def _call(user: EndUser, name: str, *, authorization: str | None, **kwargs: Any) -> Any:
    method, path, body = ENDPOINTS[name]
    headers = {} if authorization is None else {"Authorization": authorization}
    if body is not None and "data" not in kwargs and "json" not in kwargs:
        kwargs["json"] = body(user)
    if name == "file" and "files" not in kwargs:
        entry = {"esDeveloperName": user.deployment, "message": {"id": new_id(), "fileId": new_id()}}
        kwargs["files"] = {
            "messageEntry": (None, json.dumps(entry), "application/json"),
            "fileData": ("a.txt", b"abc", "text/plain"),
        }
    return user.request(method, path.format(c=user.conv()), headers=headers, **kwargs)


@pytest.fixture
def ready(user: EndUser) -> EndUser:
    """An end user with a token and a conversation with an agent in it."""
    user.start_chat()
    return user


@pytest.mark.parametrize("name", list(ENDPOINTS))
def test_every_endpoint_is_401_without_a_valid_bearer(ready: EndUser, name: str) -> None:
    for label, authorization in BAD_AUTHORIZATION.items():
        response = _call(ready, name, authorization=authorization)
        assert response.status_code == 401, (name, label, response.status_code, response.text[:200])
        assert error_message(response)
    assert ready.status().status_code == 200, "the conversation is untouched"


@pytest.mark.parametrize("name", JSON_ENDPOINTS)
def test_a_json_body_sent_as_another_content_type_is_refused(ready: EndUser, name: str) -> None:
    body = ENDPOINTS[name][2]
    assert body is not None
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = {**ready.bearer()}
        if content_type is not None:
            headers["Content-Type"] = content_type
        method, path, _ = ENDPOINTS[name]
        response = ready.request(
            method, path.format(c=ready.conv()), headers=headers, data=json.dumps(body(ready)).encode()
        )
        assert response.status_code == 415, (name, content_type, response.status_code)
        assert error_message(response)


NOT_OBJECTS = {
    "empty": b"",
    "broken": b"{not json",
    "array": b"[]",
    "string": b'"a string"',
    "null": b"null",
    "number": b"17",
    "deep": b"[" * 10_000,
    "not utf-8": b"\xff\xfe garbage",
    "trailing": b'{"a": 1} trailing',
}


@pytest.mark.parametrize("name", JSON_ENDPOINTS)
def test_a_body_that_is_not_a_json_object_is_400(ready: EndUser, name: str) -> None:
    method, path, _ = ENDPOINTS[name]
    headers = {**ready.bearer(), "Content-Type": "application/json"}
    for label, raw in NOT_OBJECTS.items():
        response = ready.request(method, path.format(c=ready.conv()), headers=headers, data=raw)
        assert response.status_code == 400, (name, label, response.status_code, response.text[:200])
        assert error_message(response)
    assert ready.status().status_code == 200


def _without(body: dict[str, Any], dotted: str) -> dict[str, Any]:
    copy: dict[str, Any] = json.loads(json.dumps(body))
    *parents, last = dotted.split(".")
    target: Any = copy
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    del target[last]
    return copy


def _with(body: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    copy: dict[str, Any] = json.loads(json.dumps(body))
    *parents, last = dotted.split(".")
    target: Any = copy
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    target[last] = value
    return copy


MESSAGE_MISSING = [
    "message",
    "esDeveloperName",
    "message.id",
    "message.messageType",
    "message.staticContent",
    "message.staticContent.formatType",
    "message.staticContent.text",
]
MESSAGE_WRONG = [
    ("message", "hello"),
    ("message", ["hello"]),
    ("message.id", "not-a-uuid"),
    ("message.id", 12),
    ("message.messageType", "Bogus"),
    ("message.messageType", 3),
    ("message.staticContent", "hello"),
    ("message.staticContent.formatType", "Telepathy"),
    ("message.staticContent.text", 42),
    ("message.staticContent.text", None),
    ("esDeveloperName", 5),
    ("isNewMessagingSession", "yes"),
    ("routingAttributes", ["a"]),
]


def test_a_message_without_a_required_field_is_400_and_never_processed(ready: EndUser) -> None:
    for field in MESSAGE_MISSING:
        body = _without(ready.message_body("must not arrive"), field)
        response = ready.request("POST", f"conversation/{ready.conv()}/message", json=body)
        assert response.status_code == 400, (field, response.status_code, response.text[:200])
        assert error_message(response)
    _nothing_processed(ready)


def test_a_message_with_a_wrongly_shaped_field_is_400_and_never_processed(ready: EndUser) -> None:
    for field, value in MESSAGE_WRONG:
        body = _with(ready.message_body("must not arrive"), field, value)
        response = ready.request("POST", f"conversation/{ready.conv()}/message", json=body)
        assert response.status_code == 400, (field, value, response.status_code, response.text[:200])
        assert error_message(response)
    _nothing_processed(ready)


def _nothing_processed(user: EndUser) -> None:
    """No refused message is in the conversation; a good one after them still goes through."""
    stream = user.streams[-1]
    user.round_trip(stream, "the good one")
    texts = [e.text for e in stream.events(MESSAGE)]
    assert "must not arrive" not in texts
    listed = json.dumps(user.entries(limit="50").json())
    assert "must not arrive" not in listed


ENTRY_BAD = [
    ("entryType", None),
    ("entryType", "Typing"),
    ("entryType", 1),
    ("id", None),
    ("id", "nope"),
]


def test_a_typing_entry_that_is_missing_or_wrong_is_400(ready: EndUser) -> None:
    for field, value in ENTRY_BAD:
        body = _typing(ready)
        body = _without(body, field) if value is None else _with(body, field, value)
        response = ready.request("POST", f"conversation/{ready.conv()}/entry", json=body)
        assert response.status_code == 400, (field, value, response.status_code)
        assert error_message(response)


ACK_BAD: list[tuple[str, Any]] = [
    ("acks", None),
    ("acks", "all of them"),
    ("acks", [17]),
    ("acks.0.id", None),
    ("acks.0.id", "not-a-uuid"),
    ("acks.0.entryType", None),
    ("acks.0.entryType", "Seen"),
    ("acks.0.conversationEntryId", None),
    ("acks.0.conversationEntryId", 5),
]


def test_an_acknowledgement_that_is_missing_or_wrong_is_400(ready: EndUser) -> None:
    for field, value in ACK_BAD:
        body = _ack(ready)
        body = _without(body, field) if value is None else _with(body, field, value)
        response = ready.request("POST", f"conversation/{ready.conv()}/acknowledge-entries", json=body)
        assert response.status_code == 400, (field, value, response.status_code)
        assert error_message(response)


def test_a_wrong_method_is_refused_and_an_unknown_path_is_404(ready: EndUser) -> None:
    for method, path in (
        ("PUT", f"conversation/{ready.conv()}/message"),
        ("GET", f"conversation/{ready.conv()}/message"),
        ("PATCH", f"conversation/{ready.conv()}"),
        ("DELETE", "conversation/list"),
    ):
        response = ready.request(method, path)
        assert response.status_code == 405 and response.headers["Allow"], (method, path, response.status_code)
    for path in ("nowhere", f"conversation/{ready.conv()}/close", f"conversation/{ready.conv()}/typingIndicator"):
        response = ready.request("POST", path, json={})
        assert response.status_code == 404, (path, response.status_code)
        assert error_message(response)
    assert ready.status().status_code == 200


def test_x_org_id_on_rest_calls_is_accepted_but_not_required(ready: EndUser) -> None:
    """§1.4 [INFERRED]: some clients send X-Org-Id on REST calls too; harmless."""
    with_org = ready.request(
        "GET", f"conversation/{ready.conv()}", headers={**ready.bearer(), "X-Org-Id": ready.org_id}
    )
    assert with_org.status_code == 200
    body = {"message": text_message("with the header"), "esDeveloperName": ready.deployment}
    sent = ready.request(
        "POST",
        f"conversation/{ready.conv()}/message",
        headers={**ready.bearer(), "X-Org-ID": ready.org_id},
        json=body,
    )
    assert sent.status_code == 202


def test_the_deployment_name_must_be_the_tokens_everywhere_it_is_sent(ready: EndUser) -> None:
    """esDeveloperName travels in create and message bodies and as ?esDeveloperName= on the DELETEs (§1.2)."""
    conversation = f"conversation/{ready.conv()}"
    other = {"esDeveloperName": "Another_Deployment"}
    checks = {
        "create": ready.request("POST", "conversation", json={"conversationId": new_id(), **other}),
        "message": ready.request("POST", conversation + "/message", json={**ready.message_body("x"), **other}),
        "end session, other name": ready.request("DELETE", conversation + "/session", params=other),
        "end session, no name": ready.request("DELETE", conversation + "/session"),
        "close, other name": ready.request("DELETE", conversation, params=other),
        "close, no name": ready.request("DELETE", conversation),
    }
    for what, response in checks.items():
        assert response.status_code == 400, (what, response.status_code, response.text[:200])
        assert error_message(response)
    assert ready.status().json()["routingStatus"] == "ROUTED", "nothing refused ended or closed anything"
    ready.round_trip(ready.streams[-1], "still open")


def test_json_that_only_a_lax_parser_accepts_is_400(ready: EndUser) -> None:
    """RFC 8259 has no NaN or Infinity, and a lone surrogate is not Unicode: stored, either would later be
    written into JSON that strict parsers (JSON.parse, jq) refuse — the stream's, the control API's."""
    message = json.dumps(ready.message_body("lax"))
    create = json.dumps({"conversationId": new_id(), "esDeveloperName": ready.deployment})
    variants = {
        "message, NaN": ("message", message[:-1] + ', "routingAttributes": {"n": NaN}}'),
        "message, Infinity": ("message", message[:-1] + ', "routingAttributes": {"n": Infinity}}'),
        "message, lone surrogate": ("message", message.replace('"lax"', '"a\\ud800b"')),
        "create, -Infinity": ("create", create[:-1] + ', "routingAttributes": {"_firstName": -Infinity}}'),
        "create, NaN": ("create", create[:-1] + ', "routingAttributes": {"_firstName": "Ada", "x": NaN}}'),
    }
    headers = {**ready.bearer(), "Content-Type": "application/json"}
    for what, (where, text) in variants.items():
        path = f"conversation/{ready.conv()}/message" if where == "message" else "conversation"
        response = ready.request("POST", path, headers=headers, data=text.encode())
        assert response.status_code == 400, (what, response.status_code, response.text[:200])
    ready.round_trip(ready.streams[-1], "still fine")
