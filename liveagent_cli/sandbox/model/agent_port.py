"""The chat as an agent sees it, whichever API the visitor came by: its phases, what the visitor did, and
the two sides of the port between agents and an API.

- `AgentChat` is what an agent may do to a chat (accept it, say something, offer a menu, end it...). Each
  API implements it for its own chats (`liveagent/agentchat.py` for Live Agent, `miaw/agentchat.py` for
  Enhanced Chat's messaging sessions) and turns each action into the message its visitors receive.
- `AgentBehaviour` is what an agent is told (the chat was requested, accepted, the visitor did something,
  the chat ended). The behaviours in `agents/` implement it, knowing nothing of HTTP nor of any API.
- `Staffing` is who answers new chats (an `agents.AgentSpec`): how to make each chat's behaviour, and what
  availability and wait an API may advertise before any chat exists.

A visitor event's `kind` is one of `VISITOR_EVENT_KINDS`; each API names its own wire nouns for them.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol


class ChatState(enum.StrEnum):
    NEW = "new"  # a session exists, no chat was requested yet
    QUEUED = "queued"  # requested, waiting for an agent
    ESTABLISHED = "established"
    ENDED = "ended"


# What a visitor can do inside a chat, in words no API uses on the wire.
VISITOR_EVENT_KINDS = (
    "message",  # a chat message
    "typing",
    "not-typing",
    "sneak-peek",  # what the visitor is typing, before sending it
    "custom-event",  # a page event of the visitor's own type
    "choice",  # an item of a menu the agent offered
    "file",  # the file the agent asked for arrived
    "idle-warning",  # the visitor's idle-timeout warning was triggered or cleared
    "sensitive-data",  # a sensitive-data rule fired on the visitor's side
    "breadcrumb",  # the visitor's page changed
    "end",  # the visitor ends the chat (agents hear of it through `on_end`, never as an event)
)

# The menus an agent can offer; each API renders them its own way.
MENU_KINDS = ("menu", "buttons")


class VisitorEvent(NamedTuple):
    """What the visitor did, as an agent sees it: `text` is the part a script matches against."""

    kind: str  # one of VISITOR_EVENT_KINDS
    data: dict[str, Any]
    text: str


class AgentBehaviour(Protocol):
    """One per chat, made when the chat is requested; see agents/behaviours.py."""

    def on_init(self) -> None: ...

    def on_established(self) -> None: ...

    def on_visitor_event(self, event: VisitorEvent) -> None: ...

    def on_end(self, by: str, reason: str) -> None: ...


class AgentChat(Protocol):
    """What an agent may do to one chat. A refused action raises the protocol's errors (model/refusals.py):
    `InvalidState` when the chat's phase does not allow it, `BadRequest` for a malformed argument."""

    @property
    def id(self) -> str: ...

    @property
    def state(self) -> ChatState: ...

    @property
    def visitor_name(self) -> str: ...

    @property
    def agent_name(self) -> str: ...

    # routing
    def request_success(self, *, estimated_wait_time: int | None = None) -> None:
        """The request is routed and waits in its queue (the visitor learns its place)."""

    def request_fail(self, reason: str = "Unavailable") -> None:
        """No agent will take the request: the chat ends."""

    def accept(self, *, name: str | None = None) -> None:
        """An agent (`name`, default the sandbox's own) takes the chat."""

    # talking
    def say(self, text: str) -> None: ...

    def typing(self, on: bool = True) -> None: ...

    def event(self, type_: str, data: str) -> None:
        """A custom event from the agent's console to the visitor's page."""

    def menu(self, items: list[str], *, kind: str = "menu", header: str | None = None) -> None:
        """Offer a menu (`kind` one of MENU_KINDS); the visitor answers with a `choice` event."""

    # people
    def transfer(self, name: str) -> None: ...

    def join(self, name: str) -> None: ...

    def leave(self, name: str) -> None: ...

    # files
    def request_file(self) -> str:
        """Ask the visitor for a file; returns the token its upload must carry."""

    def cancel_file(self) -> None: ...

    # the end, and time
    def end(self, reason: str = "agent") -> None: ...

    def later(self, delay: float, callback: Callable[[], None]) -> None:
        """Run `callback` on the sandbox's loop after `delay` seconds, unless the chat ends first."""

    def note(self, type_: str, data: dict[str, Any]) -> None:
        """Record something the sandbox did on this chat (a script step failing, for instance)."""


class Staffing(Protocol):
    """Who answers new chats (`--agent`): `agents.AgentSpec` is one."""

    @property
    def name(self) -> str: ...

    @property
    def available(self) -> bool:
        """Whether availability checks report the buttons online."""

    @property
    def expected_wait(self) -> float | None:
        """Seconds before accepting, when known: the queue's estimate before any chat was accepted."""

    @property
    def factory(self) -> Callable[[AgentChat], AgentBehaviour]: ...
