"""Agent behaviours: who answers the visitor inside the sandbox (`--agent`).

An agent is created per chat when the visitor requests it, and told what the visitor does (`on_init`,
`on_established`, `on_visitor_event`, `on_end`); it acts only through its `AgentChat` (model/agent_port.py), the
port each API implements. That keeps behaviours free of HTTP, of any API's nouns and of the pod's
bookkeeping, so the scripted agent is one more class, and the control API can drive any chat whatever its
behaviour.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from liveagent_cli.sandbox.agents.script import load_script
from liveagent_cli.sandbox.agents.scripted import ScriptAgent
from liveagent_cli.sandbox.model.agent_port import AgentBehaviour, AgentChat, ChatState, VisitorEvent


@dataclass(frozen=True, slots=True)
class AgentSpec:
    """A `--agent` choice: how to make the behaviour of each new chat, and what availability says
    (satisfies `model.chat.Staffing`)."""

    name: str  # echo, manual, busy, script:FILE
    factory: Callable[[AgentChat], AgentBehaviour]
    available: bool = True  # availability checks report the buttons online
    expected_wait: float | None = None  # seconds before accepting, when known (queue estimates)


class Agent:
    """Base behaviour: does nothing; subclasses override what they react to."""

    def __init__(self, chat: AgentChat) -> None:
        self.chat = chat

    def on_init(self) -> None:
        """The visitor requested a chat; it is queued."""

    def on_established(self) -> None:
        """An agent accepted the chat (the visitor is being told)."""

    def on_visitor_event(self, event: VisitorEvent) -> None:
        """The visitor sent a message, typed, chose a menu item, uploaded a file..."""

    def on_end(self, by: str, reason: str) -> None:
        """The chat ended (`by`: visitor, agent, pod, timeout or reset); pending `later` calls are dropped."""


class EchoAgent(Agent):
    """Accepts after `accept_after` seconds, then answers every message with exactly the visitor's text."""

    def __init__(self, chat: AgentChat, accept_after: float) -> None:
        super().__init__(chat)
        self.accept_after = accept_after

    def on_init(self) -> None:
        self.chat.request_success()
        self.chat.later(self.accept_after, self._accept)

    def _accept(self) -> None:
        if self.chat.state is ChatState.QUEUED:
            self.chat.accept()

    def on_visitor_event(self, event: VisitorEvent) -> None:
        if event.kind == "message":
            self.chat.say(event.text)


class ManualAgent(Agent):
    """Stays queued until the control API says `accept`; says only what the control API tells it to."""

    def on_init(self) -> None:
        self.chat.request_success()


class BusyAgent(Agent):
    """No agent online: every chat request fails (reason Unavailable)."""

    def on_init(self) -> None:
        self.chat.request_fail("Unavailable")


AGENT_NAMES = ("echo", "manual", "busy", "script:FILE")


def agent_spec(name: str, *, accept_after: float = 1.0) -> AgentSpec:
    """The behaviour a `--agent` value names; ValueError (a ScriptError for scripts) says what is wrong."""
    if name == "echo":
        return AgentSpec(name, lambda chat: EchoAgent(chat, accept_after), expected_wait=accept_after)
    if name == "manual":
        return AgentSpec(name, ManualAgent)
    if name == "busy":
        return AgentSpec(name, BusyAgent, available=False)
    if name.startswith("script:"):
        path = name.removeprefix("script:")
        if not path:
            raise ValueError("script: needs a file, e.g. --agent script:bot.toml")
        script = load_script(path, default_accept_after=accept_after)
        return AgentSpec(name, lambda chat: ScriptAgent(chat, script), expected_wait=script.accept_after)
    raise ValueError(f"unknown agent {name!r}; use one of: {', '.join(AGENT_NAMES)}")
