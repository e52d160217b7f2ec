"""`chat --transcript FILE`: both sides of the conversation, as JSON lines or (for .md) Markdown.

Each entry says who it is `from`: `visitor` (a line the pod took), `agent` (the agent's ChatMessage), `pod` (every
other message the pod sent, described as `poll` shows it) or `liveagent` (the tool's own notes: a line the pod
refused, the end of the chat). The file is opened (and an old one replaced) by the first entry, so a chat that
fails to start leaves an existing transcript as it was. Either API: an Enhanced Chat server's events are `pod`
entries too, except the echo of the visitor's own message (its `visitor` entry stands for it).
"""

from __future__ import annotations

import os
import re
import threading
import time
from pathlib import Path
from typing import IO, Any

from liveagent_cli.core.chat_events import EventKind
from liveagent_cli.core.errors import UsageError
from liveagent_cli.core.output import json_line, printable
from liveagent_cli.core.render import describe_event
from liveagent_cli.flows.verbs import Shown

# ASCII punctuation CommonMark gives a meaning inside a line, and what starts a block at the start of one
_MD_INLINE = re.compile(r"([\\`*_\[\]<>|~&])")
_MD_BLOCK = re.compile(r"^(\s*)([#>+=-]|\d+[.)])", re.MULTILINE)


def markdown_text(text: str) -> str:
    """`text` as literal Markdown inside a list item: its markup escaped, control characters made visible,
    continuation lines indented so they stay in the item."""
    text = _MD_BLOCK.sub(lambda m: m.group(1) + "\\" + m.group(2), _MD_INLINE.sub(r"\\\1", printable(text)))
    return text.replace("\n", "  \n  ")


def check_writable(path: Path) -> None:
    """Refuse a transcript that could not be written, before the chat starts (without touching the file)."""
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise UsageError(f"cannot write transcript {path}: it is a folder")
    if not folder.is_dir():
        raise UsageError(f"cannot write transcript {path}: no folder {folder}")
    target = path if path.exists() else folder
    if not os.access(target, os.W_OK):
        raise UsageError(f"cannot write transcript {path}: permission denied")


class Transcript:
    """Appends one entry per event and flushes it, so the file is useful even if the chat is killed."""

    def __init__(self, path: Path, message_type: str = "ChatMessage") -> None:
        check_writable(path)
        self.path = path
        self.message_type = message_type  # the API's name for a message, on the visitor's entries
        self.markdown = path.suffix.lower() in (".md", ".markdown")
        self._fh: IO[str] | None = None
        self._closed = False
        self._lock = threading.Lock()
        self._held: list[str] | None = None  # entries waiting for a line on its way to the pod

    @property
    def started(self) -> bool:
        """Whether an entry was written (the file opened)."""
        return self._fh is not None

    def visitor(self, text: str) -> None:
        self._entry("visitor", self.message_type, text, {"text": text}, who="You")

    def pod(self, shown: Shown) -> None:
        """What arrived, `raw` being its `--json` line."""
        event, agent = shown.event, shown.agent
        if event.kind is EventKind.MESSAGE:
            self._entry("agent", event.type, event.text, shown.line, who=event.agent or agent)
        elif event.kind is not EventKind.ECHO:
            self._entry("pod", event.type, describe_event(event, agent)[1], shown.line)

    def system(self, text: str, **extra: Any) -> None:
        self._entry("liveagent", "note", text, extra)

    def hold(self) -> None:
        """Keep other threads' entries back while a line is on its way, so the answer is written after it."""
        with self._lock:
            if self._held is None:
                self._held = []

    def release(self, said: str | None, refused: str = "") -> None:
        """The line the pod took (written first), or the reason it refused it; then what was held back."""
        with self._lock:
            held, self._held = self._held or [], None
        if said is not None:
            self.visitor(said)
        elif refused:
            self.system(f"not sent: {refused}")
        for line in held:
            self._write(line)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._fh is not None:
                self._fh.close()

    def _entry(self, side: str, kind: str, text: str, raw: Any, who: str = "") -> None:
        now = time.time()
        if self.markdown:
            stamp = time.strftime("%H:%M:%S", time.localtime(now))
            body = markdown_text(text)
            line = f"- `{stamp}` **{markdown_text(who)}:** {body}\n" if who else f"- `{stamp}` _{body}_\n"
        else:
            line = json_line({"time": round(now, 3), "from": side, "type": kind, "text": text, "raw": raw}) + "\n"
        with self._lock:
            if self._held is not None:
                self._held.append(line)
                return
        self._write(line)

    def _write(self, text: str) -> None:
        with self._lock:
            if self._closed:
                return
            if self._fh is None:
                self._fh = self._open()
            self._fh.write(text)
            self._fh.flush()

    def _open(self) -> IO[str]:
        try:
            fh = self.path.open("w", encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write transcript {self.path}: {exc.strerror}") from None
        if self.markdown:
            fh.write(f"# Chat transcript, {time.strftime('%Y-%m-%d %H:%M:%S %Z')}\n\n")
        return fh
