"""The one-request steps (session, init, send, end, and reconnect by hand): each reads the state, talks once,
writes the state.

The rules for sequence numbers, lost answers, 409 and 503 live in `channel.py`.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from liveagent_cli.core.errors import ApiError, LiveAgentError, NetworkError, SessionGoneError, StateError, UsageError
from liveagent_cli.core.state import ChatPhase, SessionState
from liveagent_cli.flows.channel import Channel
from liveagent_cli.flows.context import Context
from liveagent_cli.flows.deadline import Deadline, give_up_seconds
from liveagent_cli.flows.describe import PHASE_WORDS, age
from liveagent_cli.flows.retry import POST_TIMEOUT, retrying

if TYPE_CHECKING:
    from liveagent_cli.core.client import LiveAgentClient


def open_session(ctx: Context, *, replace: bool = False) -> SessionState:
    """GET System/SessionId and store the new session under the store's name.

    `replace` over a chat still open ends it on the pod first (ChatEnd, or DELETE before init), so the agent
    is not left in a chat nobody can end; a pod that cannot be reached refuses the replace (the hint names
    `end --local`). No lock is held across a request: the new session is stored only if the slot still holds
    what it held when we looked (another process may have opened one meanwhile).
    """
    pod, api_version = ctx.settings.endpoint()
    old = _stored(ctx, readable_only=replace)
    if old is not None and old.chat != ChatPhase.ENDED:
        if not replace:
            raise UsageError(
                f"session {ctx.store.name!r} is already open ({PHASE_WORDS[old.chat]}, {age(old)} old)",
                hint="end it with `liveagent end`, pick another with --session NAME, or pass --replace",
            )
        end_before_replacing(ctx, old)
    client = ctx.client(pod, api_version)
    info = retrying(
        lambda timeout: client.session_id(timeout=timeout), Deadline(give_up_seconds(ctx.environ)), ctx.out.note
    )
    ctx.out.redactor.add(info.key)
    now = time.time()
    state = SessionState(
        pod=pod,
        api_version=api_version,
        id=info.id,
        key=info.key,
        affinity=info.affinity,
        client_poll_timeout=info.client_poll_timeout,
        created_at=now,
        updated_at=now,
        sources={k: ctx.settings.sources[k] for k in ("pod", "api_version") if k in ctx.settings.sources},
    )
    with ctx.store.lock():
        there = _stored(ctx, readable_only=replace)
        raced = there is not None and there.chat != ChatPhase.ENDED and (old is None or there.id != old.id)
        if not raced:
            ctx.store.save(state)
    if raced:
        _forget_on_pod(ctx, client, info.key)
        raise UsageError(
            f"another process opened session {ctx.store.name!r} meanwhile; kept that one",
            hint="pick another name with --session NAME, or pass --replace",
        )
    return state


def _stored(ctx: Context, *, readable_only: bool) -> SessionState | None:
    """The session stored under this name, or None; with `readable_only`, a file that cannot be read is None
    too (a replace overwrites it)."""
    if not ctx.store.exists():
        return None
    try:
        return ctx.store.load()
    except StateError:
        if readable_only:
            return None
        raise


def end_before_replacing(ctx: Context, old: SessionState) -> None:
    """QA2-04: the chat the slot holds ends on the pod before a new session takes the slot."""
    try:
        open_there = end_on_pod(ctx, old, "client")
    except (NetworkError, ApiError) as exc:
        named = f" --session {ctx.store.name}" if ctx.store.name != "default" else ""
        exc.message = f"cannot end the chat session {ctx.store.name!r} holds, so it is not replaced: {exc.message}"
        exc.hint = (
            f"the chat may still be open on the pod; try again, or `liveagent end --local{named}` to forget it "
            "here without telling the pod, then `liveagent session`"
        )
        raise
    if open_there:
        ctx.out.note(f"ended {PHASE_WORDS[old.chat]} on the pod (session {ctx.store.name!r}) before replacing it")


def _forget_on_pod(ctx: Context, client: LiveAgentClient, key: str) -> None:
    """Best effort: DELETE a session we opened and could not store, so it does not linger on the pod."""
    client.key = key
    try:
        client.delete_session(timeout=POST_TIMEOUT)
    except LiveAgentError:
        pass


def build_init_body(state: SessionState, options: dict[str, Any]) -> dict[str, Any]:
    """The ChasitorInit body real clients send (liveagent-api.md §3.2 and §8.1): every field, arrays empty."""
    return {
        "organizationId": state.org_id,
        "deploymentId": state.deployment_id,
        "buttonId": state.button_id,
        "sessionId": state.id,
        "userAgent": options.get("user_agent") or "liveagent-cli",
        "language": options.get("language") or "en-US",
        "screenResolution": options.get("screen_resolution") or "n/a",
        "visitorName": state.visitor_name,
        "prechatDetails": options.get("prechat_details", []),
        "prechatEntities": options.get("prechat_entities", []),
        "agentId": options.get("agent_id") or "",
        "doFallback": bool(options.get("do_fallback")),
        "buttonOverrides": options.get("button_overrides", []),
        "receiveQueueUpdates": True,
        "isPost": True,
    }


def init_chat(ctx: Context, options: dict[str, Any]) -> SessionState:
    """POST Chasitor/ChasitorInit with the resolved ids: asks for an agent."""
    ids = ctx.settings.ids()._asdict()
    channel = Channel(ctx)

    def refuse_unless_new(phase: ChatPhase) -> None:
        if phase != ChatPhase.SESSION:
            raise UsageError(
                f"session {ctx.store.name!r} already has {PHASE_WORDS[phase]}",
                hint="start again with `liveagent session`"
                if phase == ChatPhase.ENDED
                else "poll it with `liveagent poll`, or end it with `liveagent end` and start again",
            )

    refuse_unless_new(channel.state.chat)

    def prepare(s: SessionState) -> None:
        refuse_unless_new(s.chat)  # again under the lock: of two `init`s at once, one posts ChasitorInit
        s.org_id, s.deployment_id, s.button_id = ids["org_id"], ids["deployment_id"], ids["button_id"]
        s.sources.update({k: ctx.settings.sources[k] for k in ids if k in ctx.settings.sources})
        s.visitor_name = options.get("visitor_name") or "Visitor"

    def send(client: LiveAgentClient, seq: int, timeout: float) -> None:
        client.chasitor_init(build_init_body(channel.state, options), seq, timeout)

    def done(s: SessionState) -> None:
        if s.chat == ChatPhase.SESSION:  # a poller may already have seen ChatRequestSuccess
            s.chat = ChatPhase.REQUESTED

    return channel.post(send, prepare=prepare, done=done)


def send_text(ctx: Context, text: str) -> SessionState:
    """POST Chasitor/ChatMessage."""
    if not text.strip():
        raise UsageError("the message is empty", hint="pass the text to send, or - to read it from stdin")
    channel = Channel(ctx)

    def confirmed(state: SessionState) -> None:
        state.messages_sent += 1

    return channel.post(
        lambda client, seq, timeout: client.chat_message(text, seq, timeout), done=confirmed, in_transcript=True
    )


def end_on_pod(ctx: Context, state: SessionState, reason: str) -> bool:
    """POST Chasitor/ChatEnd, or DELETE the session when no chat was requested; False when the pod (or the
    state) says the chat was over already."""
    why = f"ended by the visitor ({reason})"

    def ended(s: SessionState) -> None:  # under the send lock, so a poller's 403 meanwhile waits to read it
        s.chat, s.ended_reason = ChatPhase.ENDED, why

    try:
        channel = Channel(ctx)
        if state.chat == ChatPhase.SESSION:
            # DELETE is idempotent: a repeat after a lost answer deletes nothing more
            retrying(
                lambda timeout: channel.client.delete_session(timeout=timeout), Deadline(channel.give_up), ctx.out.note
            )
            channel.mark_ended(why)
        else:
            channel.post(lambda client, seq, timeout: client.chat_end(reason, seq, timeout), done=ended)
    except SessionGoneError:
        return False
    return True


def end_chat(ctx: Context, reason: str, *, local: bool = False) -> tuple[SessionState, bool]:
    """End the chat on the pod (`end_on_pod`), then forget the state.

    Returns the final state and whether the chat was still open (False when it had already ended). `local`
    forgets the state without telling the pod: the way out when the pod is gone for good. The state file is
    removed only if it still holds this session: a `session --replace` meanwhile keeps its new one.
    """
    state = ctx.store.load()
    ctx.out.redactor.add(state.key)
    still_open = state.chat != ChatPhase.ENDED
    if still_open and not local:
        try:
            still_open = end_on_pod(ctx, state, reason)
        except NetworkError as exc:
            named = f" --session {ctx.store.name}" if ctx.store.name != "default" else ""
            exc.hint = (
                f"{exc.hint + '; ' if exc.hint else ''}if the pod is gone for good, "
                f"`liveagent end --local{named}` forgets the session here without telling it"
            )
            raise
    with ctx.store.lock():
        replaced = ctx.store.exists() and ctx.store.load().id != state.id
        if not replaced:
            ctx.store.delete()
    if replaced:
        ctx.out.note(f"session {ctx.store.name!r} now holds a newer session (replaced meanwhile); kept it")
    return state, still_open


def reconnect(ctx: Context) -> SessionState:
    """The 503 recovery by hand: ReconnectSession, then ChasitorResyncState once ChasitorSessionData is in."""
    channel = Channel(ctx)
    deadline = Deadline(channel.give_up)
    channel.follow_move(deadline, force=True)  # force: this is a reconnect by request
    channel.await_resync(deadline)
    return ctx.store.load()
