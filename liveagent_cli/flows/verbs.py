"""The verbs every chat API implements (`ChatApi`) and what they hand back to the command layer.

`liveagent` drives two APIs with the same commands: legacy Live Agent (flows/liveagent_verbs.py over the
flows it always had) and Enhanced Chat (flows/miaw/). Each is a sibling behind `ChatApi`; flows/api_choice.py
picks one for a step, and the command layer renders what it returns (`Done` documents, `Shown` lines), so
no flow branches on the API.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from liveagent_cli.core.chat_events import ChatEvent
from liveagent_cli.flows.context import Context

LIVEAGENT, MIAW = "liveagent", "miaw"
API_WORDS = {LIVEAGENT: "Live Agent", MIAW: "Enhanced Chat"}


@dataclass(frozen=True)
class Shown:
    """One thing that arrived, ready to print: `line` is its --json line (the API's own fields plus the
    contract's `kind`, and `text`/`sender` on messages), `event` its meaning for the human line, `agent` who
    the agent is at that point (for typing, menu and file lines that name nobody)."""

    line: dict[str, Any]
    event: ChatEvent
    agent: str = "agent"


OnShown = Callable[[Shown], None]


@dataclass(frozen=True)
class Done:
    """What a step did: the --json document, or for people `fields` (key/value lines) or `lines`; `note` goes
    to stderr, in --json mode too unless `quiet_in_json`; `summary` is what it did in a few words (a smoke row)."""

    document: dict[str, Any]
    note: str = ""
    lines: tuple[str, ...] = ()
    fields: dict[str, Any] | None = None
    quiet_in_json: bool = False
    summary: str = ""


@dataclass(frozen=True)
class PollOutcome:
    """What a poll run saw (sets, so a follower's memory stays flat)."""

    types: set[str] = field(default_factory=set)
    kinds: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Available:
    """An availability answer: whether someone can take a chat now, the document, the human lines and, when
    nobody can, the error's words."""

    available: bool
    document: dict[str, Any]
    lines: tuple[str, ...]
    refusal: str = ""


@dataclass(frozen=True)
class InitOptions:
    """What `init` (and `chat`) were given: the Live Agent fields resolve_init builds, and the pre-chat values
    as NAME=VALUE pairs for Enhanced Chat's form."""

    fields: dict[str, Any]
    prechat_values: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class IdentityToken:
    """A verified user's identity JWT and where it came from (the source is stored, never the token)."""

    token: str
    source: str


class ChatApi(Protocol):
    """The verbs of the contract's command table, each a step that reads the state, talks, writes the state.

    `chat` drives the same verbs from threads, and needs three things more: `check_settings` (what its steps
    need, checked before a session exists to be left behind), `poll`'s `stop` (asked between reads: a run
    ends quietly once it says so) and `awaits_poller` (whether a step in flight waits for this session's
    poller to move on, so the chat must not hold back what the poller brings meanwhile).
    """

    name: str
    uploads_need_request: bool  # a file goes only to an agent who asked for one (Live Agent's file token)

    def check_settings(self, ctx: Context) -> None: ...
    def awaits_poller(self, ctx: Context) -> bool: ...
    def open_session(self, ctx: Context, *, replace: bool, identity: IdentityToken | None) -> Done: ...
    def init(self, ctx: Context, options: InitOptions) -> Done: ...
    def poll(
        self,
        ctx: Context,
        on_shown: OnShown,
        *,
        follow: bool,
        until: Iterable[str],
        timeout: float | None,
        stop: Callable[[], bool] | None = None,
    ) -> PollOutcome: ...
    def send(self, ctx: Context, text: str) -> Done: ...
    def end(self, ctx: Context, *, reason: str, local: bool, keep_conversation: bool) -> Done: ...
    def typing(self, ctx: Context, on: bool) -> Done: ...
    def choose(self, ctx: Context, number: int) -> Done: ...
    def upload(self, ctx: Context, path: Path, *, any_type: bool, on_progress: Any) -> Done: ...
    def history(self, ctx: Context, *, limit: int | None) -> list[Shown]: ...
    def availability(self, ctx: Context, ids: list[str]) -> Available: ...
    def visitor_settings(self, ctx: Context, ids: list[str]) -> Done: ...
    def status(self, ctx: Context, *, show_secrets: bool) -> Done: ...
    def until_names(self) -> list[str]: ...
