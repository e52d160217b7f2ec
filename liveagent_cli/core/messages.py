"""What Live Agent's messages mean (liveagent-api.md §5), in one place.

`interpret` reads one `{type, message}` item of System/Messages into a neutral `ChatEvent` (core/chat_events.py);
`apply_batch` folds a delivered batch into the stored `SessionState`. The poll loop, the recovery rules of
`Channel`, the chat's view and the human text all read messages through here, so none of them repeats what a
message type means. Visitor/Availability's answer is read here too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from liveagent_cli.core.chat_events import ChatEvent, EventKind
from liveagent_cli.core.errors import ApiError
from liveagent_cli.core.state import INT64_MAX, ChatPhase, SessionState


class Delivered(Protocol):
    """A delivered batch of System/Messages (the client's `Batch`; a protocol, so the client may import this
    module to check what it parses)."""

    @property
    def messages(self) -> Sequence[dict[str, Any]]: ...
    @property
    def sequence(self) -> int: ...
    @property
    def offset(self) -> int | None: ...


class MessageType(StrEnum):
    """The message types the tool understands; a StrEnum, so a member equals the wire string."""

    CHAT_REQUEST_SUCCESS = "ChatRequestSuccess"
    CHAT_REQUEST_FAIL = "ChatRequestFail"
    QUEUE_UPDATE = "QueueUpdate"
    CHAT_ESTABLISHED = "ChatEstablished"
    CHAT_TRANSFERRED = "ChatTransferred"
    CHAT_MESSAGE = "ChatMessage"
    AGENT_TYPING = "AgentTyping"
    AGENT_NOT_TYPING = "AgentNotTyping"
    AGENT_DISCONNECT = "AgentDisconnect"
    AGENT_JOINED_CONFERENCE = "AgentJoinedConference"
    AGENT_LEFT_CONFERENCE = "AgentLeftConference"
    TRANSFER_TO_BUTTON_INITIATED = "TransferToButtonInitiated"
    RICH_MESSAGE = "RichMessage"
    FILE_TRANSFER = "FileTransfer"
    CUSTOM_EVENT = "CustomEvent"
    SESSION_DATA = "ChasitorSessionData"  # the pod's transcript, first after ReconnectSession
    CHAT_ENDED = "ChatEnded"


END_TYPES = frozenset({MessageType.CHAT_ENDED, MessageType.CHAT_REQUEST_FAIL})
DEFAULT_MENU_TYPE = "ChatWindowMenu"


def interpret(item: dict[str, Any]) -> ChatEvent:
    """The event one `{type, message}` item stands for; a type this tool does not know is OTHER."""
    kind = item.get("type")
    name = "?" if kind is None else str(kind)
    raw = item.get("message")
    msg: dict[str, Any] = raw if isinstance(raw, dict) else {}
    reader = _READERS.get(name)
    return reader(name, msg) if reader else ChatEvent(EventKind.OTHER, name, msg)


def apply_batch(state: SessionState, batch: Delivered) -> None:
    """Fold one delivered batch into the state: ack, offset, and where the chat stands."""
    state.ack = batch.sequence
    if batch.offset is not None:
        state.offset = batch.offset
    for item in batch.messages:
        apply_event(state, interpret(item))


NOT_THE_API = "the pod's reply is not what Live Agent sends: is --pod the Chat API endpoint? (--verbose shows it)"


def check_counter(name: str, value: Any) -> int:
    """A sequence or offset of the Messages reply: a whole number the state file can hold (0 to 2**63-1)."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= INT64_MAX:
        raise ApiError(
            f"the Messages reply has a {name} of {value!r}, not a whole number from 0 to 2**63-1", hint=NOT_THE_API
        )
    return value


def check_item(item: Any) -> None:
    """Refuse a message whose known type has a shape Live Agent never sends, before anything shows it.

    `interpret` stays lenient (it reads what it can); this is the boundary where a wrong pod is caught: a
    ChatMessage without a string `text` would print as an empty agent line, a RichMessage whose `items` is
    not a list as an empty menu. A type this tool does not know passes: the pod may add types.
    """
    if not isinstance(item, dict) or not isinstance(item.get("type"), str):
        raise ApiError("the Messages reply holds an item without a type", hint=NOT_THE_API)
    kind, msg = item["type"], item.get("message")
    if kind not in _CHECKED_TYPES:
        return
    if not isinstance(msg, dict):
        problem = "whose message is not an object"
    elif kind == MessageType.CHAT_MESSAGE and not isinstance(msg.get("text"), str):
        problem = "without a string text"
    elif kind == MessageType.RICH_MESSAGE and not isinstance(msg.get("items", []), list):
        problem = "whose items are not a list"
    else:
        return
    raise ApiError(f"the Messages reply holds a {kind} {problem}", hint=NOT_THE_API)


def apply_event(state: SessionState, event: ChatEvent) -> None:
    """What one message changes in the stored state (the Live Agent parts come from the raw body)."""
    kind, msg = event.kind, event.raw
    if kind in (EventKind.REQUESTED, EventKind.QUEUE) and state.chat in (ChatPhase.SESSION, ChatPhase.REQUESTED):
        state.chat = ChatPhase.QUEUED
    if kind is EventKind.REQUESTED and isinstance(msg.get("connectionTimeout"), int):
        state.connection_timeout_ms = msg["connectionTimeout"]
    elif kind is EventKind.ESTABLISHED:
        state.chat = ChatPhase.ESTABLISHED
        state.agent_name = event.agent or state.agent_name
    elif kind in (EventKind.ENDED, EventKind.FAILED):
        state.chat = ChatPhase.ENDED
        state.ended_reason = f"{event.type}: {event.reason}"
    elif kind is EventKind.FILE_REQUEST:
        state.upload_url = str(msg.get("uploadServletUrl") or "")
        state.file_token = str(msg.get("fileToken") or "")
    elif kind is EventKind.FILE_SETTLED:  # Success, Failure, Canceled: the request is settled
        state.upload_url = state.file_token = ""
    elif kind is EventKind.TRANSCRIPT:
        state.pod_chasitor_count = count_visitor_entries(msg)
    elif kind is EventKind.MENU:
        state.menu_type = str(msg.get("type") or DEFAULT_MENU_TYPE)
        state.menu_items = list(event.menu)
        state.menu_dialog = str(msg.get("dialogId") or "")


def count_visitor_entries(session_data: Any) -> int:
    """How many of the visitor's messages the pod's transcript (ChasitorSessionData.chatMessages) holds."""
    entries = session_data.get("chatMessages") if isinstance(session_data, dict) else None
    return sum(1 for e in entries or [] if isinstance(e, dict) and e.get("type") == "Chasitor")


def menu_item_text(item: Any) -> str:
    """The label of one RichMessage item, as `poll` shows it and `choose` reports it."""
    if isinstance(item, dict):
        return str(item.get("text") or item.get("label") or item.get("value") or "")
    return str(item)


# -- the readers, one per message type ----------------------------------------------------------------------
def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _reason(msg: dict[str, Any]) -> str:
    return str(msg.get("reason") or "unknown")


def _position(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def wait_seconds(value: Any) -> float | None:
    """An estimatedWaitTime in seconds, or None when the pod gave none (-1 means it could not tell)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def _queued(kind: EventKind) -> Callable[[str, dict[str, Any]], ChatEvent]:
    def read(name: str, msg: dict[str, Any]) -> ChatEvent:
        position = _position(msg.get("queuePosition", msg.get("position")))
        return ChatEvent(
            kind, name, msg, queue_position=position, estimated_wait=wait_seconds(msg.get("estimatedWaitTime"))
        )

    return read


def _established(name: str, msg: dict[str, Any]) -> ChatEvent:
    transferred = name == MessageType.CHAT_TRANSFERRED
    return ChatEvent(EventKind.ESTABLISHED, name, msg, agent=_text(msg.get("name")), transferred=transferred)


def _typing(name: str, msg: dict[str, Any]) -> ChatEvent:
    return ChatEvent(EventKind.TYPING, name, msg, typing=name == MessageType.AGENT_TYPING)


def _conference(name: str, msg: dict[str, Any]) -> ChatEvent:
    joined = name == MessageType.AGENT_JOINED_CONFERENCE
    return ChatEvent(EventKind.CONFERENCE, name, msg, agent=_text(msg.get("name")), joined=joined)


def _rich_message(name: str, msg: dict[str, Any]) -> ChatEvent:
    items = msg.get("items")
    if not isinstance(items, list):
        return ChatEvent(EventKind.OTHER, name, msg)
    menu = tuple(menu_item_text(i) for i in items)
    return ChatEvent(EventKind.MENU, name, msg, menu=menu, menu_header=_text(msg.get("header")))


def _file_transfer(name: str, msg: dict[str, Any]) -> ChatEvent:
    if msg.get("type") == "Requested":
        return ChatEvent(EventKind.FILE_REQUEST, name, msg)
    return ChatEvent(EventKind.FILE_SETTLED, name, msg, outcome=_text(msg.get("type")))


def _session_data(name: str, msg: dict[str, Any]) -> ChatEvent:
    entries = msg.get("chatMessages")
    return ChatEvent(
        EventKind.TRANSCRIPT, name, msg, transcript_entries=len(entries) if isinstance(entries, list) else 0
    )


def _plain(kind: EventKind) -> Callable[[str, dict[str, Any]], ChatEvent]:
    return lambda name, msg: ChatEvent(kind, name, msg)


_CHECKED_TYPES = frozenset({MessageType.CHAT_MESSAGE, MessageType.RICH_MESSAGE})  # shown as they come: checked

_READERS: dict[str, Callable[[str, dict[str, Any]], ChatEvent]] = {
    MessageType.CHAT_REQUEST_SUCCESS: _queued(EventKind.REQUESTED),
    MessageType.QUEUE_UPDATE: _queued(EventKind.QUEUE),
    MessageType.CHAT_ESTABLISHED: _established,
    MessageType.CHAT_TRANSFERRED: _established,
    MessageType.CHAT_MESSAGE: lambda name, msg: ChatEvent(
        EventKind.MESSAGE, name, msg, agent=_text(msg.get("name")), text=_text(msg.get("text"))
    ),
    MessageType.AGENT_TYPING: _typing,
    MessageType.AGENT_NOT_TYPING: _typing,
    MessageType.AGENT_DISCONNECT: _plain(EventKind.DISCONNECTED),
    MessageType.AGENT_JOINED_CONFERENCE: _conference,
    MessageType.AGENT_LEFT_CONFERENCE: _conference,
    MessageType.TRANSFER_TO_BUTTON_INITIATED: _plain(EventKind.TRANSFERRING),
    MessageType.RICH_MESSAGE: _rich_message,
    MessageType.FILE_TRANSFER: _file_transfer,
    MessageType.CUSTOM_EVENT: lambda name, msg: ChatEvent(
        EventKind.CUSTOM, name, msg, custom_type=_text(msg.get("type")), data=_text(msg.get("data"))
    ),
    MessageType.SESSION_DATA: _session_data,
    MessageType.CHAT_ENDED: lambda name, msg: ChatEvent(EventKind.ENDED, name, msg, reason=_reason(msg)),
    MessageType.CHAT_REQUEST_FAIL: lambda name, msg: ChatEvent(EventKind.FAILED, name, msg, reason=_reason(msg)),
}


# -- Visitor/Availability ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ButtonAvailability:
    """One id's line of the answer: a button (573…) or an agent (005…)."""

    id: str
    available: bool
    estimated_wait: float | None  # seconds; None when the pod gave none


@dataclass(frozen=True)
class AvailabilityResult:
    """Visitor/Availability's answer, read once: is an agent online, and how long is the wait."""

    entries: tuple[ButtonAvailability, ...]
    results: list[Any]  # as the pod sent them, for --json

    @classmethod
    def read(cls, results: list[Any]) -> AvailabilityResult:
        entries = tuple(
            ButtonAvailability(
                str(r.get("id") or "?"), r.get("isAvailable") is True, wait_seconds(r.get("estimatedWaitTime"))
            )
            for r in results
            if isinstance(r, dict)
        )
        return cls(entries, results)

    @property
    def available(self) -> bool:
        """An agent is online for at least one of the ids."""
        return any(e.available for e in self.entries)

    @property
    def estimated_wait(self) -> float | None:
        """The first wait the pod gave for an available id."""
        return next((e.estimated_wait for e in self.entries if e.available and e.estimated_wait is not None), None)

    def of(self, id_: str) -> ButtonAvailability | None:
        """The line for `id_`, else the first line (a pod may answer under another spelling of the id)."""
        return next((e for e in self.entries if e.id == id_), self.entries[0] if self.entries else None)
