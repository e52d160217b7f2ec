"""What every flow needs: where state lives, how to talk to the pod, where to print."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from liveagent_cli.core.output import Output
from liveagent_cli.core.settings import Settings
from liveagent_cli.core.state import SessionState, StateStore

if TYPE_CHECKING:
    from liveagent_cli.core.client import Exchange, LiveAgentClient


@dataclass
class Context:
    settings: Settings
    store: StateStore
    out: Output
    verbose: bool = False
    _clients: dict[tuple[str, str], LiveAgentClient] = field(default_factory=dict)

    def client(self, pod: str, api_version: str, state: SessionState | None = None) -> LiveAgentClient:
        """The process's client for `pod` (one connection pool), set to the stored key and affinity."""
        from liveagent_cli.core.client import LiveAgentClient

        client = self._clients.get((pod, api_version))
        if client is None:
            client = LiveAgentClient(pod, api_version, on_exchange=self._log_exchange if self.verbose else None)
            self._clients[(pod, api_version)] = client
        if state:
            client.key, client.affinity = state.key, state.affinity
            self.out.redactor.add(state.key)
        return client

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()

    def _log_exchange(self, ex: Exchange) -> None:
        red = self.out.redactor
        self.out.wire(f"> {ex.method} {red.text(ex.url)}")
        for name, value in red.headers(ex.request_headers).items():
            self.out.wire(f">   {name}: {value}")
        if ex.status is None:
            self.out.wire(f"< no answer ({ex.error}) after {ex.elapsed_ms:.0f} ms")
            return
        self.out.wire(f"< {ex.status} {ex.reason} in {ex.elapsed_ms:.0f} ms")
        for name, value in red.headers(ex.response_headers).items():
            self.out.wire(f"<   {name}: {value}")
