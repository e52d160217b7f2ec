"""`choose`: answer the agent's last menu (a RichMessage the poll loop stored) with Chasitor/RichMessage."""

from __future__ import annotations

from typing import Any

from liveagent_cli.core.errors import UsageError
from liveagent_cli.core.messages import DEFAULT_MENU_TYPE
from liveagent_cli.core.state import SessionState
from liveagent_cli.flows.channel import Channel
from liveagent_cli.flows.context import Context


def choose(ctx: Context, number: int) -> tuple[SessionState, str]:
    """Answer the last rich menu with item `number` (1-based, as `poll` and `chat` show it)."""
    channel = Channel(ctx)
    state = channel.state
    if not state.menu_items:
        raise UsageError("no menu to answer", hint="wait for the agent's RichMessage with `liveagent poll`")
    if not 1 <= number <= len(state.menu_items):
        raise UsageError(f"choose 1 to {len(state.menu_items)}, not {number}")
    action: dict[str, Any] = {"type": state.menu_type or DEFAULT_MENU_TYPE, "index": number - 1}
    if state.menu_dialog:
        action["dialogId"] = state.menu_dialog
    chosen = state.menu_items[number - 1]

    def done(s: SessionState) -> None:
        s.menu_type, s.menu_items, s.menu_dialog = "", [], ""

    final = channel.post(lambda client, seq, timeout: client.rich_message([action], seq, timeout), done=done)
    return final, chosen
