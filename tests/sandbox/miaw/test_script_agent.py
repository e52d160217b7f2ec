"""A scripted agent (`--agent script:FILE`) driving an Enhanced Chat conversation: the script knows nothing
of the API, yet its greeting, menu (a ChoicesMessage), file request, transfer and end all reach the end user
as the reference's events, and the end user's choice and file reach the script."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.sandbox.miaw.conftest import MakeSandbox, UserOn
from tests.sandbox.miaw.helpers import MESSAGE, ROUTING_RESULT, SESSION_STATUS, Event, is_join, new_id

SCRIPT = """
accept_after = 0
agent_name = "Ava"

[[steps]]
expect = "(?i)hello"
[[steps]]
say = "Hi {name}!"
[[steps]]
menu = ["Billing", "Tech support"]
expect_menu = true
[[steps]]
say = "{choice}, right. Could you send me a screenshot?"
[[steps]]
request_file = true
expect_file = true
[[steps]]
say = "Got {file}"
[[steps]]
transfer = "Tier 2 Agent"
[[steps]]
end = "agent"
"""


def _agent_says(event: Event) -> bool:
    return event.event == MESSAGE and event.role == "Agent"


def test_a_script_holds_a_whole_conversation(make_sandbox: MakeSandbox, user_on: UserOn, tmp_path: Path) -> None:
    script = tmp_path / "bot.toml"
    script.write_text(SCRIPT, encoding="utf-8")
    user = user_on(make_sandbox(agent=f"script:{script}"))
    stream = user.start(routingAttributes={"_firstName": "Ada"})
    join = stream.until(lambda e: is_join(e, user.conv()), what="Ava joining")[-1]
    assert join.payload["entries"][0]["displayName"] == "Ava"
    assert user.send("hello there").status_code == 202
    assert stream.until(_agent_says)[-1].text == "Hi Ada!"
    menu = stream.until(_agent_says, what="the menu")[-1]
    abstract: dict[str, Any] = menu.payload["abstractMessage"]
    assert abstract["messageType"] == "ChoicesMessage"
    options = {o["titleItem"]["title"]: o["optionIdentifier"] for o in abstract["choices"]["optionItems"]}
    assert list(options) == ["Billing", "Tech support"]
    choice = {
        "message": {
            "id": new_id(),
            "messageType": "ChoicesResponseMessage",
            "inReplyToMessageId": abstract["id"],
            "choicesResponse": {
                "formatType": "Selections",
                "selectedOptions": [{"optionIdentifier": options["Tech support"]}],
            },
        },
        "esDeveloperName": user.deployment,
    }
    assert user.request("POST", f"conversation/{user.conv()}/message", json=choice).status_code == 202
    assert stream.until(_agent_says)[-1].text == "Tech support, right. Could you send me a screenshot?"
    file_request = stream.until(_agent_says, what="the file request")[-1]
    assert file_request.text, "Enhanced Chat has no file request: it is a text message"
    assert user.send_file(b"\x89PNG fake", filename="shot.png", content_type="image/png").status_code == 202
    assert stream.until(_agent_says, what="the file acknowledged")[-1].text == "Got shot.png"
    transfer = stream.until(lambda e: e.event == ROUTING_RESULT and e.payload.get("routingType") == "Transfer")
    assert transfer[-1].conversation_id == user.conv()
    ended = stream.wait_for(SESSION_STATUS)
    assert ended.payload["sessionStatus"] == "Ended"
    assert user.send("are you there?").status_code == 417
