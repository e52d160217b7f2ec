"""The agent side of one Live Agent chat: the port `model.chat.AgentChat`, for this API's sessions.

Each action checks the chat's state (409 `InvalidState` otherwise) and queues the message a real pod
sends the visitor for it. Agents never touch the pod's bookkeeping directly, so a behaviour is small and
the control API can drive any chat whatever its behaviour. The pod is given this class (it does not import
it), so the dependency runs one way: agentchat -> pod.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

from liveagent_cli.sandbox.defaults import (
    AGENT_NAME,
    AGENT_USER_ID,
    GEO_LOCATION,
    MENU_TYPE_KINDS,
    UPLOAD_PATH,
    user_id_for,
)
from liveagent_cli.sandbox.liveagent.pod import Pod
from liveagent_cli.sandbox.liveagent.session import Session
from liveagent_cli.sandbox.model.agent_port import MENU_KINDS, ChatState
from liveagent_cli.sandbox.model.refusals import BadRequest, InvalidState

RICH_MESSAGE_TYPES = {kind: rich_type for rich_type, kind in MENU_TYPE_KINDS.items()}  # menu kind -> its type
IDLE_TIMEOUT_OFF = {"isEnabled": False, "timeout": 0, "warningTime": 0}


class LiveAgentChat:
    """The agent side of one chat (satisfies `model.chat.AgentChat`)."""

    __slots__ = ("_pod", "_session")

    def __init__(self, pod: Pod, session: Session) -> None:
        self._pod = pod
        self._session = session

    @property
    def id(self) -> str:
        return self._session.id

    @property
    def state(self) -> ChatState:
        return self._session.state

    @property
    def visitor_name(self) -> str:
        return self._session.visitor_name

    @property
    def agent_name(self) -> str:
        return self._session.agent_name or AGENT_NAME

    @property
    def prechat_details(self) -> list[Any]:
        details = (self._session.init or {}).get("prechatDetails", [])
        return list(details) if isinstance(details, list) else []

    def _require(self, action: str, *states: ChatState) -> None:
        session = self._session
        if session.removed or session.state not in states:
            allowed = " or ".join(s.value for s in states)
            state = "gone" if session.removed and session.state is not ChatState.ENDED else session.state.value
            raise InvalidState(f"cannot {action}: chat {self.id} is {state}, not {allowed}", problem=_problem(session))

    def _send(self, type_: str, message: dict[str, Any]) -> None:
        self._pod.deliver(self._session, type_, message)

    def note(self, type_: str, data: dict[str, Any]) -> None:
        """Record something the sandbox did on this chat (a script step failing, for instance)."""
        self._session.record("sandbox", type_, data, self._pod.settings.events_limit)

    # ---- routing ---------------------------------------------------------------------------------------

    def request_success(self, *, estimated_wait_time: int | None = None) -> None:
        """ChatRequestSuccess: routed, not yet accepted; its place in the button's queue, the prechat echoed."""
        self._require("report success", ChatState.QUEUED)
        pod, session = self._pod, self._session
        wait = pod.queues.estimate(session.button_id) if estimated_wait_time is None else estimated_wait_time
        self._send(
            "ChatRequestSuccess",
            {
                "queuePosition": pod.queues.of(session.button_id).position(session),
                "estimatedWaitTime": wait,
                "geoLocation": dict(GEO_LOCATION),
                "url": "",
                "oref": "",
                "postChatUrl": "",
                "customDetails": [d for d in self.prechat_details if isinstance(d, dict)],
                "visitorId": str(uuid.UUID(int=pod.rng.getrandbits(128), version=4)),
                "connectionTimeout": int(pod.settings.connection_timeout * 1000),
                "sensitiveDataRules": [],
            },
        )

    def request_fail(self, reason: str = "Unavailable") -> None:
        """ChatRequestFail ends the chat; the session lives on until the visitor stops polling."""
        self._require("fail the request", ChatState.QUEUED)
        self._send("ChatRequestFail", {"reason": reason, "postChatUrl": ""})
        self._pod.end_chat(self._session, "pod", reason)

    def accept(self, *, name: str | None = None) -> None:
        self._require("accept", ChatState.QUEUED)
        name = name or AGENT_NAME
        user_id = AGENT_USER_ID if name == AGENT_NAME else user_id_for(name)
        self._pod.establish(self._session, name, user_id)
        self._send(
            "ChatEstablished",
            {
                "name": name,
                "userId": user_id,
                "sneakPeekEnabled": True,
                "chasitorIdleTimeout": dict(IDLE_TIMEOUT_OFF),
            },
        )

    # ---- talking ---------------------------------------------------------------------------------------

    def say(self, text: str) -> None:
        self._require("say", ChatState.ESTABLISHED)
        session = self._session
        self._send(
            "ChatMessage", {"name": self.agent_name, "text": text, "agentId": session.agent_user_id or AGENT_USER_ID}
        )

    def typing(self, on: bool = True) -> None:
        self._require("type", ChatState.ESTABLISHED)
        self._send("AgentTyping" if on else "AgentNotTyping", {})

    def event(self, type_: str, data: str) -> None:
        """A CustomEvent from the agent's console to the visitor's page."""
        self._require("send an event", ChatState.ESTABLISHED)
        if not type_:
            raise BadRequest("a custom event needs a type")
        self._send("CustomEvent", {"type": type_, "data": data})

    def menu(self, items: list[str], *, kind: str = "menu", header: str | None = None) -> None:
        """A RichMessage menu (or button row); the visitor answers with Chasitor/RichMessage and an index."""
        self._require("send a menu", ChatState.ESTABLISHED)
        if kind not in MENU_KINDS:
            raise BadRequest(f"menu kind must be one of: {', '.join(MENU_KINDS)}")
        if not items or not all(isinstance(i, str) and i for i in items):
            raise BadRequest("a menu needs at least one item, each a non-empty string")
        rich_type = RICH_MESSAGE_TYPES[kind]
        message: dict[str, Any] = {"type": rich_type, "items": [{"text": i} for i in items]}
        if header is not None:
            message["header"] = header
        self._session.menus[rich_type] = list(items)
        self._send("RichMessage", message)

    # ---- people ----------------------------------------------------------------------------------------

    def transfer(self, name: str) -> None:
        """ChatTransferred: another agent takes over; later messages carry that agent's name and id."""
        self._require("transfer", ChatState.ESTABLISHED)
        if not name:
            raise BadRequest("a transfer needs the new agent's name")
        session = self._session
        session.agent_name, session.agent_user_id = name, user_id_for(name)
        self._send(
            "ChatTransferred",
            {
                "name": name,
                "userId": session.agent_user_id,
                "sneakPeekEnabled": True,
                "chasitorIdleTimeout": dict(IDLE_TIMEOUT_OFF),
            },
        )

    def join(self, name: str) -> None:
        self._require("add an agent to the conference", ChatState.ESTABLISHED)
        if not name:
            raise BadRequest("a conference join needs the agent's name")
        self._session.conference.append(name)
        self._send("AgentJoinedConference", {"name": name})

    def leave(self, name: str) -> None:
        self._require("remove an agent from the conference", ChatState.ESTABLISHED)
        if name not in self._session.conference:
            members = ", ".join(self._session.conference) or "nobody"
            raise InvalidState(
                f"{name!r} is not in the conference of chat {self.id} (in it: {members})", problem="not-in-conference"
            )
        self._session.conference.remove(name)
        self._send("AgentLeftConference", {"name": name})

    # ---- files -----------------------------------------------------------------------------------------

    def request_file(self) -> str:
        """FileTransfer Requested: the visitor may upload one file with the token; returns the token."""
        self._require("request a file", ChatState.ESTABLISHED)
        session = self._session
        token = f"{self._pod.rng.getrandbits(64):016x}"
        session.file_token = token
        base = session.base_url
        self._send(
            "FileTransfer",
            {
                "type": "Requested",
                "uploadServletUrl": base + UPLOAD_PATH,
                "fileToken": token,
                "cdmServletUrl": base + "/_upload/cdm",
            },
        )
        return token

    def cancel_file(self) -> None:
        self._require("cancel a file request", ChatState.ESTABLISHED)
        if self._session.file_token is None:
            raise InvalidState(f"chat {self.id} has no file request to cancel", problem="no-file-request")
        self._session.file_token = None
        self._send("FileTransfer", {"type": "Canceled"})

    # ---- the end ---------------------------------------------------------------------------------------

    def end(self, reason: str = "agent") -> None:
        """The agent ends the chat: ChatEnded is queued; the session answers polls until the visitor stops."""
        self._require("end", ChatState.QUEUED, ChatState.ESTABLISHED)
        self._send("ChatEnded", {"reason": reason})
        self._pod.end_chat(self._session, "agent", reason)

    def later(self, delay: float, callback: Callable[[], None]) -> None:
        """Run `callback` on the pod's loop after `delay` seconds, unless the chat ends first."""
        session = self._session
        if session.state is ChatState.ENDED:
            return
        handle: asyncio.TimerHandle | None = None

        def fire() -> None:
            if handle is not None:
                session.timers.discard(handle)
            if session.state is not ChatState.ENDED:
                callback()

        handle = asyncio.get_running_loop().call_later(max(0.0, delay), fire)
        session.timers.add(handle)


def _problem(session: Session) -> str:
    """Why an action is refused, by the chat's phase (the control API's PROBLEM_HINTS)."""
    if session.removed or session.state is ChatState.ENDED:
        return "chat-ended"
    if session.state is ChatState.NEW:
        return "not-requested"
    return "not-accepted" if session.state is ChatState.QUEUED else "already-accepted"
