"""The one-request steps (session, init, send, end): each reads the state, talks once, writes the state.

Chasitor POSTs take their X-LIVEAGENT-SEQUENCE under the session's state lock and record it *before*
sending (write-ahead): a number is never handed out twice, even if the process dies mid-request, and a
retry after a lost answer reuses the same number so the pod drops it as a duplicate instead of acting twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from liveagent_cli.core.errors import NetworkError, SessionGoneError, UsageError
from liveagent_cli.core.settings import check_api_version, check_id, normalize_pod
from liveagent_cli.core.state import SessionState
from liveagent_cli.flows.context import Context

if TYPE_CHECKING:
    from liveagent_cli.core.client import LiveAgentClient

POST_ATTEMPTS = 3
RETRY_PAUSE = 1.0


def open_session(ctx: Context, *, replace: bool = False) -> SessionState:
    """GET System/SessionId and store the new session under the store's name."""
    pod = normalize_pod(str(ctx.settings.require("pod")), insecure=bool(ctx.settings.get("insecure")))
    api_version = check_api_version(str(ctx.settings.require("api_version")))
    with ctx.store.lock():
        if ctx.store.exists() and not replace:
            old = ctx.store.load()
            if old.chat != "ended":
                raise UsageError(
                    f"session {ctx.store.name!r} already holds a chat ({old.chat}, {_age(old)} old)",
                    hint="end it with `liveagent end`, pick another with --session NAME, or pass --replace",
                )
        info = ctx.client(pod, api_version).session_id()
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
        "buttonOverrides": options.get("button_overrides", []),
        "receiveQueueUpdates": True,
        "isPost": True,
    }


def init_chat(ctx: Context, options: dict[str, Any]) -> SessionState:
    """POST Chasitor/ChasitorInit with the resolved ids: asks for an agent."""
    ids = {name: check_id(name, str(ctx.settings.require(name))) for name in ("org_id", "deployment_id", "button_id")}
    state = live_state(ctx)
    if state.chat != "session":
        raise UsageError(
            f"a chat was already requested on this session ({state.chat})",
            hint="poll it with `liveagent poll`, or end it with `liveagent end` and start again",
        )

    def prepare(s: SessionState) -> None:
        s.org_id, s.deployment_id, s.button_id = ids["org_id"], ids["deployment_id"], ids["button_id"]
        s.visitor_name = options.get("visitor_name") or "Visitor"

    def send(client: LiveAgentClient, s: SessionState, seq: int) -> None:
        client.chasitor_init(build_init_body(s, options), seq)

    def done(s: SessionState) -> None:
        s.chat = "requested"

    return post_in_order(ctx, send, prepare=prepare, done=done)


def send_text(ctx: Context, text: str) -> SessionState:
    """POST Chasitor/ChatMessage."""
    if not text.strip():
        raise UsageError("the message is empty", hint="pass the text to send, or - to read it from stdin")
    live_state(ctx)
    return post_in_order(ctx, lambda client, _s, seq: client.chat_message(text, seq))


def end_chat(ctx: Context, reason: str) -> tuple[SessionState, bool]:
    """POST Chasitor/ChatEnd (or DELETE the session when no chat was requested), then forget the state.

    Returns the final state and whether the pod still knew the chat (False when it had already ended).
    """
    with ctx.store.lock():
        state = ctx.store.load()
        still_open = True
        if state.chat != "ended":
            client = ctx.client(state.pod, state.api_version, state)
            try:
                if state.chat == "session":
                    client.delete_session()
                else:
                    state.sequence += 1
                    ctx.store.save(state)
                    _retry(lambda: client.chat_end(reason, state.sequence))
            except SessionGoneError:
                still_open = False
        else:
            still_open = False
        ctx.store.delete()
    return state, still_open


def live_state(ctx: Context) -> SessionState:
    """The stored state, refusing one whose chat already ended."""
    state = ctx.store.load()
    ctx.out.redactor.add(state.key)
    if state.chat == "ended":
        raise SessionGoneError(
            f"the chat on session {ctx.store.name!r} has ended"
            + (f" ({state.ended_reason})" if state.ended_reason else ""),
            hint="start a new chat with `liveagent session`, or clear this one with `liveagent end`",
        )
    return state


def post_in_order(
    ctx: Context,
    send: Callable[[LiveAgentClient, SessionState, int], None],
    *,
    prepare: Callable[[SessionState], None] | None = None,
    done: Callable[[SessionState], None] | None = None,
) -> SessionState:
    """Take the next sequence number under the state lock, record it, send, and mark the outcome."""
    with ctx.store.lock():
        state = ctx.store.load()
        if prepare:
            prepare(state)
        state.sequence += 1
        ctx.store.save(state)
        client = ctx.client(state.pod, state.api_version, state)
        try:
            _retry(lambda: send(client, state, state.sequence))
        except SessionGoneError:
            state.chat, state.ended_reason = "ended", "the pod no longer knows the session"
            ctx.store.save(state)
            raise
        if done:
            done(state)
            ctx.store.save(state)
    return state


def _retry(call: Callable[[], None]) -> None:
    """Repeat a POST whose answer never came, with the same sequence number (the pod drops duplicates)."""
    for attempt in range(1, POST_ATTEMPTS + 1):
        try:
            call()
            return
        except NetworkError:
            if attempt == POST_ATTEMPTS:
                raise
            time.sleep(RETRY_PAUSE * attempt)


def _age(state: SessionState) -> str:
    seconds = max(0, int(time.time() - state.created_at))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


def describe_state(state: SessionState, name: str, *, show_secrets: bool) -> dict[str, Any]:
    """What `status` shows: everything but the key, unless asked."""
    info: dict[str, Any] = {
        "session": name,
        "pod": state.pod,
        "id": state.id,
        "chat": state.chat,
        "ack": state.ack,
        "next_sequence": state.sequence + 1,
        "affinity": state.affinity,
        "offset": state.offset,
        "api_version": state.api_version,
        "client_poll_timeout": state.client_poll_timeout,
        "age_seconds": round(time.time() - state.created_at, 1),
        "age": _age(state),
    }
    for name_, value in (
        ("org_id", state.org_id),
        ("deployment_id", state.deployment_id),
        ("button_id", state.button_id),
        ("visitor_name", state.visitor_name),
        ("agent", state.agent_name),
        ("ended_reason", state.ended_reason),
    ):
        if value:
            info[name_] = value
    if show_secrets:
        info["key"] = state.key
    return info
