"""`chat --transcript FILE`: both sides of the conversation, as JSON lines or (for .md) Markdown."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import IO, Any

from liveagent_cli.core.errors import UsageError
from liveagent_cli.core.events import EventKind
from liveagent_cli.core.messages import interpret
from liveagent_cli.core.render import describe_event


class Transcript:
    """Appends one entry per event and flushes it, so the file is useful even if the chat is killed."""

    def __init__(self, path: Path) -> None:
        self.markdown = path.suffix.lower() in (".md", ".markdown")
        try:
            self._fh: IO[str] = path.open("w", encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write transcript {path}: {exc.strerror}") from None
        self._lock = threading.Lock()
        if self.markdown:
            self._write(f"# Chat transcript, {time.strftime('%Y-%m-%d %H:%M:%S %Z')}\n\n")

    def visitor(self, text: str) -> None:
        self._entry("visitor", "ChatMessage", text, {"text": text}, who="You")

    def pod(self, item: dict[str, Any], agent: str) -> None:
        event = interpret(item)
        if event.kind is EventKind.MESSAGE:
            self._entry("agent", event.type, event.text, item, who=event.agent or agent)
        else:
            self._entry("pod", event.type, describe_event(event, agent)[1], item)

    def system(self, text: str, **extra: Any) -> None:
        self._entry("liveagent", "note", text, extra)

    def close(self) -> None:
        with self._lock:
            self._fh.close()

    def _entry(self, side: str, kind: str, text: str, raw: Any, who: str = "") -> None:
        now = time.time()
        if self.markdown:
            stamp = time.strftime("%H:%M:%S", time.localtime(now))
            line = f"- `{stamp}` **{who}:** {text}\n" if who else f"- `{stamp}` _{text}_\n"
        else:
            line = (
                json.dumps(
                    {"time": round(now, 3), "from": side, "type": kind, "text": text, "raw": raw}, ensure_ascii=False
                )
                + "\n"
            )
        self._write(line)

    def _write(self, text: str) -> None:
        with self._lock:
            if not self._fh.closed:
                self._fh.write(text)
                self._fh.flush()
