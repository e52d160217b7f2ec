"""session, init, end and status against Enhanced Chat.

- `session` mints an access token (a guest's, or a verified user's with an identity token) and stores it with
  where it lives, its expiry and the stream position the server gave (`lastEventId`); nothing is created on
  the server yet.
- `init` chooses the conversation id, stores it, then creates the conversation with the pre-chat values as
  `routingAttributes` (checked against the form first). A repeat of the create with the same id is the same
  conversation (the server answers as the first time), so a lost answer is retried safely.
- `end` closes the conversation (`DELETE …/conversation/{id}`) and forgets the session; `--keep-conversation`
  ends only the messaging session (`DELETE …/session`), so the next `send` starts a new one in the same
  conversation; `--local` forgets it here without telling the server.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from liveagent_cli.core.errors import ApiError, NetworkError, SessionGoneError, StateError, UsageError
from liveagent_cli.core.miaw import state as records
from liveagent_cli.core.miaw.state import MiawState
from liveagent_cli.core.miaw.token import token_expiry
from liveagent_cli.core.state import ChatPhase
from liveagent_cli.flows.context import Context
from liveagent_cli.flows.deadline import Deadline, give_up_seconds
from liveagent_cli.flows.miaw.link import Link, new_client, request
from liveagent_cli.flows.miaw.prechat import encode_form, routing_attributes

PHASE_WORDS = {
    ChatPhase.SESSION: "no conversation yet",
    ChatPhase.REQUESTED: "a conversation being routed",
    ChatPhase.QUEUED: "a conversation waiting for an agent",
    ChatPhase.ESTABLISHED: "a conversation with an agent",
    ChatPhase.ENDED: "a conversation whose messaging session ended",
}


@dataclass(frozen=True)
class Identity:
    """A customer-signed identity JWT for a verified user, and where it came from (never shown)."""

    token: str
    source: str


def open_session(ctx: Context, *, replace: bool = False, identity: Identity | None = None) -> MiawState:
    """Mint an access token and store the session under the store's name (nothing is created yet)."""
    url, org_id, deployment = ctx.settings.messaging()
    old = _stored(ctx)
    if old is not None and not old.conversation_closed and old.conversation_id:
        if not replace:
            raise UsageError(
                f"session {ctx.store.name!r} is already open ({PHASE_WORDS[old.chat]})",
                hint="end it with `liveagent end`, pick another with --session NAME, or pass --replace",
            )
        close_before_replacing(ctx, old)
    elif old is not None and not replace and not old.conversation_closed:
        raise UsageError(
            f"session {ctx.store.name!r} is already open (no conversation yet)",
            hint="ask for one with `liveagent init`, or pass --replace",
        )
    client = new_client(ctx, url, org_id, deployment)
    if identity is not None:
        ctx.out.redactor.add(identity.token)
    deadline = Deadline(give_up_seconds(ctx.environ))
    try:
        if identity is not None:
            grant = request(ctx, lambda timeout: client.verified_token(identity.token, timeout=timeout), deadline)
        else:
            grant = request(ctx, lambda timeout: client.guest_token(timeout=timeout), deadline)
    finally:
        client.close()
    ctx.out.redactor.add(grant.access_token)
    if identity is not None and "/UNAUTH/" in grant.subject:
        ctx.out.warn(
            "the server did not verify the identity token and made a guest session instead "
            "(check the token's issuer, key id and the keyset in Setup)"
        )
    now = time.time()
    sources: dict[str, str] = {
        k: ctx.settings.sources[k] for k in ("pod", "org_id", "deployment_name", "api") if k in ctx.settings.sources
    }
    state = MiawState(
        id=str(uuid.uuid4()),
        messaging_url=url,
        org_id=org_id,
        deployment_name=deployment,
        access_token=grant.access_token,
        token_expires_at=token_expiry(grant.access_token) or 0.0,
        verified=identity is not None,
        identity_source=identity.source if identity is not None else "",
        subject=grant.subject,
        device_id=grant.device_id,
        last_event_id=grant.last_event_id,
        prechat_form=encode_form(grant.configuration),
        created_at=now,
        updated_at=now,
        sources=sources,
    )
    with ctx.store.lock():
        there = _stored(ctx)
        raced = there is not None and (old is None or there.id != old.id) and not there.conversation_closed
        if not raced:
            records.save(ctx.store, state)
    if raced:
        raise UsageError(
            f"another process opened session {ctx.store.name!r} meanwhile; kept that one",
            hint="pick another name with --session NAME, or pass --replace",
        )
    return state


def _stored(ctx: Context) -> MiawState | None:
    """The Enhanced Chat session the slot holds, or None (none, or one that cannot be read: a replace overwrites)."""
    if not ctx.store.exists():
        return None
    try:
        return records.load(ctx.store)
    except StateError:
        return None


def close_before_replacing(ctx: Context, old: MiawState) -> None:
    link = _link_for(ctx)
    try:
        link.request(lambda client, timeout: client.close_conversation(old.conversation_id, timeout=timeout))
    except SessionGoneError:
        return  # the token expired: the conversation is out of reach either way
    except (NetworkError, ApiError) as exc:
        named = f" --session {ctx.store.name}" if ctx.store.name != "default" else ""
        exc.message = (
            f"cannot close the conversation session {ctx.store.name!r} holds, so it is not replaced: {exc.message}"
        )
        exc.hint = f"try again, or `liveagent end --local{named}` to forget it here, then `liveagent session`"
        raise
    finally:
        link.close()
    ctx.out.note(f"closed the conversation of session {ctx.store.name!r} before replacing it")


def _link_for(ctx: Context) -> Link:
    return Link(ctx, closed_ok=True)


def init_conversation(
    ctx: Context, values: dict[str, str], *, visitor_name: str | None = None, language: str = ""
) -> MiawState:
    """Create the conversation: its id chosen and stored first, the pre-chat values checked and sent."""
    link = Link(ctx)
    try:
        if link.state.conversation_id:
            raise UsageError(
                f"session {ctx.store.name!r} already has {PHASE_WORDS[link.state.chat]}",
                hint="poll it with `liveagent poll`, or end it with `liveagent end` and start again",
            )
        attributes = routing_attributes(link.state.prechat_form, values, visitor_name)
        conversation = str(uuid.uuid4())  # lowercase v4 (§1.2)

        def chosen(state: MiawState) -> None:
            if state.conversation_id:  # another `init` got here first
                raise UsageError(f"session {ctx.store.name!r} already has a conversation", hint="poll it")
            state.conversation_id = conversation
            state.chat = ChatPhase.REQUESTED
            state.routing_attributes = attributes
            state.language = language
            state.visitor_name = visitor_name or attributes.get("_firstName", "")

        link.update(chosen)
        link.request(
            lambda client, timeout: client.create_conversation(
                conversation, routing_attributes=attributes, language=language, timeout=timeout
            )
        )
        return link.state
    finally:
        link.close()


def end(ctx: Context, *, keep_conversation: bool = False, local: bool = False) -> tuple[MiawState, bool]:
    """Close the conversation and forget the session (or only end its messaging session); returns the state
    and whether there was something open on the server to end."""
    state = records.load(ctx.store)
    ctx.out.redactor.add(state.access_token)
    if local:
        _forget(ctx, state)
        return state, not state.conversation_closed
    if not state.conversation_id or state.conversation_closed:
        if keep_conversation:
            raise UsageError("there is no conversation to keep", hint="`liveagent end` forgets the session")
        _forget(ctx, state)
        return state, False
    link = Link(ctx, closed_ok=True)
    was_open = True
    try:
        if keep_conversation:
            was_open = state.chat != ChatPhase.ENDED
            try:
                link.request(lambda client, timeout: client.end_session(state.conversation_id, timeout=timeout))
            except ApiError as exc:
                if exc.status not in (400, 404, 409, 417):
                    raise
                was_open = False  # no messaging session to end

            def ended(s: MiawState) -> None:
                s.chat, s.ended_reason = ChatPhase.ENDED, "ended by the visitor (the conversation stays open)"

            return link.update(ended), was_open
        try:
            link.request(lambda client, timeout: client.close_conversation(state.conversation_id, timeout=timeout))
        except SessionGoneError:
            was_open = False  # the token expired: out of this guest's reach for good
            ctx.out.note("the access token no longer works, so the conversation could not be closed on the server")
        except NetworkError as exc:
            named = f" --session {ctx.store.name}" if ctx.store.name != "default" else ""
            exc.hint = (
                f"{exc.hint + '; ' if exc.hint else ''}if the server is gone for good, "
                f"`liveagent end --local{named}` forgets the session here without telling it"
            )
            raise
    finally:
        link.close()
    _forget(ctx, state)
    return state, was_open


def _forget(ctx: Context, state: MiawState) -> None:
    """Remove the state file, unless another process replaced the session meanwhile."""
    with ctx.store.lock():
        current = _stored(ctx)
        replaced = current is not None and current.id != state.id
        if not replaced:
            ctx.store.delete()
    if replaced:
        ctx.out.note(f"session {ctx.store.name!r} now holds a newer session (replaced meanwhile); kept it")


def describe(state: MiawState, name: str, *, show_secrets: bool) -> dict[str, Any]:
    """What `status` shows of an Enhanced Chat session: everything but the tokens, unless asked."""
    now = time.time()
    expires = state.token_expires_at or None
    info: dict[str, Any] = {
        "session": name,
        "api": "miaw",
        "pod": state.messaging_url,
        "id": state.id,
        "conversation_id": state.conversation_id or None,
        "chat": str(state.chat),
        "conversation_closed": state.conversation_closed,
        "last_event_id": state.last_event_id or None,
        "token_expires_at": _iso(expires) if expires else None,
        "token_expires_in_seconds": round(expires - now) if expires else None,
        "verified": state.verified,
        "identity_token": state.identity_source or None,
        "org_id": state.org_id,
        "deployment_name": state.deployment_name,
        "visitor_name": state.visitor_name or None,
        "agent": state.agent_name or None,
        "ended_reason": state.ended_reason or None,
        "messages_sent": state.messages_sent,
        "messages_pending": len(state.pending_messages),
        "messaging_sessions": state.sessions_started,
        "age_seconds": round(now - state.created_at, 1),
        "sources": dict(state.sources),
    }
    if show_secrets:
        info["access_token"] = state.access_token
    return info


def _iso(epoch: float) -> str:
    import datetime

    return datetime.datetime.fromtimestamp(epoch, datetime.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
