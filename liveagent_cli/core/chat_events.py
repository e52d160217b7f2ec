"""What happened in a chat, in words no particular API owns.

An API module reads its own wire messages into `ChatEvent`s (core/messages.py for Live Agent). Everything
that only needs to know *what happened* (the chat's view, the human text in render.py) works on events, so a
second API (Enhanced Chat) adds a sibling reader, not branches here or there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class EventKind(StrEnum):
    REQUESTED = "requested"  # the pod took the chat request and routes it: queue position, wait
    QUEUE = "queue"  # the visitor moved in the queue: position, wait
    ESTABLISHED = "established"  # an agent took the chat, or it was transferred to one: agent, transferred
    MESSAGE = "message"  # the agent wrote: sender, text
    ECHO = "echo"  # the visitor's own message as the server repeated it (Enhanced Chat): text
    TYPING = "typing"  # the agent started or stopped typing: typing
    DISCONNECTED = "disconnected"  # the agent dropped; another may pick the chat up
    CONFERENCE = "conference"  # a second agent joined or left: agent, joined
    TRANSFERRING = "transferring"  # a transfer to another queue started
    MENU = "menu"  # the agent offers choices: menu, menu_header
    FILE_REQUEST = "file-request"  # the agent asked for a file
    FILE_SETTLED = "file-settled"  # the file request was answered or withdrawn: outcome
    CUSTOM = "custom"  # an application event: custom_type, data
    TRANSCRIPT = "transcript"  # the pod's record of the chat so far, after it moved the session
    ENDED = "ended"  # the chat is over: reason
    FAILED = "failed"  # no agent took the chat: reason
    RECEIPT = "receipt"  # the other side received or read one of the visitor's messages: outcome (delivered, read)
    OTHER = "other"  # anything else; shown as it came


@dataclass(frozen=True)
class ChatEvent:
    """One thing that happened; only the fields of its kind are set. `type`/`raw` keep the wire form."""

    kind: EventKind
    type: str  # the API's own name for the message, e.g. "QueueUpdate"
    raw: dict[str, Any] = field(default_factory=dict)  # the message body as it came
    agent: str = ""  # who: the agent who joined, wrote, or left the conference ("" when not named)
    text: str = ""
    queue_position: int | None = None
    estimated_wait: float | None = None  # seconds; None when unknown
    typing: bool = False
    transferred: bool = False
    joined: bool = False
    menu: tuple[str, ...] = ()
    menu_header: str = ""
    outcome: str = ""  # of a file request: Success, Failure, Canceled; of a receipt: delivered, read
    custom_type: str = ""
    data: str = ""
    transcript_entries: int = 0
    reason: str = ""  # why the chat ended or failed ("unknown" when not said)
