"""Bodies mutated at random (seeded, so a failure repeats) into every JSON endpoint: the sandbox answers each
with a 2xx or a 4xx, never a 5xx, and keeps serving the conversation."""

from __future__ import annotations

import json
import random
from typing import Any

from tests.sandbox.miaw.conftest import UserOn
from tests.sandbox.miaw.helpers import EndUser, new_id

ODD_VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    2**70,
    1e308,
    -0.0,
    "",
    " ",
    "x" * 10_000,
    "\u0000",
    "\u202e\u200b",
    "😀",
    [],
    [None],
    {},
    {"": ""},
    [[[]]],
    "00000000-0000-0000-0000-000000000000",
    "FFFFFFFF-FFFF-4FFF-BFFF-FFFFFFFFFFFF",
]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, inner in value.items():
            found += _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += _paths(inner, (*prefix, index))
    return found


def _mutate(body: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    copy: dict[str, Any] = json.loads(json.dumps(body))
    path = rng.choice(_paths(copy))
    target: Any = copy
    for step in path[:-1]:
        target = target[step]
    if rng.random() < 0.2 and isinstance(target, dict):
        del target[path[-1]]
    else:
        target[path[-1]] = rng.choice(ODD_VALUES)
    if rng.random() < 0.2:
        copy[rng.choice(["extra", "message", "acks", "entryType", "id"])] = rng.choice(ODD_VALUES)
    return copy


def _refuse(name: str) -> None:
    raise AssertionError(f"{name} is not JSON")


def test_mutated_bodies_never_get_a_5xx(user: EndUser, user_on: UserOn) -> None:
    rng = random.Random(1201)
    stream = user.start_chat()
    conversation = f"conversation/{user.conv()}"
    valid: dict[str, dict[str, Any]] = {
        conversation + "/message": user.message_body("fuzz"),
        conversation + "/entry": {"entryType": "TypingStartedIndicator", "id": new_id()},
        conversation + "/acknowledge-entries": {
            "acks": [{"id": new_id(), "entryType": "Read", "conversationEntryId": new_id()}]
        },
    }
    for path, body in valid.items():
        for _ in range(60):
            mutated = _mutate(body, rng)
            response = user.request("POST", path, json=mutated)
            assert response.status_code < 500, (path, mutated, response.status_code, response.text[:200])
    token_body = user.token_body()
    for _ in range(40):
        mutated = _mutate(token_body, rng)
        response = user.http.post(
            user.base + "/iamessage/api/v2/authorization/unauthenticated/access-token", json=mutated, timeout=15
        )
        assert response.status_code < 500, (mutated, response.status_code, response.text[:200])
    for _ in range(40):
        mutated = _mutate(
            {"conversationId": new_id(), "esDeveloperName": user.deployment, "routingAttributes": {"_firstName": "A"}},
            rng,
        )
        response = user.request("POST", "conversation", json=mutated)
        assert response.status_code < 500, (mutated, response.status_code, response.text[:200])
    # Everything the fuzz put on the stream is strict JSON, up to the session's end.
    assert user.end_session().status_code == 204
    for event in stream.until(lambda e: e.event == "CONVERSATION_SESSION_STATUS_CHANGED", what="the end"):
        if event.event != "ping":
            json.loads(event.data, parse_constant=_refuse)
            json.loads(event.entry["entryPayload"], parse_constant=_refuse)
    other = user_on(user.sandbox)  # the fuzzed conversation may have used up its limits with accepted mutations
    other.round_trip(other.start_chat(), "after the fuzz")
