"""Agent behaviours: who answers the visitor inside the sandbox.

An agent is created per chat at ChasitorInit (`AgentFactory(chat) -> agent`) and told what the visitor
does (`on_init`, `on_visitor_message`, `on_end`); it acts only through its `AgentChat` (request_success,
accept, say, typing, end, later). That keeps behaviours free of HTTP and of the pod's bookkeeping, so a
scripted TOML agent is one more class, and the control API can drive any chat (`sandbox agent say`)
whatever its behaviour.
"""

from __future__ import annotations

from collections.abc import Callable

from liveagent_cli.sandbox.pod import AgentBehaviour, AgentChat, AgentFactory, ChatState


class Agent:
    """Base behaviour: does nothing; subclasses override what they react to."""

    def __init__(self, chat: AgentChat) -> None:
        self.chat = chat

    def on_init(self) -> None:
        """The visitor's ChasitorInit arrived; the chat is queued."""

    def on_visitor_message(self, text: str) -> None:
        """The visitor sent a ChatMessage (only possible once established)."""

    def on_end(self, by: str, reason: str) -> None:
        """The chat ended (`by`: visitor, agent, pod, timeout or reset); pending `later` calls are dropped."""


class EchoAgent(Agent):
    """Accepts after `accept_after` seconds, then answers every message with exactly the visitor's text."""

    def __init__(self, chat: AgentChat, accept_after: float) -> None:
        super().__init__(chat)
        self.accept_after = accept_after

    def on_init(self) -> None:
        self.chat.request_success(estimated_wait_time=round(self.accept_after))
        self.chat.later(self.accept_after, self._accept)

    def _accept(self) -> None:
        if self.chat.state is ChatState.QUEUED:
            self.chat.accept()

    def on_visitor_message(self, text: str) -> None:
        self.chat.say(text)


class ManualAgent(Agent):
    """Stays queued until the control API says `accept`; says only what the control API tells it to."""

    def on_init(self) -> None:
        self.chat.request_success(estimated_wait_time=-1)


class BusyAgent(Agent):
    """No agent online: every ChasitorInit ends in ChatRequestFail {reason: Unavailable}."""

    def on_init(self) -> None:
        self.chat.request_fail("Unavailable")


AGENT_NAMES = ("echo", "manual", "busy")


def agent_factory(name: str, *, accept_after: float = 1.0) -> AgentFactory:
    """The factory for a `--agent` name; ValueError names the valid ones."""
    factories: dict[str, Callable[[AgentChat], AgentBehaviour]] = {
        "echo": lambda chat: EchoAgent(chat, accept_after),
        "manual": ManualAgent,
        "busy": BusyAgent,
    }
    factory = factories.get(name)
    if factory is None:
        if name.startswith("script:"):
            raise ValueError("scripted agents (script:FILE) are not supported yet; use echo, manual or busy")
        raise ValueError(f"unknown agent {name!r}; use one of: {', '.join(AGENT_NAMES)}")
    return factory
