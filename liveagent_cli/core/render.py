"""Human text for pod messages; pure functions, so they are cheap and the same in `poll` and `chat`."""

from __future__ import annotations

import json
from typing import Any


def _wait(seconds: Any) -> str:
    if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and seconds >= 0:
        return f", estimated wait {int(seconds)} s"
    return ""


def describe(item: dict[str, Any], agent: str = "agent") -> tuple[str, str]:
    """(style, text) for one `{type, message}` item; style is a Rich style name or ''."""
    kind = item.get("type", "?")
    raw = item.get("message")
    msg: dict[str, Any] = raw if isinstance(raw, dict) else {}
    name = msg.get("name") or agent
    if kind == "ChatMessage":
        return "bold cyan", f"{name}: {msg.get('text', '')}"
    if kind == "ChatRequestSuccess":
        pos = msg.get("queuePosition")
        where = f"position {pos}" if isinstance(pos, int) and pos > 0 else "waiting"
        return "dim", f"chat requested: {where}{_wait(msg.get('estimatedWaitTime'))}"
    if kind == "QueueUpdate":
        return "dim", f"queue position {msg.get('position', '?')}{_wait(msg.get('estimatedWaitTime'))}"
    if kind == "ChatEstablished":
        return "green", f"{name} joined the chat"
    if kind == "ChatTransferred":
        return "yellow", f"chat transferred to {name}"
    if kind == "AgentTyping":
        return "dim", f"{agent} is typing…"
    if kind == "AgentNotTyping":
        return "dim", f"{agent} stopped typing"
    if kind == "AgentDisconnect":
        return "yellow", f"{agent} disconnected"
    if kind == "ChatEnded":
        return "yellow", f"chat ended ({msg.get('reason') or 'unknown'})"
    if kind == "ChatRequestFail":
        return "red", f"no agent took the chat ({msg.get('reason') or 'unknown'})"
    return "dim", f"{kind} {json.dumps(msg, ensure_ascii=False, sort_keys=True)}"
