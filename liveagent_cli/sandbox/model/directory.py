"""The chats of one API as the control API sees them: listed, shown, driven, whichever API they came by.

Each API implements `ChatDirectory` for its own chats (control/routes.py for Live Agent's sessions,
miaw/directory.py for Enhanced Chat's conversations), so the control API, `sandbox agent` and the in-process
`Sandbox` act on either without knowing which. A chat's id is unique across APIs (a session id, a
conversation id: both UUIDs).
"""

from __future__ import annotations

from typing import Any, Protocol

from liveagent_cli.sandbox.model.agent_port import AgentChat


class ChatDirectory(Protocol):
    @property
    def api(self) -> str:
        """The API's name in views and `sandbox exec --api`: liveagent or miaw."""

    def chat_ids(self) -> list[str]:
        """Every chat it holds: live ones, then ended ones, oldest first within each."""

    def open_chat_ids(self) -> list[str]:
        """The chats queued or established."""

    def has(self, chat_id: str) -> bool: ...

    def agent_chat(self, chat_id: str) -> AgentChat:
        """What an agent may do to the chat (its current session's, for an API with several)."""

    def view(self, chat_id: str, *, events: bool = True) -> dict[str, Any]:
        """The chat as the control API shows it, with `api` naming the API; no secret, ever."""

    @property
    def live_count(self) -> int:
        """Sessions (or access tokens) alive, for the health answer."""
