"""The one-request steps (session, init, send, end, and reconnect by hand): each reads the state, talks once,
writes the state.

The rules for sequence numbers, lost answers, 409 and 503 live in `channel.py`.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from liveagent_cli.core.errors import NetworkError, SessionGoneError, UsageError
from liveagent_cli.core.state import ChatPhase, SessionState
from liveagent_cli.flows.channel import Channel
from liveagent_cli.flows.context import Context
from liveagent_cli.flows.deadline import Deadline, give_up_seconds
from liveagent_cli.flows.describe import PHASE_WORDS, age
from liveagent_cli.flows.retry import retrying

if TYPE_CHECKING:
    from liveagent_cli.core.client import LiveAgentClient


def open_session(ctx: Context, *, replace: bool = False) -> SessionState:
    """GET System/SessionId and store the new session under the store's name."""
    pod, api_version = ctx.settings.endpoint()
    with ctx.store.lock():
        if ctx.store.exists() and not replace:
            old = ctx.store.load()
            if old.chat != ChatPhase.ENDED:
                raise UsageError(
                    f"session {ctx.store.name!r} is already open ({PHASE_WORDS[old.chat]}, {age(old)} old)",
                    hint="end it with `liveagent end`, pick another with --session NAME, or pass --replace",
                )
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
        ctx.store.save(state)
    return state


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
    phase = channel.state.chat
    if phase != ChatPhase.SESSION:
        raise UsageError(
            f"session {ctx.store.name!r} already has {PHASE_WORDS[phase]}",
            hint="start again with `liveagent session`"
            if phase == ChatPhase.ENDED
            else "poll it with `liveagent poll`, or end it with `liveagent end` and start again",
        )

    def prepare(s: SessionState) -> None:
        s.org_id, s.deployment_id, s.button_id = ids["org_id"], ids["deployment_id"], ids["button_id"]
        s.sources.update({k: ctx.settings.sources[k] for k in ids if k in ctx.settings.sources})
        s.visitor_name = options.get("visitor_name") or "Visitor"

    def send(client: LiveAgentClient, seq: int, timeout: float) -> None:
        client.chasitor_init(build_init_body(channel.state, options), seq, timeout)

    def done(s: SessionState) -> None:
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


def end_chat(ctx: Context, reason: str, *, local: bool = False) -> tuple[SessionState, bool]:
    """POST Chasitor/ChatEnd (or DELETE the session when no chat was requested), then forget the state.

    Returns the final state and whether the chat was still open (False when it had already ended). `local`
    forgets the state without telling the pod: the way out when the pod is gone for good.
    """
    state = ctx.store.load()
    ctx.out.redactor.add(state.key)
    still_open = state.chat != ChatPhase.ENDED
    if still_open and not local:
        try:
            channel = Channel(ctx)
            if state.chat == ChatPhase.SESSION:
                with ctx.store.lock():
                    # DELETE is idempotent: a repeat after a lost answer deletes nothing more
                    retrying(
                        lambda timeout: channel.client.delete_session(timeout=timeout),
                        Deadline(channel.give_up),
                        ctx.out.note,
                    )
            else:
                channel.post(lambda client, seq, timeout: client.chat_end(reason, seq, timeout))
        except SessionGoneError:
            still_open = False
        except NetworkError as exc:
            named = f" --session {ctx.store.name}" if ctx.store.name != "default" else ""
            exc.hint = (
                f"{exc.hint + '; ' if exc.hint else ''}if the pod is gone for good, "
                f"`liveagent end --local{named}` forgets the session here without telling it"
            )
            raise
    with ctx.store.lock():
        ctx.store.delete()
    return state, still_open


def reconnect(ctx: Context) -> SessionState:
    """The 503 recovery by hand: ReconnectSession, then ChasitorResyncState once ChasitorSessionData is in."""
    channel = Channel(ctx)
    deadline = Deadline(channel.give_up)
    with ctx.store.lock():
        state = ctx.store.load()
        channel.adopt(state)
        channel.client.affinity = state.affinity  # force: this is a reconnect by request
        channel.reconnect_locked(state, deadline, force=True)
    channel.await_resync(deadline)
    return ctx.store.load()
