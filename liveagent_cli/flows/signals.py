"""What the visitor signals to the agent besides messages: typing, a sneak peek of the draft, custom events.

Each is one Chasitor POST in the session's sequence, sent through `Channel` like a message.
"""

from __future__ import annotations

from liveagent_cli.core.errors import UsageError
from liveagent_cli.core.state import SessionState
from liveagent_cli.flows.channel import Channel
from liveagent_cli.flows.context import Context


def send_typing(ctx: Context, on: bool) -> SessionState:
    """ChasitorTyping (on) or ChasitorNotTyping (off)."""
    return Channel(ctx).post(lambda client, seq, timeout: client.typing(on, seq, timeout))


def sneak_peek(ctx: Context, text: str, position: int | None) -> SessionState:
    """ChasitorSneakPeek: the draft so far; the cursor defaults to its end."""
    pos = len(text) if position is None else position
    return Channel(ctx).post(lambda client, seq, timeout: client.sneak_peek(text, pos, seq, timeout))


def custom_event(ctx: Context, kind: str, data: str) -> SessionState:
    """CustomEvent {type, data}, for the deployment's own scripts on the agent's side."""
    if not kind.strip():
        raise UsageError("the event TYPE is empty", hint="e.g. liveagent event PromptForCreditCard Visa")
    return Channel(ctx).post(lambda client, seq, timeout: client.custom_event(kind, data, seq, timeout))
