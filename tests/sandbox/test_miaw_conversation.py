"""A whole Enhanced Chat conversation against the sandbox, driven with plain `requests` as the issue's
"done when" describes it: token, conversation, stream, the echo agent joining and answering, replay after
Last-Event-Id, the agent ending the session (417, then a new session), and the token's expiry (401, and the
open stream ends)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator

import pytest

from liveagent_cli.sandbox import Sandbox
from tests.sandbox.helpers import wait_until
from tests.sandbox.miaw_support import EndUser, new_id

MakeSandbox = Callable[..., Sandbox]


@pytest.fixture
def users() -> Iterator[Callable[[Sandbox], EndUser]]:
    made: list[EndUser] = []

    def make(sandbox: Sandbox) -> EndUser:
        user = EndUser(sandbox)
        made.append(user)
        return user

    yield make
    for user in made:
        user.close()


def _claims(token: str) -> dict[str, object]:
    part = token.split(".")[1]
    value: dict[str, object] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return value


def test_a_whole_conversation_with_plain_requests(
    make_sandbox: MakeSandbox, users: Callable[[Sandbox], EndUser]
) -> None:
    sandbox = make_sandbox(seed=12, sse_ping=0.2)
    user = users(sandbox)
    answer = user.login()
    claims = _claims(user.token)
    assert claims["sub"] == answer["context"]["endUser"]["subject"]
    assert str(claims["sub"]).startswith("v2/iamessage/UNAUTH/NA/uid:") and claims["orgId"] == user.org

    assert user.create(routingAttributes={"_firstName": "Ada"}).status_code == 201
    stream = user.stream(last_event_id=user.last_event_id)
    assert stream.response.status_code == 200
    assert stream.response.headers["Content-Type"].startswith("text/event-stream")
    routing = stream.until("CONVERSATION_ROUTING_RESULT")
    assert (routing.payload["routingType"], routing.payload["failureType"]) == ("Initial", "None")
    joined = stream.until("CONVERSATION_PARTICIPANT_CHANGED")
    change = joined.payload["entries"][0]
    assert change["operation"] == "add" and change["participant"]["role"] == "Agent"

    message_id = new_id()
    sent = user.send("hello", message_id)
    assert sent.status_code == 202 and sent.json()["conversationEntries"][0]["id"] == message_id
    echo = stream.until("CONVERSATION_MESSAGE", role="EndUser")
    assert echo.payload["abstractMessage"]["id"] == message_id and echo.text == "hello"
    assert echo.envelope["conversationId"] == user.conversation
    assert isinstance(echo.envelope["conversationEntry"]["entryPayload"], str)
    reply = stream.until("CONVERSATION_MESSAGE", role="Agent")
    assert reply.text == "hello" and reply.id is not None
    ping = stream.until("ping")
    assert ping.id is None and ping.data == "0" and ping.lines == ["event:ping", "data:0"]
    stream.close()

    # While no stream is open the conversation goes on; a new stream replays what came after its id.
    assert user.send("while away").status_code == 202
    replayed = user.stream(last_event_id=reply.id)
    first = replayed.next()
    assert first is not None and first.event == "CONVERSATION_MESSAGE" and first.text == "while away"
    assert int(first.id or 0) > int(reply.id)
    assert replayed.until("CONVERSATION_MESSAGE", role="Agent").text == "while away"

    sandbox.agent_action(user.conversation, "end")
    ended = replayed.until("CONVERSATION_SESSION_STATUS_CHANGED")
    assert ended.payload["sessionStatus"] == "Ended" and ended.payload["sessionEndedByRole"] == "Agent"
    refused = user.send("anyone there?")
    assert refused.status_code == 417 and refused.json()["errorCode"] == "EXPECTATION_FAILED"
    assert user.get(f"/conversation/{user.conversation}").json()["routingStatus"] == "NEEDS_ROUTING"

    again = user.send("anyone there?", isNewMessagingSession=True, routingAttributes={}, language="en")
    assert again.status_code == 202
    replayed.until("CONVERSATION_PARTICIPANT_CHANGED")
    assert replayed.until("CONVERSATION_MESSAGE", role="Agent").text == "anyone there?"
    [chat] = [c for c in sandbox.chats() if c["id"] == user.conversation]
    assert chat["api"] == "miaw" and [s["state"] for s in chat["sessions"]] == ["ended", "established"]

    assert user.delete(f"/conversation/{user.conversation}").status_code == 204
    replayed.until("CONVERSATION_CLOSE_CONVERSATION")
    assert 400 <= user.send("after the close").status_code < 500


def test_once_the_token_expires_requests_get_401_and_the_open_stream_ends(
    make_sandbox: MakeSandbox, users: Callable[[Sandbox], EndUser]
) -> None:
    sandbox = make_sandbox(seed=12, token_ttl=1.5, sse_ping=30)
    user = users(sandbox)
    user.login()
    assert user.create().status_code == 201
    stream = user.stream(last_event_id=user.last_event_id)
    read = stream.drain_until_end(timeout=10)
    assert any("Jwt is expired" in e.lines for e in read), [e.lines for e in read][-3:]
    status = user.get(f"/conversation/{user.conversation}")
    assert status.status_code == 401 and status.json()["message"] == "Jwt is expired"
    headers = user.headers(**{"X-Org-Id": user.org, "Last-Event-Id": user.last_event_id})
    again = user.http.get(user.base + "/eventrouter/v1/sse", headers=headers, timeout=10)
    assert again.status_code == 401
    assert again.json()["path"] == "/eventrouter/v1/sse" and again.json()["status"] == 401


def test_a_repeated_message_id_is_processed_once(
    make_sandbox: MakeSandbox, users: Callable[[Sandbox], EndUser]
) -> None:
    sandbox = make_sandbox(seed=12)
    user = users(sandbox)
    user.login()
    user.create()
    stream = user.stream(last_event_id=user.last_event_id)
    stream.until("CONVERSATION_PARTICIPANT_CHANGED")
    message_id = new_id()
    first, second = user.send("once", message_id), user.send("once", message_id)
    assert first.status_code == second.status_code == 202 and first.content == second.content
    assert user.send("after").status_code == 202
    stream.until("CONVERSATION_MESSAGE", role="Agent", text="after")
    texts = [e.text for e in stream.seen if e.event == "CONVERSATION_MESSAGE"]
    assert texts == ["once", "once", "after", "after"]  # each echoed once, each answered once
    wait_until(lambda: len([c for c in sandbox.chats() if c["id"] == user.conversation][0]["transcript"]) == 2)


def test_what_the_end_user_sends_before_the_agent_joins_reaches_the_agent(
    make_sandbox: MakeSandbox, users: Callable[[Sandbox], EndUser]
) -> None:
    sandbox = make_sandbox(seed=12, agent="manual")
    user = users(sandbox)
    user.login()
    user.create()
    stream = user.stream(last_event_id=user.last_event_id)
    assert user.send("first, while queued").status_code == 202
    sandbox.set_agent("echo", accept_after=0)
    sandbox.agent_action(user.conversation, "accept")
    sandbox.agent_action(user.conversation, "say", text="hi, I read you")
    assert stream.until("CONVERSATION_READ_ACKNOWLEDGEMENT").payload["entryType"] == "ReadAcknowledgement"
    assert stream.until("CONVERSATION_MESSAGE", role="Agent").text == "hi, I read you"


def test_a_token_long_expired_is_still_said_to_be_expired(
    make_sandbox: MakeSandbox, users: Callable[[Sandbox], EndUser]
) -> None:
    sandbox = make_sandbox(seed=12, token_ttl=0.5)
    user = users(sandbox)
    user.login()
    wait_until(lambda: user.get("/conversation/list").status_code == 401, what="the token to expire")
    exp = _claims(user.token)["exp"]
    assert isinstance(exp, int)
    wait_until(lambda: time.time() > exp, what="the token's exp to pass")
    sandbox.reset()  # forgets every token it issued, as a sweep forgets the long expired: only its key remembers
    answer = user.get("/conversation/list")
    assert answer.status_code == 401 and answer.json()["message"] == "Jwt is expired"
    forged = user.token[:-4] + ("AAAA" if not user.token.endswith("AAAA") else "BBBB")
    user.token = forged
    assert user.get("/conversation/list").json()["message"].startswith("Invalid JWT")
