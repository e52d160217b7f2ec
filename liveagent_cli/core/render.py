"""Human text for pod messages; pure functions, so they are cheap and the same in `poll` and `chat`."""

from __future__ import annotations

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
    if kind == "RichMessage":
        raw_items = msg.get("items")
        items: list[Any] = raw_items if isinstance(raw_items, list) else []
        labels = [str(i.get("text", i) if isinstance(i, dict) else i) for i in items]
        header = f"{msg.get('header')}: " if msg.get("header") else f"{agent} offers a menu: "
        return "bold cyan", header + "  ".join(f"{n}) {label}" for n, label in enumerate(labels, 1))
    if kind == "FileTransfer":
        what = msg.get("type")
        if what == "Requested":
            return "yellow", f"{agent} asked for a file: send it with `liveagent upload FILE` (or /upload in chat)"
        return ("green" if what == "Success" else "yellow"), f"file transfer: {str(what).lower()}"
    if kind == "AgentJoinedConference":
        return "yellow", f"{msg.get('name') or 'an agent'} joined the conference"
    if kind == "AgentLeftConference":
        return "yellow", f"{msg.get('name') or 'an agent'} left the conference"
    if kind == "TransferToButtonInitiated":
        return "yellow", "the chat is being transferred"
    if kind == "CustomEvent":
        return "dim", f"event {msg.get('type')}: {msg.get('data')}"
    if kind == "ChasitorSessionData":
        raw_entries = msg.get("chatMessages")
        entries: list[Any] = raw_entries if isinstance(raw_entries, list) else []
        return "dim", f"session restored after the pod moved it ({len(entries)} transcript entries)"
    import json

    return "dim", f"{kind} {json.dumps(msg, ensure_ascii=False, sort_keys=True)}"
