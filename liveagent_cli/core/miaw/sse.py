"""Server-Sent Events, parsed incrementally by the rules of the HTML standard ("Interpreting an event stream").

Bytes go in as they arrive (`feed`), whole events come out. The rules kept here:
- UTF-8, a leading BOM dropped once; lines end in CRLF, LF or CR, even when a CRLF is split across two reads;
- `field:value` or `field: value` (one space after the colon is dropped); a line without a colon is a field
  with an empty value; a line starting with `:` is a comment (servers send them to keep a connection alive);
- `data` lines accumulate, joined by newlines; `event` names the type (default `message`); `id` sets the last
  event id unless it holds a NUL; `retry` sets the reconnection time when it is all ASCII digits;
- a blank line dispatches the event, unless no data came: then only the type is reset. The last event id
  persists across events (the spec's "last event ID buffer"), so an event without an `id:` line, a ping say,
  carries the previous one; `SseEvent.id` is only the id the event's own lines set;
- what is left when the stream ends without a blank line is discarded.

Memory is bounded: a line or an event larger than the limits is refused (`SseTooLarge`) rather than buffered.
A line that names no field the spec knows (Enhanced Chat writes a bare `Jwt is expired` when the token
expires, miaw-api.md §3.5) is ignored as the spec says, but the last one is kept in `stray` for the caller.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

MAX_LINE = 1024 * 1024  # characters in one line
MAX_EVENT = 4 * 1024 * 1024  # characters of data in one event
STRAY_KEPT = 200  # characters of an unknown line kept for the caller


class SseTooLarge(ValueError):
    """A line or an event over the parser's limits: the stream is not one this client will buffer."""


@dataclass(frozen=True, slots=True)
class SseEvent:
    """One dispatched event: its type, its data, the id its own lines set (None when none) and the last event
    id in force after it (the spec's buffer: what a reconnect sends as Last-Event-Id)."""

    event: str
    data: str
    id: str | None
    last_event_id: str
    retry: int | None = None  # milliseconds, when this event's lines set it


class SseParser:
    """Feed it bytes; it returns the events they complete. One parser per connection, or per resumed stream:
    `last_event_id` may be given to start from the id a previous connection reached."""

    def __init__(self, last_event_id: str = "", *, max_line: int = MAX_LINE, max_event: int = MAX_EVENT) -> None:
        self.last_event_id = last_event_id
        self.retry: int | None = None
        self.stray: str | None = None
        self.comments = 0
        self._max_line, self._max_event = max_line, max_event
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._started = False
        self._after_cr = False
        self._line: list[str] = []
        self._line_size = 0
        self._reset_event()

    def _reset_event(self) -> None:
        self._type = ""
        self._data: list[str] = []
        self._data_size = 0
        self._own_id: str | None = None
        self._own_retry: int | None = None

    def feed(self, chunk: bytes) -> list[SseEvent]:
        """The events `chunk` completes, in order."""
        text = self._decoder.decode(chunk)
        if not self._started and text:
            self._started = True
            text = text.removeprefix("\ufeff")
        return self._take(text)

    def close(self) -> list[SseEvent]:
        """The stream ended: a line still open counts as ended, an event without its blank line is discarded."""
        events = self._take(self._decoder.decode(b"", final=True))
        if self._line:
            self._end_line()
        self._reset_event()
        return events

    def _take(self, text: str) -> list[SseEvent]:
        events: list[SseEvent] = []
        start, size = 0, len(text)
        if self._after_cr and text:
            self._after_cr = False
            if text[0] == "\n":  # the LF of a CRLF split across two reads
                start = 1
        while start < size:
            cut = _next_break(text, start)
            if cut < 0:
                self._add(text[start:])
                break
            self._add(text[start:cut])
            if text[cut] == "\r":
                if cut + 1 < size:
                    if text[cut + 1] == "\n":
                        cut += 1
                else:
                    self._after_cr = True
            event = self._end_line()
            if event is not None:
                events.append(event)
            start = cut + 1
        return events

    def _add(self, piece: str) -> None:
        if not piece:
            return
        self._line_size += len(piece)
        if self._line_size > self._max_line:
            raise SseTooLarge(f"an event-stream line is longer than {self._max_line} characters")
        self._line.append(piece)

    def _end_line(self) -> SseEvent | None:
        line = "".join(self._line)
        self._line.clear()
        self._line_size = 0
        if not line:
            return self._dispatch()
        if line[0] == ":":
            self.comments += 1
            return None
        name, colon, value = line.partition(":")
        if colon and value[:1] == " ":
            value = value[1:]
        if name == "data":
            self._data_size += len(value) + 1
            if self._data_size > self._max_event:
                raise SseTooLarge(f"an event's data is larger than {self._max_event} characters")
            self._data.append(value)
        elif name == "event":
            self._type = value
        elif name == "id":
            if "\0" not in value:
                self.last_event_id = value
                self._own_id = value
        elif name == "retry":
            if value and value.isascii() and value.isdigit():
                self.retry = self._own_retry = int(value)
        else:
            self.stray = line[:STRAY_KEPT]
        return None

    def _dispatch(self) -> SseEvent | None:
        if not self._data:
            self._reset_event()
            return None
        event = SseEvent(
            self._type or "message", "\n".join(self._data), self._own_id, self.last_event_id, self._own_retry
        )
        self._reset_event()
        return event


def _next_break(text: str, start: int) -> int:
    """The index of the next CR or LF at or after `start`, or -1."""
    lf, cr = text.find("\n", start), text.find("\r", start)
    if lf < 0:
        return cr
    if cr < 0:
        return lf
    return min(lf, cr)
