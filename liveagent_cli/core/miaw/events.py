"""What Enhanced Chat's events mean (miaw-api.md §3.2-§3.4, §4), in one place: the sibling of core/messages.py.

A conversation's events reach the client two ways: on the event stream (`GET /eventrouter/v1/sse`, the data a
JSON envelope whose `conversationEntry.entryPayload` is a JSON string of its own) and, for what a stream
missed, from the conversation's entries listing (the same entries, `entryPayload` an object or a string).
Both become a `ConversationItem` (`from_stream`, `from_entry`), which `interpret` reads into the neutral
`ChatEvent` and `json_line` into the line `poll --json` prints: the contract's `kind`, `type` (the event
name), `id` (the event id) and `message` (the data, its entryPayload decoded), plus `text` and `sender` on
messages. Unknown event and entry types are kept as kind `other` ("your implementation must ignore
unrecognized event types", §1.5): shown, never an error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from liveagent_cli.core.chat_events import ChatEvent, EventKind
from liveagent_cli.core.errors import ApiError
from liveagent_cli.core.miaw.state import MiawState
from liveagent_cli.core.state import ChatPhase

PING = "ping"
# entryType -> the stream's event name (§3.2, §3.4)
EVENT_NAMES: dict[str, str] = {
    "Message": "CONVERSATION_MESSAGE",
    "ParticipantChanged": "CONVERSATION_PARTICIPANT_CHANGED",
    "RoutingResult": "CONVERSATION_ROUTING_RESULT",
    "RoutingWorkResult": "CONVERSATION_ROUTING_WORK_RESULT",
    "DeliveryAcknowledgement": "CONVERSATION_DELIVERY_ACKNOWLEDGEMENT",
    "ReadAcknowledgement": "CONVERSATION_READ_ACKNOWLEDGEMENT",
    "TypingStartedIndicator": "CONVERSATION_TYPING_STARTED_INDICATOR",
    "TypingStoppedIndicator": "CONVERSATION_TYPING_STOPPED_INDICATOR",
    "SessionStatusChanged": "CONVERSATION_SESSION_STATUS_CHANGED",
    "CloseConversation": "CONVERSATION_CLOSE_CONVERSATION",
    "ProgressIndicator": "CONVERSATION_PROGRESS_INDICATOR",
    "StreamingToken": "CONVERSATION_STREAMING_TOKEN",
    "ClientAction": "CONVERSATION_CLIENT_ACTION",
    "ClientMenu": "CONVERSATION_CLIENT_MENU",
}
# the entry types worth recovering from the listing after a stream missed them: what a conversation is made
# of; typing and receipts of the past mean nothing now
RECOVERED_TYPES = ("Message", "ParticipantChanged", "RoutingResult", "SessionStatusChanged", "CloseConversation")
END_USER = "EndUser"
AGENT_ROLES = frozenset({"Agent", "Chatbot", "Supervisor"})
NOT_THE_SERVER = "the event stream's data is not what Enhanced Chat sends: is --pod the Messaging URL? (--verbose)"


@dataclass(frozen=True, slots=True)
class ConversationItem:
    """One event of a conversation: `type` the stream's event name, `id` its event id (None when recovered
    from the entries listing), `message` the data with entryPayload decoded."""

    type: str
    id: str | None
    message: dict[str, Any]
    recovered: bool = False

    @property
    def entry(self) -> dict[str, Any]:
        entry = self.message.get("conversationEntry")
        return entry if isinstance(entry, dict) else {}

    @property
    def payload(self) -> dict[str, Any]:
        payload = self.entry.get("entryPayload")
        return payload if isinstance(payload, dict) else {}

    @property
    def conversation_id(self) -> str:
        value = self.message.get("conversationId")
        return value.lower() if isinstance(value, str) else ""

    @property
    def entry_id(self) -> str:
        """The entry's identifier, the same on the stream and in the listing: what de-duplicates the two."""
        value = self.entry.get("identifier") or self.payload.get("id")
        return value if isinstance(value, str) else ""

    @property
    def timestamp(self) -> int | None:
        """When the server recorded the entry (epoch ms), or None."""
        value = self.entry.get("transcriptedTimestamp")
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @property
    def role(self) -> str:
        sender = self.entry.get("sender")
        role = sender.get("role") if isinstance(sender, dict) else None
        return role if isinstance(role, str) else ""

    @property
    def sender_name(self) -> str:
        name = self.entry.get("senderDisplayName")
        return name if isinstance(name, str) else ""


def from_stream(name: str, data: str, event_id: str | None) -> ConversationItem:
    """A stream event (not a ping) as an item; a CONVERSATION_ event whose data is no JSON object is an
    ApiError, another event type with such data is kept as it came (under `data`)."""
    try:
        body = json.loads(data)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        if name.startswith("CONVERSATION_"):
            raise ApiError(f"the event stream sent a {name} whose data is not a JSON object", hint=NOT_THE_SERVER)
        return ConversationItem(name, event_id, {"data": data})
    entry = body.get("conversationEntry")
    if isinstance(entry, dict):
        body = {**body, "conversationEntry": _decoded(entry)}
    return ConversationItem(name, event_id, body)


def from_entry(conversation_id: str, entry: dict[str, Any]) -> ConversationItem:
    """An entry of `GET …/conversation/{id}/entries` as the stream would have carried it (recovered)."""
    decoded = _decoded(entry)
    entry_type = decoded.get("entryType")
    name = EVENT_NAMES.get(entry_type, f"CONVERSATION_{entry_type}") if isinstance(entry_type, str) else "?"
    return ConversationItem(name, None, {"conversationId": conversation_id, "conversationEntry": decoded}, True)


def _decoded(entry: dict[str, Any]) -> dict[str, Any]:
    """The entry with `entryPayload` parsed when it is a JSON string (§1.5: on the stream it always is)."""
    raw = entry.get("entryPayload")
    if isinstance(raw, str):
        try:
            parsed = json.loads(raw)
        except ValueError:
            return entry
        if isinstance(parsed, dict):
            return {**entry, "entryPayload": parsed}
    return entry


# -- meaning ------------------------------------------------------------------------------------------------
def interpret(item: ConversationItem) -> ChatEvent:
    """The neutral event an item stands for; `raw` is its entryPayload."""
    payload = item.payload
    entry_type = item.entry.get("entryType") or payload.get("entryType")
    reader = _READERS.get(entry_type) if isinstance(entry_type, str) else None
    if reader is None:
        return ChatEvent(EventKind.OTHER, item.type, payload or item.message)
    return reader(item, payload)


def _message(item: ConversationItem, payload: dict[str, Any]) -> ChatEvent:
    abstract = payload.get("abstractMessage")
    message = abstract if isinstance(abstract, dict) else {}
    kind = message.get("messageType")
    if item.role == END_USER:
        return ChatEvent(EventKind.ECHO, item.type, payload, agent=item.sender_name, text=message_text(message))
    if kind == "ChoicesMessage":
        raw_choices = message.get("choices")
        choices = raw_choices if isinstance(raw_choices, dict) else {}
        titles = tuple(option[1] for option in choice_options(message))
        return ChatEvent(
            EventKind.MENU,
            item.type,
            payload,
            agent=item.sender_name,
            menu=titles,
            menu_header=_str(choices.get("text")),
        )
    return ChatEvent(EventKind.MESSAGE, item.type, payload, agent=item.sender_name, text=message_text(message))


def message_text(message: dict[str, Any]) -> str:
    """What a message says, in a line: its text, else what it carries (attachments, a link, a form, a choice)."""
    for key in ("staticContent", "choices", "choicesResponse", "form", "formResponse"):
        content = message.get(key)
        if not isinstance(content, dict):
            continue
        text = content.get("text")
        if isinstance(text, str) and text:
            return text
        attachments = content.get("attachments")
        if isinstance(attachments, list) and attachments:
            names = [_str(a.get("name")) or "file" for a in attachments if isinstance(a, dict)]
            return "[attachment: " + ", ".join(names) + "]"
        for name in ("title", "linkItem", "formTitle"):
            value = content.get(name)
            if isinstance(value, dict):
                inner = value.get("titleItem")
                value = value.get("title") or (inner.get("title") if isinstance(inner, dict) else None)
            if isinstance(value, str) and value:
                return value
        selected = content.get("selectedOptions")
        if isinstance(selected, list) and selected:
            picked = [_str(o.get("optionTitle") or o.get("optionIdentifier")) for o in selected if isinstance(o, dict)]
            return ", ".join(p for p in picked if p)
        return f"[{_str(content.get('formatType')) or key}]"
    return ""


def choice_options(message: dict[str, Any]) -> list[tuple[str, str]]:
    """(optionIdentifier, title) of each option of a ChoicesMessage (§4 Buttons / QuickReplies)."""
    choices = message.get("choices")
    items = choices.get("optionItems") if isinstance(choices, dict) else None
    options = []
    for option in items if isinstance(items, list) else []:
        if not isinstance(option, dict):
            continue
        title_item = option.get("titleItem")
        title = title_item.get("title") if isinstance(title_item, dict) else None
        identifier = option.get("optionIdentifier") or option.get("optionId")
        if isinstance(identifier, str) and identifier:
            options.append((identifier, title if isinstance(title, str) else identifier))
    return options


def _participants(item: ConversationItem, payload: dict[str, Any]) -> ChatEvent:
    changes = payload.get("entries")
    added: list[str] = []
    removed: list[str] = []
    for change in changes if isinstance(changes, list) else []:
        if not isinstance(change, dict):
            continue
        participant = change.get("participant")
        role = participant.get("role") if isinstance(participant, dict) else None
        if role not in AGENT_ROLES:
            continue  # the router, the end user (§3.4: changes of others than the end user)
        name = _str(change.get("displayName"))
        (added if change.get("operation") == "add" else removed).append(name)
    if added:
        return ChatEvent(EventKind.ESTABLISHED, item.type, payload, agent=added[-1], transferred=bool(removed))
    if removed:
        return ChatEvent(EventKind.DISCONNECTED, item.type, payload, agent=removed[-1])
    return ChatEvent(EventKind.OTHER, item.type, payload)


def _routing(item: ConversationItem, payload: dict[str, Any]) -> ChatEvent:
    failure = payload.get("failureType")
    if failure not in (None, "", "None"):
        messages = payload.get("errorMessages")
        said = [m for m in messages if isinstance(m, str) and m] if isinstance(messages, list) else []
        reason = _str(payload.get("failureReason")) or "; ".join(said) or _str(failure)
        return ChatEvent(EventKind.FAILED, item.type, payload, reason=reason)
    if payload.get("routingType") == "Transfer":
        return ChatEvent(EventKind.TRANSFERRING, item.type, payload)
    wait = payload.get("estimatedWaitTime")
    seconds = wait.get("estimatedWaitTimeInSeconds") if isinstance(wait, dict) else None
    estimate = float(seconds) if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) else -1.0
    return ChatEvent(EventKind.REQUESTED, item.type, payload, estimated_wait=estimate if estimate >= 0 else None)


def _typing(item: ConversationItem, payload: dict[str, Any]) -> ChatEvent:
    if item.role == END_USER:  # our own indicator, echoed
        return ChatEvent(EventKind.OTHER, item.type, payload)
    started = payload.get("entryType", item.entry.get("entryType")) == "TypingStartedIndicator"
    return ChatEvent(EventKind.TYPING, item.type, payload, agent=item.sender_name, typing=started)


def _session_status(item: ConversationItem, payload: dict[str, Any]) -> ChatEvent:
    if payload.get("sessionStatus") != "Ended":
        return ChatEvent(EventKind.OTHER, item.type, payload)
    by = _str(payload.get("sessionEndedByRole"))
    return ChatEvent(EventKind.ENDED, item.type, payload, reason=f"session ended by {by}" if by else "session ended")


def _closed(item: ConversationItem, payload: dict[str, Any]) -> ChatEvent:
    return ChatEvent(EventKind.ENDED, item.type, payload, reason="conversation closed")


def _receipt(item: ConversationItem, payload: dict[str, Any]) -> ChatEvent:
    read = payload.get("entryType", item.entry.get("entryType")) == "ReadAcknowledgement"
    return ChatEvent(EventKind.RECEIPT, item.type, payload, outcome="read" if read else "delivered")


def _routing_work(item: ConversationItem, payload: dict[str, Any]) -> ChatEvent:
    work = _str(payload.get("workType"))
    return ChatEvent(EventKind.OTHER, item.type, payload, text=f"routing: {work.lower()}" if work else "")


def _other(item: ConversationItem, payload: dict[str, Any]) -> ChatEvent:
    return ChatEvent(EventKind.OTHER, item.type, payload)


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


_READERS = {
    "Message": _message,
    "ParticipantChanged": _participants,
    "RoutingResult": _routing,
    "TypingStartedIndicator": _typing,
    "TypingStoppedIndicator": _typing,
    "SessionStatusChanged": _session_status,
    "CloseConversation": _closed,
    "RoutingWorkResult": _routing_work,
    "DeliveryAcknowledgement": _receipt,
    "ReadAcknowledgement": _receipt,
}


def json_line(item: ConversationItem, event: ChatEvent) -> dict[str, Any]:
    """The line `poll --json` prints for an item: `kind`, `type`, `id`, `message`, and for what someone said
    `text`, `sender` (the display name) and `role`; a menu adds its `options`; a recovered item says so."""
    line: dict[str, Any] = {"kind": str(event.kind), "type": item.type, "id": item.id, "message": item.message}
    if event.kind in (EventKind.MESSAGE, EventKind.ECHO, EventKind.MENU):
        line["text"] = event.text if event.kind is not EventKind.MENU else event.menu_header
        line["sender"] = event.agent
        line["role"] = item.role
    if event.kind is EventKind.MENU:
        line["options"] = list(event.menu)
    if item.recovered:
        line["recovered"] = True
    return line


# -- what an event changes in the stored session -------------------------------------------------------------
def apply_event(state: MiawState, item: ConversationItem, event: ChatEvent) -> bool:
    """Fold one printed item into the state: where the messaging session stands, the agent, the last menu,
    and the stream position (the event id, the entry id and time), so a resume neither loses nor repeats it.

    Returns whether the item ends the current messaging session (or says it could not be routed). A session
    end printed after the end user already started the next session (a `send` after the agent ended) is
    history: each session ends once, so with fewer ends seen than sessions started, it is an older one's.
    """
    if item.id is not None:
        state.last_event_id = item.id
    state.remember_entry(item.entry_id, item.timestamp)
    kind = event.kind
    if kind in (EventKind.ENDED, EventKind.FAILED):
        closed = item.entry.get("entryType") == "CloseConversation"
        history = not closed and state.sessions_ended_seen + 1 < state.sessions_started
        if kind is EventKind.ENDED and not closed:
            state.sessions_ended_seen += 1
        if closed:
            state.conversation_closed = True
        if history:
            return False
        state.chat = ChatPhase.ENDED
        state.ended_reason = event.reason
        return True
    if kind is EventKind.REQUESTED and state.chat in (ChatPhase.SESSION, ChatPhase.REQUESTED):
        state.chat = ChatPhase.QUEUED
    elif kind is EventKind.ESTABLISHED and state.chat != ChatPhase.ENDED:
        state.chat = ChatPhase.ESTABLISHED
        state.agent_name = event.agent or state.agent_name
    elif kind is EventKind.MENU:
        abstract = event.raw.get("abstractMessage")
        message = abstract if isinstance(abstract, dict) else {}
        options = choice_options(message)
        state.menu_message_id = _str(message.get("id")) or item.entry_id
        state.menu_options = [identifier for identifier, _ in options]
        state.menu_items = [title for _, title in options]
    return False
