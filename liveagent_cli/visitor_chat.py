"""A visitor's chat in a Python process: the steps of `liveagent session`, `init`, `poll --until`, `send` and
`end`, for tests and scripts.

`VisitorChat` is no second client: each method runs the verb the command runs (flows/verbs.py's `ChatApi`, the
Live Agent or the Enhanced Chat sibling), with its retries, acks, sequence numbers, reconnects and stream
recovery, over a state folder of its own (a temporary one, removed on `close()`). What arrives is kept, in
order, as the neutral `ChatEvent`s every API is read into (core/chat_events.py):

    with VisitorChat.to_sandbox(sandbox, api="miaw", visitor_name="Ada") as chat:
        chat.wait_for("established")
        assert chat.send_and_wait("hello").text == "hello"     # the echo agent

Nothing here imports Typer, Rich or prompt_toolkit, nor the sandbox (`to_sandbox` takes anything with its
URLs and ids).
"""

from __future__ import annotations

import io
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from liveagent_cli.core.chat_events import ChatEvent, EventKind
from liveagent_cli.core.errors import WaitTimeoutError
from liveagent_cli.flows.api_choice import pick
from liveagent_cli.flows.context import Context
from liveagent_cli.flows.verbs import ChatApi, IdentityToken, InitOptions, Shown

DEFAULT_WAIT = 10.0  # seconds a wait gives the server unless told otherwise


class SandboxLike(Protocol):
    """What `VisitorChat.to_sandbox` reads: `liveagent_cli.Sandbox` has it all."""

    @property
    def org_id(self) -> str: ...
    @property
    def deployment_id(self) -> str: ...
    @property
    def button_id(self) -> str: ...
    @property
    def deployment_name(self) -> str: ...
    def url_for(self, api: Any) -> str: ...


class VisitorChat:
    """One visitor, one chat, on either API: `start()` opens the session and asks for an agent (a Live Agent
    chat, or an Enhanced Chat conversation), `wait_for(KIND)` reads what arrives until KIND does, `send(TEXT)`
    posts a message, `end()` ends the chat. Use it as a context manager to start and end it.

    `url` is what `--pod` takes: the Chat API endpoint (`https://POD/chat/rest/`) for `api="liveagent"`, the
    Messaging URL for `api="miaw"`, where `identity_token` (a customer-signed JWT) makes a verified user and
    `prechat` fills the deployment's pre-chat form. Failures raise the tool's own errors
    (`liveagent_cli.LiveAgentError` and its subclasses, each with a `hint`); a wait that runs out raises
    `WaitTimeoutError`.
    """

    def __init__(
        self,
        url: str,
        *,
        api: str = "liveagent",
        org_id: str,
        deployment_id: str = "",
        button_id: str = "",
        deployment_name: str = "",
        api_version: str = "",
        visitor_name: str = "Visitor",
        prechat: Mapping[str, str] | None = None,
        identity_token: str = "",
        insecure: bool = False,
    ) -> None:
        from liveagent_cli.core.output import Output
        from liveagent_cli.core.settings import resolve
        from liveagent_cli.core.state import StateStore

        flags: dict[str, Any] = {
            "pod": url,
            "api": api,
            "org_id": org_id,
            "deployment_id": deployment_id,
            "button_id": button_id,
            "deployment_name": deployment_name,
            "api_version": api_version,
            "insecure": insecure or None,
        }
        self.api = api
        self.visitor_name = visitor_name
        self.prechat = dict(prechat or {})
        self._identity = IdentityToken(identity_token, "VisitorChat(identity_token=...)") if identity_token else None
        self._folder = Path(tempfile.mkdtemp(prefix="liveagent-visitor-"))
        self.notes = io.StringIO()  # what the steps would have said on stderr: notes, warnings, the wire log
        out = Output(stdout=io.StringIO(), stderr=self.notes, stdout_isatty=False, stderr_isatty=False)
        settings = resolve(flags, None, {})
        self._ctx = Context(settings=settings, store=StateStore(self._folder, "visitor"), out=out)
        self.shown: list[Shown] = []  # everything that arrived, as `poll --json` prints it (`.line`) and means it
        self._cursor = 0  # events before this index were returned by a wait already
        self._open = False

    @classmethod
    def to_sandbox(cls, sandbox: SandboxLike, api: str = "liveagent", **options: Any) -> VisitorChat:
        """A chat with a `liveagent_cli.Sandbox` (or the pytest fixture `liveagent_sandbox`), its URL and ids
        filled in for `api`; `options` are the constructor's (`visitor_name`, `prechat`...)."""
        return cls(
            sandbox.url_for(api),
            api=api,
            org_id=sandbox.org_id,
            deployment_id=sandbox.deployment_id,
            button_id=sandbox.button_id,
            deployment_name=sandbox.deployment_name,
            **options,
        )

    # -- the steps -------------------------------------------------------------------------------------
    def start(self) -> VisitorChat:
        """`liveagent session` then `liveagent init`: a session, and a request for an agent."""
        opening = pick(self._ctx, opening=True)
        if opening.name == "liveagent":
            self._ctx.settings.ids()  # checked before there is a session to leave behind (as `chat` does)
        opening.open_session(self._ctx, replace=False, identity=self._identity)
        self._open = True
        fields: dict[str, Any] = {"visitor_name": self.visitor_name}
        self._step().init(self._ctx, InitOptions(fields, prechat_values=self.prechat))
        return self

    def wait_for(self, *kinds: str, timeout: float = DEFAULT_WAIT) -> ChatEvent:
        """The next event of one of `kinds` (neutral kinds such as `established`, `message`, `ended`, or the
        API's own names such as `ChatEstablished`), reading what arrives until it does; events already read but
        not yet returned by a wait count first. WaitTimeoutError after `timeout` seconds; an end of the chat
        before it arrives raises SessionGoneError (NoAgentError when no agent took it).

        As with `liveagent poll`, a Live Agent wait that ran out leaves its long poll held by the pod, and the
        next wait first waits that out (a second long poll would make the pod end the chat)."""
        if not kinds:
            raise ValueError("wait_for needs at least one event kind")
        wanted = set(kinds)
        found = self._take(wanted)
        if found is not None:
            return found
        self._step().poll(self._ctx, self.shown.append, follow=False, until=wanted, timeout=timeout)
        found = self._take(wanted)
        if found is None:  # the poll returned for another reason; it raises on timeouts and ends itself
            raise WaitTimeoutError(f"timed out after {timeout:g} s waiting for {' or '.join(sorted(wanted))}")
        return found

    def send(self, text: str) -> None:
        """`liveagent send TEXT`: posted once the server took it (retried as the command retries)."""
        self._step().send(self._ctx, text)

    def send_and_wait(self, text: str, timeout: float = DEFAULT_WAIT) -> ChatEvent:
        """Send `text`, then wait for the agent's next message (events from before the send are skipped)."""
        self._cursor = len(self.shown)
        self.send(text)
        return self.wait_for(EventKind.MESSAGE, timeout=timeout)

    def typing(self, on: bool = True) -> None:
        """Tell the agent the visitor is typing (or stopped)."""
        self._step().typing(self._ctx, on)

    def choose(self, number: int) -> None:
        """Answer the agent's latest menu with its item `number` (from 1), as `liveagent choose N` does."""
        self._step().choose(self._ctx, number)

    def upload(self, path: str | Path, *, any_type: bool = False) -> None:
        """Send the file the agent asked for, as `liveagent upload FILE` does."""
        self._step().upload(self._ctx, Path(path), any_type=any_type, on_progress=None)

    def end(self, reason: str = "client") -> None:
        """`liveagent end`: end the chat (Enhanced Chat: close the conversation) and forget the session."""
        if not self._open:
            return
        self._open = False
        self._step().end(self._ctx, reason=reason, local=False, keep_conversation=False)

    def close(self) -> None:
        """End the chat if it is still open (quietly: the agent may have ended it), and remove the state folder."""
        try:
            if self._open and self._ctx.store.exists():
                from liveagent_cli.core.errors import LiveAgentError

                try:
                    self.end()
                except LiveAgentError:
                    pass
        finally:
            self._open = False
            self._ctx.close()
            shutil.rmtree(self._folder, ignore_errors=True)

    # -- what arrived ----------------------------------------------------------------------------------
    @property
    def events(self) -> list[ChatEvent]:
        """Every event read so far, in order."""
        return [shown.event for shown in self.shown]

    @property
    def agent_messages(self) -> list[str]:
        """The text of every agent message read so far."""
        return [e.text for e in self.events if e.kind is EventKind.MESSAGE]

    def _take(self, wanted: set[str]) -> ChatEvent | None:
        for index in range(self._cursor, len(self.shown)):
            event = self.shown[index].event
            if str(event.kind) in wanted or event.type in wanted:
                self._cursor = index + 1
                return event
        return None

    def _step(self) -> ChatApi:
        return pick(self._ctx)

    def __enter__(self) -> VisitorChat:
        if not self._open:
            try:
                self.start()
            except BaseException:
                self.close()
                raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<VisitorChat {self.api} {'open' if self._open else 'closed'}, {len(self.shown)} events>"
