"""The agent side of one Enhanced Chat messaging session: the port `model.chat.AgentChat`, for this API.

Each handle is bound to one messaging session of a conversation: when that session ends and the end user
starts another (`isNewMessagingSession`), the new session gets a new agent behaviour and a new handle, and
the old one refuses to act (409 `chat-ended`), so a timer of an old behaviour cannot talk into a new session.

What each action puts on the end user's stream (miaw-api.md 3.4, 5):
  request_success  ROUTING_RESULT (routingType Initial, failureType None, the estimated wait)
  request_fail     ROUTING_RESULT (failureType RoutingError), then SESSION_STATUS_CHANGED Ended
  accept           ROUTING_WORK_RESULT Accepted, PARTICIPANT_CHANGED add (role Agent)
  say              READ_ACKNOWLEDGEMENT of what the end user sent so far, then MESSAGE (Text)
  typing           TYPING_STARTED / TYPING_STOPPED_INDICATOR
  menu             MESSAGE (ChoicesMessage: QuickReplies for a menu, Buttons for buttons)
  transfer         ROUTING_RESULT (routingType Transfer), PARTICIPANT_CHANGED remove (old) and add (new)
  join / leave     PARTICIPANT_CHANGED add / remove
  request_file     MESSAGE (Text) asking for a file; cancel_file the same saying it is no longer needed
  end              PARTICIPANT_CHANGED remove, SESSION_STATUS_CHANGED Ended (sessionEndedByRole Agent)
  event            refused: Enhanced Chat has no custom events (400)
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from liveagent_cli.sandbox.defaults import AGENT_NAME, AGENT_USER_ID, user_id_for
from liveagent_cli.sandbox.miaw import entries as wire
from liveagent_cli.sandbox.miaw.conversation import TRANSFER, Conversation, MessagingSession, wall_ms
from liveagent_cli.sandbox.miaw.messaging import SYSTEM, Messaging
from liveagent_cli.sandbox.model.agent_port import MENU_KINDS, ChatState
from liveagent_cli.sandbox.model.refusals import BadRequest, InvalidState

CHOICE_FORMATS = {"menu": "QuickReplies", "buttons": "Buttons"}  # model.chat's menu kinds -> formatType
FILE_REQUEST_TEXT = "Please attach a file to this conversation."
FILE_CANCEL_TEXT = "The file is no longer needed."


class MiawAgentChat:
    """The agent side of one messaging session (satisfies `model.chat.AgentChat`)."""

    __slots__ = ("_messaging", "_conversation", "_session")

    def __init__(self, messaging: Messaging, conversation: Conversation, session: MessagingSession) -> None:
        self._messaging = messaging
        self._conversation = conversation
        self._session = session

    @property
    def id(self) -> str:
        return self._conversation.id

    @property
    def state(self) -> ChatState:
        if self._conversation.closed or self._conversation.latest is not self._session:
            return ChatState.ENDED
        return self._session.state

    @property
    def visitor_name(self) -> str:
        return self._conversation.visitor_name

    @property
    def agent_name(self) -> str:
        return self._session.agent_name or AGENT_NAME

    def _require(self, action: str, *states: ChatState) -> None:
        state = self.state
        if state not in states:
            allowed = " or ".join(s.value for s in states)
            raise InvalidState(
                f"cannot {action}: conversation {self.id} is {state.value}, not {allowed}", problem=_problem(state)
            )

    def _publish(self, entry_type: str, payload: dict[str, Any], sender: wire.Sender | None = None) -> None:
        sender = sender or self._messaging.agent_sender(self._session)
        self._messaging.publish(self._conversation, entry_type, payload, sender)

    def note(self, type_: str, data: dict[str, Any]) -> None:
        self._conversation.note("sandbox", type_, data, self._messaging.settings.events_limit)

    # ---- routing ---------------------------------------------------------------------------------------

    def request_success(self, *, estimated_wait_time: int | None = None) -> None:
        self._require("report routing", ChatState.QUEUED)
        messaging = self._messaging
        wait = estimated_wait_time
        if wait is None:
            wait = messaging.queues.estimate(self._conversation.deployment)
        messaging.routed(self._conversation, self._session, wait if wait >= 0 else None)

    def request_fail(self, reason: str = "Unavailable") -> None:
        self._require("fail the routing", ChatState.QUEUED)
        messaging = self._messaging
        payload = wire.routing_result(
            messaging.uuid(),
            routing_type="Initial",
            failure_type="RoutingError",
            failure_reason=reason,
            record_id=self._session.record_id,
        )
        messaging.publish(self._conversation, "RoutingResult", payload, SYSTEM)
        messaging.end_session(self._conversation, self._session, "pod", reason)

    def accept(self, *, name: str | None = None) -> None:
        self._require("accept", ChatState.QUEUED)
        name = name or AGENT_NAME
        user_id = AGENT_USER_ID if name == AGENT_NAME else user_id_for(name)
        self._messaging.establish(self._conversation, self._session, name, user_id)

    # ---- talking ---------------------------------------------------------------------------------------

    def _message(self, abstract: dict[str, Any]) -> None:
        messaging = self._messaging
        if messaging.settings.agent_receipts:
            messaging.read_all(self._conversation, self._session)
        self._publish("Message", wire.message_payload(abstract))

    def say(self, text: str) -> None:
        self._require("say", ChatState.ESTABLISHED)
        self._message(wire.text_message(self._messaging.uuid(), text))

    def typing(self, on: bool = True) -> None:
        self._require("type", ChatState.ESTABLISHED)
        payload = wire.typing(self._messaging.uuid(), on, wall_ms())
        self._publish(payload["entryType"], payload)

    def event(self, type_: str, data: str) -> None:
        self._require("send an event", ChatState.ESTABLISHED)
        raise BadRequest("Enhanced Chat has no custom events: an agent cannot send one to this conversation")

    def menu(self, items: list[str], *, kind: str = "menu", header: str | None = None) -> None:
        self._require("send a menu", ChatState.ESTABLISHED)
        if kind not in MENU_KINDS:
            raise BadRequest(f"menu kind must be one of: {', '.join(MENU_KINDS)}")
        if not items or not all(isinstance(i, str) and i for i in items):
            raise BadRequest("a menu needs at least one item, each a non-empty string")
        messaging = self._messaging
        options = [(messaging.uuid(), item) for item in items]
        self._session.options.update(options)
        self._message(wire.choices_message(messaging.uuid(), CHOICE_FORMATS[kind], header or "", options))

    # ---- people ----------------------------------------------------------------------------------------

    def transfer(self, name: str) -> None:
        self._require("transfer", ChatState.ESTABLISHED)
        if not name:
            raise BadRequest("a transfer needs the new agent's name")
        messaging, session = self._messaging, self._session
        payload = wire.routing_result(messaging.uuid(), routing_type="Transfer", record_id=session.record_id)
        messaging.publish(self._conversation, "RoutingResult", payload, SYSTEM)
        left = wire.participant_changed(messaging.uuid(), "remove", messaging.agent_sender(session))
        messaging.publish(self._conversation, "ParticipantChanged", left, SYSTEM)
        session.agent_name, session.agent_user_id = name, user_id_for(name)
        joined = wire.participant_changed(messaging.uuid(), "add", messaging.agent_sender(session))
        messaging.publish(self._conversation, "ParticipantChanged", joined, SYSTEM)
        self._conversation.routing_status = TRANSFER

    def join(self, name: str) -> None:
        self._require("add an agent to the conference", ChatState.ESTABLISHED)
        if not name:
            raise BadRequest("a conference join needs the agent's name")
        self._session.conference.append(name)
        member = wire.Sender("Agent", "agent", user_id_for(name), "", name)
        self._publish("ParticipantChanged", wire.participant_changed(self._messaging.uuid(), "add", member), SYSTEM)

    def leave(self, name: str) -> None:
        self._require("remove an agent from the conference", ChatState.ESTABLISHED)
        conference = self._session.conference
        if name not in conference:
            members = ", ".join(conference) or "nobody"
            raise InvalidState(
                f"{name!r} is not in the conference of conversation {self.id} (in it: {members})",
                problem="not-in-conference",
            )
        conference.remove(name)
        member = wire.Sender("Agent", "agent", user_id_for(name), "", name)
        self._publish("ParticipantChanged", wire.participant_changed(self._messaging.uuid(), "remove", member), SYSTEM)

    # ---- files -----------------------------------------------------------------------------------------

    def request_file(self) -> str:
        """Ask for a file (a text message: Enhanced Chat has no file request); any file the end user sends
        next answers it. Returns the asking message's id."""
        self._require("request a file", ChatState.ESTABLISHED)
        message_id = self._messaging.uuid()
        self._session.file_requested = True
        self._message(wire.text_message(message_id, FILE_REQUEST_TEXT))
        return message_id

    def cancel_file(self) -> None:
        self._require("cancel a file request", ChatState.ESTABLISHED)
        if not self._session.file_requested:
            raise InvalidState(f"conversation {self.id} has no file request to cancel", problem="no-file-request")
        self._session.file_requested = False
        self._message(wire.text_message(self._messaging.uuid(), FILE_CANCEL_TEXT))

    # ---- the end, and time -----------------------------------------------------------------------------

    def end(self, reason: str = "agent") -> None:
        """The agent ends the messaging session; the conversation stays open for a new one."""
        self._require("end", ChatState.QUEUED, ChatState.ESTABLISHED)
        self._messaging.end_session(self._conversation, self._session, "agent", reason)

    def later(self, delay: float, callback: Callable[[], None]) -> None:
        session = self._session
        if not session.is_open:
            return
        handle: asyncio.TimerHandle | None = None

        def fire() -> None:
            if handle is not None:
                session.timers.discard(handle)
            if session.is_open and not self._conversation.closed:
                callback()

        handle = asyncio.get_running_loop().call_later(max(0.0, delay), fire)
        session.timers.add(handle)


def _problem(state: ChatState) -> str:
    if state is ChatState.ENDED:
        return "chat-ended"
    if state is ChatState.NEW:
        return "not-requested"
    return "not-accepted" if state is ChatState.QUEUED else "already-accepted"
