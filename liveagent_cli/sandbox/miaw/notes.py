"""What the front door (gateway.py) and Enhanced Chat's handlers tell each other about one request."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class MiawNotes:
    """What the front door (gateway.py) and the handlers tell each other about one request."""

    base_url: str
    chat_id: str | None = None  # the conversation the request named, for the journal and the log
    key: str | None = None  # the bearer token, redacted wherever it would appear in the log
    cut_after: int | None = None  # an `sse-drop` fault: the stream is cut after this many events
    answer_lost: bool = False
