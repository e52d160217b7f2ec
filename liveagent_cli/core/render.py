"""Human text for chat events; pure functions, so they are cheap and the same in `poll` and `chat`.

`describe_event` knows only the neutral events of core/chat_events.py; `describe` is its Live Agent entry point.
"""

from __future__ import annotations

from typing import Any

from liveagent_cli.core.chat_events import ChatEvent, EventKind
from liveagent_cli.core.messages import interpret


def wait_phrase(seconds: float | None) -> str:
    """The text `, estimated wait N s`, or nothing when the wait is unknown."""
    return "" if seconds is None else f", estimated wait {int(seconds)} s"


class AgentName:
    """Who the agent is along a run of messages: the latest ChatEstablished or ChatTransferred names the agent
    of the typing, menu and file lines after it, in the same batch too (the stored name changes only once the
    whole batch is stored)."""

    def __init__(self) -> None:
        self.latest = ""

    def after(self, item: dict[str, Any], stored: str = "") -> str:
        """The name to describe `item` with; `stored` is the name the state held before this run."""
        event = interpret(item)
        if event.kind is EventKind.ESTABLISHED and event.agent:
            self.latest = event.agent
        return self.latest or stored or "agent"


def describe(item: dict[str, Any], agent: str = "agent") -> tuple[str, str]:
    """(style, text) for one Live Agent `{type, message}` item; style is a Rich style name or ''."""
    return describe_event(interpret(item), agent)


def describe_event(event: ChatEvent, agent: str = "agent") -> tuple[str, str]:
    """(style, text) for one event; `agent` names the agent when the event does not."""
    kind, name = event.kind, event.agent or agent
    if kind is EventKind.MESSAGE:
        return "bold cyan", f"{name}: {event.text}"
    if kind is EventKind.ECHO:
        return "dim", f"You: {event.text}"
    if kind is EventKind.REQUESTED:
        pos = event.queue_position
        where = f"position {pos}" if pos is not None and pos > 0 else "waiting"
        return "dim", f"chat requested: {where}{wait_phrase(event.estimated_wait)}"
    if kind is EventKind.QUEUE:
        pos_text = "?" if event.queue_position is None else str(event.queue_position)
        return "dim", f"queue position {pos_text}{wait_phrase(event.estimated_wait)}"
    if kind is EventKind.ESTABLISHED:
        return ("yellow", f"chat transferred to {name}") if event.transferred else ("green", f"{name} joined the chat")
    if kind is EventKind.TYPING:
        return "dim", f"{name} is typing…" if event.typing else f"{name} stopped typing"
    if kind is EventKind.DISCONNECTED:
        return "yellow", f"{name} disconnected"
    if kind is EventKind.ENDED:
        return "yellow", f"chat ended ({event.reason})"
    if kind is EventKind.FAILED:
        return "red", f"no agent took the chat ({event.reason})"
    if kind is EventKind.MENU:
        header = f"{event.menu_header}: " if event.menu_header else f"{agent} offers a menu: "
        return "bold cyan", header + "  ".join(f"{n}) {label}" for n, label in enumerate(event.menu, 1))
    if kind is EventKind.FILE_REQUEST:
        return "yellow", f"{agent} asked for a file: send it with `liveagent upload FILE` (or /upload in chat)"
    if kind is EventKind.FILE_SETTLED:
        outcome = event.outcome or "unknown"
        return ("green" if outcome == "Success" else "yellow"), f"file transfer: {outcome.lower()}"
    if kind is EventKind.CONFERENCE:
        return "yellow", f"{event.agent or 'an agent'} {'joined' if event.joined else 'left'} the conference"
    if kind is EventKind.TRANSFERRING:
        return "yellow", "the chat is being transferred"
    if kind is EventKind.CUSTOM:
        return "dim", f"event {event.custom_type}: {event.data}" if event.data else f"event {event.custom_type}"
    if kind is EventKind.RECEIPT:
        return "dim", f"✓ {event.outcome}"
    if kind is EventKind.OTHER and event.text:
        return "dim", event.text
    if kind is EventKind.TRANSCRIPT:
        return "dim", f"session restored after the pod moved it ({event.transcript_entries} transcript entries)"
    import json

    return "dim", f"{event.type} {json.dumps(event.raw, ensure_ascii=False, sort_keys=True)}"
