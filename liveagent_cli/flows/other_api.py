"""Opening a session in a slot that holds the other API's session (a slot holds one of either:
core/miaw/state.py).

Each sibling's `open_session` calls it first (flows/liveagent_verbs.py, flows/miaw/verbs.py), so the lower flows
it reaches back into never import it. It is the same decision as over a session of the opening API's own: a
chat still open is refused without `--replace`; with it, the chat is ended on its own server first (Live
Agent: ChatEnd, or DELETE before init; Enhanced Chat: the conversation closed), as each API's replace does,
so no agent is left in a chat nobody can end, and a server that cannot be reached refuses the replace (the
hint names `end --local`). A chat that already ended is forgotten without asking. Either way the slot is
then empty for the opening sibling, which takes it as it takes an empty one.
"""

from __future__ import annotations

from liveagent_cli.core.errors import LiveAgentError, StateError, UsageError
from liveagent_cli.core.state import ChatPhase
from liveagent_cli.flows.context import Context
from liveagent_cli.flows.verbs import API_WORDS, MIAW


def clear_other_api(ctx: Context, opening: str, *, replace: bool) -> None:
    """Before `opening` ("liveagent" or "miaw") opens a session: end (with `replace`) or refuse (without) an
    open session of the other API stored under this name, and forget it."""
    from liveagent_cli.core.miaw.state import stored_api

    held = stored_api(ctx.store)
    if held is None or held == opening:
        return
    try:
        session_id, still_open, words = _held_miaw(ctx) if held == MIAW else _held_liveagent(ctx)
    except StateError:
        return  # unreadable: the opening sibling decides, as for a file of its own
    if still_open and not replace:
        kind = ("an " if API_WORDS[held][0] in "AEIOU" else "a ") + API_WORDS[held]
        raise UsageError(
            f"session {ctx.store.name!r} is already open ({kind} session: {words})",
            hint="end it with `liveagent end`, pick another with --session NAME, or pass --replace",
        )
    if still_open:
        _end_held(ctx, held)
    with ctx.store.lock():
        if _same_session(ctx, held, session_id):
            ctx.store.delete()


def _held_liveagent(ctx: Context) -> tuple[str, bool, str]:
    from liveagent_cli.flows.describe import PHASE_WORDS

    state = ctx.store.load()
    return state.id, state.chat != ChatPhase.ENDED, PHASE_WORDS[state.chat]


def _held_miaw(ctx: Context) -> tuple[str, bool, str]:
    from liveagent_cli.core.miaw import state as records
    from liveagent_cli.flows.miaw.steps import PHASE_WORDS

    state = records.load(ctx.store)
    words = PHASE_WORDS[state.chat] if state.conversation_id else "no conversation yet"
    return state.id, not state.conversation_closed, words


def _end_held(ctx: Context, held: str) -> None:
    """End the held chat on its server, in the words of that API's own replace."""
    if held == MIAW:
        from liveagent_cli.core.miaw import state as records
        from liveagent_cli.flows.miaw.steps import close_before_replacing

        state = records.load(ctx.store)
        if state.conversation_id:  # a token alone holds nothing on the server
            close_before_replacing(ctx, state)
        return
    from liveagent_cli.flows.steps import end_before_replacing

    end_before_replacing(ctx, ctx.store.load())


def _same_session(ctx: Context, held: str, session_id: str) -> bool:
    """The slot still holds the session looked at (another process may have replaced it meanwhile)."""
    from liveagent_cli.core.miaw import state as records

    try:
        current = records.load(ctx.store).id if held == MIAW else ctx.store.load().id
    except LiveAgentError:  # gone, or now of another kind: not ours to delete
        return False
    return current == session_id
