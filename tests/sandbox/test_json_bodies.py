"""JSON bodies whose strings are not valid Unicode (a lone surrogate escape, `"\\ud800"`) are refused with 400
by every API that reads JSON, and never stored: the control API keeps answering afterwards (QA2-01)."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.sandbox.helpers import Control, Visitor, fresh_button

LONE = "\ud800"  # requests' json= writes it as the escape \ud800, as the report's curl did


def _raw(visitor: Visitor, path: str, body: bytes) -> requests.Response:
    headers = visitor.headers(**{"X-LIVEAGENT-SEQUENCE": str(visitor.sequence + 1), "Content-Type": "application/json"})
    return visitor.http.post(visitor.base + path, data=body, headers=headers, timeout=15)


def test_a_lone_surrogate_in_a_breadcrumb_is_400_and_the_breadcrumbs_stay_readable(
    visitor: Visitor, control: Control
) -> None:
    response = visitor.post("Visitor/Breadcrumb", {"location": LONE}, headers={"X-LIVEAGENT-API-VERSION": "42"})
    assert response.status_code == 400 and "surrogate" in response.json()["error"]
    assert control.get("breadcrumbs").status_code == 200


@pytest.mark.parametrize(
    "fields",
    [{"visitorName": LONE}, {"prechatDetails": [{"label": LONE, "value": "x", "transcriptFields": []}]}],
)
def test_a_lone_surrogate_in_chasitor_init_is_400_and_no_chat_is_stored(
    fields: dict[str, Any], visitor: Visitor, control: Control
) -> None:
    visitor.open()
    response = visitor.init(**fields)
    assert response.status_code == 400
    chat = control.chat(visitor.info["id"])
    assert chat["state"] == "new" and chat["lastSequence"] == 0, "nothing was stored, no number spent"
    assert control.get("chats").status_code == 200


def test_a_lone_surrogate_in_a_chat_message_is_400_and_spends_no_number(visitor: Visitor, control: Control) -> None:
    visitor.start_chat()
    assert visitor.send(LONE).status_code == 400
    nouns = [{"prefix": "Chasitor", "noun": "ChatMessage", "data": '{"text": "\\ud800"}'}]
    assert visitor.post("System/MultiNoun", {"nouns": nouns}).status_code == 400
    assert visitor.send("still 2", sequence=2).status_code == 200
    assert control.chat(visitor.info["id"])["transcript"] == ["still 2"]


def test_a_surrogate_pair_is_one_character_and_is_accepted(visitor: Visitor, control: Control) -> None:
    visitor.start_chat()
    assert _raw(visitor, "Chasitor/ChatMessage", b'{"text": "\\ud83d\\ude00 and \\\\ud800"}').status_code == 200
    assert control.chat(visitor.info["id"])["transcript"] == ["\U0001f600 and \\ud800"]


def test_a_lone_surrogate_sent_to_the_control_api_is_400(visitor: Visitor, control: Control) -> None:
    visitor.start_chat()
    response = control.agent(visitor.info["id"], "say", text=LONE)
    assert response.status_code == 400 and "surrogate" in response.json()["error"]
    assert control.post("settings", {"agent": LONE}).status_code == 400
    assert control.chat(visitor.info["id"])["state"] == "established"


def test_a_body_that_is_not_utf8_is_400(visitor: Visitor) -> None:
    visitor.open()
    visitor.button_id = fresh_button()
    response = _raw(visitor, "Chasitor/ChasitorInit", b'{"visitorName": "\xff"}')
    assert response.status_code == 400 and "not UTF-8" in response.json()["error"]


def test_nan_and_infinity_are_not_json_and_are_400(visitor: Visitor, control: Control) -> None:
    visitor.open()
    for constant in ("NaN", "Infinity", "-Infinity"):
        body = '{"prechatDetails": [], "visitorName": "x", "buttonId": "b", "n": ' + constant + "}"
        response = visitor.post("Chasitor/ChasitorInit", data=body.encode(), sequence=1)
        assert response.status_code == 400, (constant, response.status_code)
    assert control.chat(visitor.info["id"])["state"] == "new", "nothing was stored"
