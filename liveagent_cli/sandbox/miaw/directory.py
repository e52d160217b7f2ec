"""Enhanced Chat's conversations for the control API (`model.directory.ChatDirectory`).

A conversation is one chat there: its state is its latest messaging session's, agent actions go to that
session, and its view lists every session. No token appears in a view: the subject (who the end user is)
is shown, the JWTs never.
"""

from __future__ import annotations

from typing import Any

from liveagent_cli.sandbox.keys import redact_value
from liveagent_cli.sandbox.miaw.conversation import Conversation, MessagingSession
from liveagent_cli.sandbox.miaw.messaging import Messaging
from liveagent_cli.sandbox.model.agent_port import AgentChat, ChatState
from liveagent_cli.sandbox.model.refusals import NotFound

API = "miaw"


class MiawDirectory:
    def __init__(self, messaging: Messaging) -> None:
        self.messaging = messaging

    @property
    def api(self) -> str:
        return API

    def chat_ids(self) -> list[str]:
        return [c.id for c in self.messaging.all_conversations()]

    def open_chat_ids(self) -> list[str]:
        return [c.id for c in self.messaging.open_chats()]

    def has(self, chat_id: str) -> bool:
        return chat_id in self.messaging.conversations

    def _conversation(self, chat_id: str) -> Conversation:
        conversation = self.messaging.conversations.get(chat_id)
        if conversation is None:
            raise NotFound(f"no chat with id {chat_id}", problem="unknown-chat")
        return conversation

    def agent_chat(self, chat_id: str) -> AgentChat:
        return self.messaging.agent_chat(self._conversation(chat_id))

    @property
    def live_count(self) -> int:
        return sum(1 for t in self.messaging.tokens.values() if not t.expired() and t.revoked is None)

    def view(self, chat_id: str, *, events: bool = True) -> dict[str, Any]:
        return conversation_view(self._conversation(chat_id), events=events)


def _session_view(session: MessagingSession) -> dict[str, Any]:
    return {
        "number": session.number,
        "state": session.state.value,
        "agent": session.agent_kind or None,
        "agentName": session.agent_name or None,
        "startedAt": session.started_ms,
        "endedAt": session.ended_ms,
        "endedBy": session.ended_by,
        "endReason": session.end_reason,
    }


def conversation_view(conversation: Conversation, *, events: bool = True) -> dict[str, Any]:
    latest = conversation.latest
    subject = conversation.subject
    open_stream = subject.open_stream
    view: dict[str, Any] = {
        "api": API,
        "id": conversation.id,
        "state": conversation.state.value,
        "live": not conversation.closed,
        "agent": latest.agent_kind or None if latest else None,
        "agentName": (latest.agent_name or None) if latest and latest.state is not ChatState.QUEUED else None,
        "conference": list(latest.conference) if latest else [],
        "visitorName": conversation.visitor_name,
        "subject": subject.id,
        "verified": subject.verified,
        "organizationId": subject.org15,
        "deploymentName": conversation.deployment,
        "routingStatus": conversation.routing_status,
        "routingAttributes": conversation.routing_attributes,
        "createdAt": conversation.created_ms,
        "closedAt": conversation.closed_ms,
        "endedAt": latest.ended_ms if latest else None,
        "endedBy": latest.ended_by if latest else None,
        "endReason": latest.end_reason if latest else None,
        "sessions": [_session_view(s) for s in conversation.sessions],
        "streamOpen": open_stream is not None,
        "lastEventId": str(subject.last_event_id) if subject.last_event_id else None,
        "entries": len(conversation.entries),
        "acks": conversation.acks,
        "fileRequested": bool(latest and latest.file_requested),
        "files": list(conversation.files),
    }
    if events:
        view["transcript"] = []
        for entry in conversation.entries:
            if entry.entry_type == "Message" and entry.role == "EndUser":
                content = entry.payload["abstractMessage"].get("staticContent") or {}
                if content.get("formatType") == "Text":
                    view["transcript"].append(content.get("text"))
        lines: list[dict[str, Any]] = [
            {"from": note.sender, "type": note.type, "data": note.data, "at": note.at_ms} for note in conversation.notes
        ]
        lines += [
            {
                "from": "server",
                "type": e.event_name,
                "data": e.payload,
                "at": e.transcripted,
                "id": e.identifier,
                "role": e.role,  # the sender's: EndUser, Agent, Chatbot, System, Router
            }
            for e in conversation.entries
        ]
        lines.sort(key=lambda line: line["at"])
        view["events"] = lines
        if conversation.notes_dropped:
            view["eventsDropped"] = conversation.notes_dropped
    shown: dict[str, Any] = redact_value(view)
    return shown
