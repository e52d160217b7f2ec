"""The control API under /_sandbox/: readiness, inspection, reset and the simulated agent."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from liveagent_cli.sandbox import BUTTON_ID, DEPLOYMENT_ID, ORG_ID, Sandbox
from tests.sandbox.helpers import Control, Visitor

VisitorOn = Callable[[Sandbox], Visitor]
ControlOn = Callable[[Sandbox], Control]


def test_health_reports_ready_with_settings_and_ids(shared_sandbox: Sandbox, control: Control) -> None:
    response = control.get("health")
    assert response.status_code == 200
    health = response.json()
    assert health["status"] == "ok"
    assert health["podUrl"] == shared_sandbox.pod_url
    assert health["agent"] == "echo" and health["pollHold"] == 2
    assert health["ids"] == {"organizationId": ORG_ID, "deploymentId": DEPLOYMENT_ID, "buttonId": BUTTON_ID}


def test_chats_list_the_visitor_transcript_in_order_without_keys(visitor: Visitor, control: Control) -> None:
    visitor.open()
    key = visitor.info["key"]
    # The seed article's client sends the session key as ChasitorInit's sessionId: it must not leak back.
    visitor.init(visitorName="Grace", sessionId=key, prechatDetails=[{"label": "Key", "value": key}])
    visitor.wait_for("ChatEstablished")
    for text in ("first", "second ✓"):
        visitor.send(text)
        visitor.wait_for("ChatMessage")
    response = control.get("chats")
    assert response.status_code == 200
    assert key not in response.text
    assert key.split("!")[-1] not in response.text
    chat = next(c for c in response.json()["chats"] if c["id"] == visitor.info["id"])
    assert chat["state"] == "established" and chat["visitorName"] == "Grace"
    assert chat["transcript"] == ["first", "second ✓"]
    sent = [(e["type"], e["data"].get("text")) for e in chat["events"] if e["from"] == "visitor"]
    assert sent == [("ChasitorInit", None), ("ChatMessage", "first"), ("ChatMessage", "second ✓")]
    assert chat["events"][0]["data"]["sessionId"] == "<redacted>"
    pod_side = [e["type"] for e in chat["events"] if e["from"] == "pod"]
    assert pod_side == ["ChatRequestSuccess", "ChatEstablished", "ChatMessage", "ChatMessage"]


def test_reset_forgets_everything(
    make_sandbox: Callable[..., Sandbox], visitor_on: VisitorOn, control_on: ControlOn
) -> None:
    sandbox = make_sandbox()
    visitor, control = visitor_on(sandbox), control_on(sandbox)
    visitor.start_chat()
    response = control.post("reset")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "ended": 1}
    assert control.get("chats").json() == {"chats": []}
    assert visitor.poll().status_code == 403
    assert control.get("health").json()["sessions"] == 0


def test_agent_say_reaches_the_visitor(visitor: Visitor, control: Control) -> None:
    visitor.start_chat()
    response = control.agent(visitor.info["id"], "say", text="Hello from the agent ✓")
    assert response.status_code == 200
    assert response.json()["chat"]["id"] == visitor.info["id"]
    assert "key" not in response.text.lower().replace("visitorname", "")
    message = visitor.wait_for("ChatMessage")[-1]["message"]
    assert message["text"] == "Hello from the agent ✓"


def test_agent_typing_and_not_typing(visitor: Visitor, control: Control) -> None:
    visitor.start_chat()
    assert control.agent(visitor.info["id"], "typing").status_code == 200
    assert control.agent(visitor.info["id"], "not-typing").status_code == 200
    seen = visitor.wait_for("AgentNotTyping")
    assert [m["type"] for m in seen] == ["AgentTyping", "AgentNotTyping"]
    assert seen[0]["message"] == {}


def test_agent_end_queues_chat_ended(visitor: Visitor, control: Control) -> None:
    visitor.start_chat()
    assert control.agent(visitor.info["id"], "end").status_code == 200
    assert visitor.wait_for("ChatEnded")[-1]["message"] == {"reason": "agent"}
    assert control.chat(visitor.info["id"])["state"] == "ended"
    again = control.agent(visitor.info["id"], "end")
    assert again.status_code == 409


def test_only_means_the_single_open_chat(
    make_sandbox: Callable[..., Sandbox], visitor_on: VisitorOn, control_on: ControlOn
) -> None:
    sandbox = make_sandbox(agent="manual")
    control = control_on(sandbox)
    none = control.agent("_only", "accept")
    assert none.status_code == 409 and "no open chat" in none.json()["error"]
    first, second = visitor_on(sandbox), visitor_on(sandbox)
    first.open()
    first.init()
    assert control.agent("_only", "accept").status_code == 200
    second.open()
    second.init()
    several = control.agent("_only", "say", text="which one?")
    assert several.status_code == 409
    assert first.info["id"] in several.json()["error"] and second.info["id"] in several.json()["error"]


def test_agent_errors_are_clear(
    make_sandbox: Callable[..., Sandbox], visitor_on: VisitorOn, control_on: ControlOn
) -> None:
    sandbox = make_sandbox(agent="manual")
    visitor, control = visitor_on(sandbox), control_on(sandbox)
    visitor.open()
    visitor.init()
    chat_id = visitor.info["id"]
    assert control.agent("no-such-chat", "accept").status_code == 404
    assert control.agent(chat_id, "dance").status_code == 400
    assert control.post(f"chats/{chat_id}/agent", None).status_code == 400
    assert control.agent(chat_id, "say").status_code == 400  # no text
    early = control.agent(chat_id, "say", text="too early")
    assert early.status_code == 409 and "queued" in early.json()["error"]
    assert control.get(f"chats/{chat_id}/agent").status_code == 405
    assert control.get("nothing-here").status_code == 404


def test_request_journal_records_the_wire_without_keys(
    make_sandbox: Callable[..., Sandbox], visitor_on: VisitorOn, control_on: ControlOn
) -> None:
    sandbox = make_sandbox()
    visitor, control = visitor_on(sandbox), control_on(sandbox)
    visitor.start_chat()
    visitor.send("hi")
    control.get("health")  # control requests are not journalled
    response = control.get("requests")
    assert response.status_code == 200
    assert visitor.info["key"] not in response.text
    journal = response.json()["requests"]
    assert journal == sandbox.requests()
    assert journal[0]["path"] == "/chat/rest/System/SessionId" and journal[0]["status"] == 200
    assert journal[0]["headers"]["x-liveagent-affinity"] == "null"
    posts = [r for r in journal if r["method"] == "POST"]
    assert [r["path"].rsplit("/", 1)[-1] for r in posts] == ["ChasitorInit", "ChatMessage"]
    assert [r["headers"]["x-liveagent-sequence"] for r in posts] == ["1", "2"]
    assert posts[0]["headers"]["x-liveagent-session-key"] == "<redacted>"
    polls = [r for r in journal if r["path"].endswith("/System/Messages")]
    assert polls[0]["query"] == {"ack": "-1"}
    visitor.http.delete(visitor.base + f"System/SessionId/{visitor.info['key']}", headers=visitor.headers())
    assert sandbox.requests()[-1]["path"] == "/chat/rest/System/SessionId/<redacted>"
    control.post("reset")
    assert sandbox.requests() == []


def test_settings_switch_the_agent_for_new_chats(
    make_sandbox: Callable[..., Sandbox], visitor_on: VisitorOn, control_on: ControlOn
) -> None:
    sandbox = make_sandbox()
    control = control_on(sandbox)
    assert control.post("settings", {"agent": "nobody"}).status_code == 400
    assert control.post("settings", {"acceptAfter": -1}).status_code == 400
    response = control.post("settings", {"agent": "busy"})
    assert response.json() == {"status": "ok", "agent": "busy", "acceptAfter": 0.05}
    assert control.get("health").json()["agent"] == "busy"
    visitor = visitor_on(sandbox)
    visitor.open()
    visitor.init()
    assert visitor.wait_for("ChatRequestFail")[-1]["message"]["reason"] == "Unavailable"


def test_in_process_api_mirrors_the_control_api(make_sandbox: Callable[..., Sandbox], visitor_on: VisitorOn) -> None:
    sandbox = make_sandbox(agent="manual")
    visitor = visitor_on(sandbox)
    visitor.open()
    visitor.init()
    [chat] = sandbox.chats()
    assert chat["id"] == visitor.info["id"] and chat["state"] == "queued"
    assert chat["affinityToken"] == visitor.info["affinityToken"]
    assert sandbox.agent_action(chat["id"], "accept")["state"] == "established"
    visitor.wait_for("ChatEstablished")
    sandbox.agent_action("_only", "say", text="hello")
    assert visitor.wait_for("ChatMessage")[-1]["message"]["text"] == "hello"
    with pytest.raises(Exception, match="cannot accept") as caught:
        sandbox.agent_action(chat["id"], "accept")
    assert getattr(caught.value, "status", None) == 409
    with pytest.raises(ValueError, match="unknown agent"):
        sandbox.set_agent("nobody")
    sandbox.set_agent("busy")
    assert sandbox.reset() == 1
    assert sandbox.chats() == []
