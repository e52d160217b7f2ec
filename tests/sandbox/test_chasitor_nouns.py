"""The visitor's Chasitor POSTs besides chat messages: typing, sneak peek, custom events, idle-timeout
warnings, sensitive-data reports, rich-message menu choices, MultiNoun (reference sections 2-3, 8.7)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sandbox.helpers import Control, Visitor


def _visitor_events(control: Control, chat_id: str) -> list[tuple[str, dict[str, Any]]]:
    return [(e["type"], e["data"]) for e in control.chat(chat_id)["events"] if e["from"] == "visitor"][1:]


@pytest.mark.parametrize(
    ("noun", "body", "recorded"),
    [
        ("ChasitorTyping", {}, {}),
        ("ChasitorNotTyping", None, {}),
        ("ChasitorSneakPeek", {"position": 0, "text": "I am typ"}, {"position": 0, "text": "I am typ"}),
        (
            "CustomEvent",
            {"type": "PromptForCreditCard", "data": "Visa"},
            {"type": "PromptForCreditCard", "data": "Visa"},
        ),
        (
            "ChasitorIdleTimeoutWarningEvent",
            {"idleTimeoutWarningEvent": "triggered"},
            {"idleTimeoutWarningEvent": "triggered"},
        ),
        (
            "SensitiveDataRuleTriggered",
            {"rules": [{"id": "0GP1", "name": "Card"}]},
            {"rules": [{"id": "0GP1", "name": "Card"}]},
        ),
    ],
)
def test_visitor_events_are_accepted_and_recorded_on_the_chat(
    noun: str, body: dict[str, Any] | None, recorded: dict[str, Any], visitor: Visitor, control: Control
) -> None:
    visitor.start_chat()
    response = visitor.post(f"Chasitor/{noun}", body)
    assert (response.status_code, response.text) == (200, "OK")
    assert _visitor_events(control, visitor.info["id"]) == [(noun, recorded)]
    assert control.chat(visitor.info["id"])["lastSequence"] == 2  # each one spends a sequence number


@pytest.mark.parametrize(
    ("noun", "body"),
    [
        ("ChasitorSneakPeek", {"position": 0}),
        ("ChasitorSneakPeek", {"position": "0", "text": "x"}),
        ("CustomEvent", {"data": "Visa"}),
        ("CustomEvent", {"type": "T", "data": 5}),
        ("ChasitorIdleTimeoutWarningEvent", {"idleTimeoutWarningEvent": "maybe"}),
        ("SensitiveDataRuleTriggered", {"rules": "Card"}),
        ("RichMessage", {"actions": []}),
        ("RichMessage", {"actions": [{"type": "ChatWindowMenu", "index": "1"}]}),
        ("ChatMessage", {"text": None}),
    ],
)
def test_malformed_bodies_are_400_and_spend_no_number(noun: str, body: dict[str, Any], visitor: Visitor) -> None:
    visitor.start_chat()
    response = visitor.post(f"Chasitor/{noun}", body)
    assert response.status_code == 400
    assert response.json()["error"]
    assert visitor.send("still 2", sequence=2).status_code == 200


def test_a_menu_choice_names_the_item_the_agent_offered(visitor: Visitor, control: Control) -> None:
    visitor.start_chat()
    chat_id = visitor.info["id"]
    control.agent(chat_id, "menu", items=["Billing", "Tech support"])
    menu = visitor.wait_for("RichMessage")[-1]["message"]
    assert menu == {"type": "ChatWindowMenu", "items": [{"text": "Billing"}, {"text": "Tech support"}]}
    response = visitor.post("Chasitor/RichMessage", {"actions": [{"type": "ChatWindowMenu", "index": 1}]})
    assert response.status_code == 200
    assert _visitor_events(control, chat_id) == [
        ("RichMessage", {"actions": [{"type": "ChatWindowMenu", "index": 1, "text": "Tech support"}]})
    ]


def test_button_menus_and_choices_nobody_offered_are_recorded_too(visitor: Visitor, control: Control) -> None:
    visitor.start_chat()
    chat_id = visitor.info["id"]
    control.agent(chat_id, "menu", items=["Yes", "No"], menuType="ChatWindowButton", header="Sure?")
    assert visitor.wait_for("RichMessage")[-1]["message"] == {
        "type": "ChatWindowButton",
        "items": [{"text": "Yes"}, {"text": "No"}],
        "header": "Sure?",
    }
    actions = [
        {"type": "ChatWindowButton", "index": 0},
        {"type": "ChatWindowFooterMenu", "index": 3, "dialogId": "d-1"},
    ]
    assert visitor.post("Chasitor/RichMessage", {"actions": actions}).status_code == 200
    [(_, data)] = _visitor_events(control, chat_id)
    assert [a["text"] for a in data["actions"]] == ["Yes", None]
    assert data["actions"][1]["dialogId"] == "d-1"


def test_multi_noun_runs_its_nouns_in_order_with_object_or_data(visitor: Visitor, control: Control) -> None:
    visitor.start_chat()
    nouns = [
        {"prefix": "Chasitor", "noun": "ChasitorTyping", "object": {}},
        {"prefix": "Chasitor", "noun": "ChatMessage", "object": {"text": "from object"}},
        {"prefix": "Chasitor", "noun": "ChatMessage", "data": '{"text": "from a data string"}'},
        {"prefix": "Chasitor", "noun": "ChatMessage", "data": {"text": "from a data object"}},
        {"prefix": "Chasitor", "noun": "ChasitorNotTyping"},
    ]
    assert visitor.post("System/MultiNoun", {"nouns": nouns}).status_code == 200
    assert [t for t, _ in _visitor_events(control, visitor.info["id"])] == [
        "ChasitorTyping",
        "ChatMessage",
        "ChatMessage",
        "ChatMessage",
        "ChasitorNotTyping",
    ]
    assert control.chat(visitor.info["id"])["transcript"] == ["from object", "from a data string", "from a data object"]
    echoes: list[str] = []
    while len(echoes) < 3:
        echoes += [m["message"]["text"] for m in visitor.wait_for("ChatMessage") if m["type"] == "ChatMessage"]
    assert echoes == ["from object", "from a data string", "from a data object"]


def test_multi_noun_can_end_the_chat_as_the_guides_example_does(visitor: Visitor, control: Control) -> None:
    visitor.start_chat()
    nouns = [
        {"prefix": "Chasitor", "noun": "ChatMessage", "object": {"text": "Goodbye"}},
        {"prefix": "Chasitor", "noun": "ChatEnd", "object": {}},
        {"prefix": "Chasitor", "noun": "ChatMessage", "object": {"text": "after the end"}},
    ]
    assert visitor.post("System/MultiNoun", {"nouns": nouns}).status_code == 200
    chat = control.chat(visitor.info["id"])
    assert chat["transcript"] == ["Goodbye"]
    assert (chat["endedBy"], chat["endReason"], chat["live"]) == ("visitor", "client", False)


def test_multi_noun_is_checked_whole_before_anything_runs(visitor: Visitor, control: Control) -> None:
    visitor.start_chat()
    for nouns in (
        [
            {"prefix": "Chasitor", "noun": "ChatMessage", "object": {"text": "ok"}},
            {"prefix": "Chasitor", "noun": "ChasitorInit", "object": {}},
        ],
        [
            {"prefix": "Chasitor", "noun": "ChatMessage", "object": {"text": "ok"}},
            {"prefix": "Chasitor", "noun": "ChatMessage", "object": {}},
        ],
        [{"prefix": "System", "noun": "Messages"}],
        "not a list",
        [],
        [{"prefix": "Chasitor", "noun": "ChatMessage", "data": "{not json"}],
    ):
        response = visitor.post("System/MultiNoun", {"nouns": nouns})
        assert response.status_code == 400, nouns
    assert control.chat(visitor.info["id"])["transcript"] == []
    assert (
        "nouns[1]"
        in visitor.post(
            "System/MultiNoun", {"nouns": [{"noun": "ChatMessage", "object": {"text": "ok"}}, {"noun": "Nope"}]}
        ).json()["error"]
    )


def test_multi_noun_before_chat_established_is_500(visitor: Visitor, shared_sandbox: object) -> None:
    visitor.open()
    nouns = [{"prefix": "Chasitor", "noun": "ChatMessage", "object": {"text": "early"}}]
    assert visitor.post("System/MultiNoun", {"nouns": nouns}).status_code == 500
