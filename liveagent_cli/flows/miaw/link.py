"""One Enhanced Chat session as one process sees it: its stored record, a client with its token, and the one
retry policy for its requests.

Every Enhanced Chat request the tool sends is safe to send again, because the client names what it creates
(a conversation id, a message id, an entry id: miaw-api.md §1.2) and the server processes a repeat once;
the DELETEs and GETs change nothing more the second time. So each request is retried under flows/retry.py's
policy when its answer is lost or the server fails it (5xx), with the same ids. A 429 waits as long as the
server's Retry-After asks (else the policy's backoff), never past the step's budget. A 401 is never retried:
the token expired or was revoked (exit 6).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from liveagent_cli.core.errors import ApiError, NetworkError, RateLimitedError, SessionGoneError, UsageError
from liveagent_cli.core.miaw import state as records
from liveagent_cli.core.miaw.state import MiawState
from liveagent_cli.flows.context import Context
from liveagent_cli.flows.deadline import Deadline, give_up_seconds
from liveagent_cli.flows.retry import POST_TIMEOUT, Retries, backoff

if TYPE_CHECKING:
    from liveagent_cli.core.miaw.client import MiawClient

T = TypeVar("T")


def new_client(ctx: Context, messaging_url: str, org_id: str, deployment_name: str, token: str = "") -> MiawClient:
    """A client over a connection pool of its own, logging to --verbose; its token registered as a secret."""
    from liveagent_cli.core.miaw.client import MiawClient

    ctx.out.redactor.add(token)
    return MiawClient(
        messaging_url,
        org_id,
        deployment_name,
        token=token or None,
        on_exchange=ctx.log_exchange if ctx.verbose else None,
    )


def request(ctx: Context, call: Callable[[float], T], deadline: Deadline) -> T:
    """`call(timeout)` until it answers, under the policy above."""
    retries = Retries(deadline, ctx.out.note)
    noted_limit = False
    while True:
        try:
            return call(deadline.cap(POST_TIMEOUT))
        except NetworkError as exc:
            retries.after(exc)
        except RateLimitedError as exc:
            wait = exc.retry_after if exc.retry_after is not None else backoff(retries.failures + 1)
            left = deadline.remaining()
            if left is not None and wait >= left:
                asked = f"; it asks to wait {wait:.0f} s" if exc.retry_after is not None else ""
                exc.message = f"{exc.message}{asked}, beyond the step's budget ({retries.budget_text()})"
                raise
            if not noted_limit:
                noted_limit = True
                ctx.out.note(
                    f"{exc.message}; waiting {wait:.3g} s as it asks"
                    if exc.retry_after is not None
                    else f"{exc.message}; backing off"
                )
            retries.failures += 1
            time.sleep(wait)
        except ApiError as exc:
            if exc.status is None or exc.status < 500:
                raise
            retries.after(exc)


class Link:
    """The stored Enhanced Chat session of this process and a client for it."""

    def __init__(self, ctx: Context, *, closed_ok: bool = False) -> None:
        self.ctx = ctx
        self.store = ctx.store
        self.state = records.load(ctx.store)
        ctx.out.redactor.add(self.state.access_token)
        if self.state.conversation_closed and not closed_ok:
            raise SessionGoneError(
                f"the conversation of session {ctx.store.name!r} is closed",
                hint="start a new one with `liveagent session --replace`, or clear this one with `liveagent end`",
            )
        self.client = new_client(
            ctx, self.state.messaging_url, self.state.org_id, self.state.deployment_name, self.state.access_token
        )
        self.give_up = give_up_seconds(ctx.environ)

    def deadline(self) -> Deadline:
        return Deadline(self.give_up)

    def request(self, call: Callable[[MiawClient, float], T], deadline: Deadline | None = None) -> T:
        return request(self.ctx, lambda timeout: call(self.client, timeout), deadline or self.deadline())

    def conversation(self) -> str:
        """The conversation id, refusing a session that has none yet."""
        if not self.state.conversation_id:
            raise UsageError(
                f"session {self.store.name!r} has no conversation yet",
                hint="ask for one with `liveagent init`",
            )
        return self.state.conversation_id

    def update(self, change: Callable[[MiawState], None]) -> MiawState:
        """Change this session's record under the state lock (never a session that replaced it)."""

        def same_session_then(state: MiawState) -> None:
            self.check_same_session(state)
            change(state)

        self.state = records.update(self.store, same_session_then)
        return self.state

    def check_same_session(self, fresh: MiawState) -> None:
        if fresh.id != self.state.id:
            raise SessionGoneError(
                f"session {self.store.name!r} was replaced by another process while this one used it",
                hint="run the step again on the new session",
            )

    def close(self) -> None:
        self.client.close()
