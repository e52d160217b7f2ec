"""What every flow needs: where state lives, how to talk to the pod, where to print."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from liveagent_cli.core.output import Output
from liveagent_cli.core.settings import Settings
from liveagent_cli.core.state import SessionState, StateStore

if TYPE_CHECKING:
    from liveagent_cli.core.client import LiveAgentClient
    from liveagent_cli.core.exchange import WireRecord


@dataclass
class Context:
    settings: Settings
    store: StateStore
    out: Output
    verbose: bool = False
    session_named: bool = False  # --session or LIVEAGENT_SESSION was given
    environ: Mapping[str, str] = field(default_factory=dict)  # the command's variables: LIVEAGENT_NETWORK_TIMEOUT
    _http: Any = None

    def __post_init__(self) -> None:
        """The store's lock waits take the step's budget, and say on stderr whom they wait for."""
        from liveagent_cli.core.errors import ConfigError
        from liveagent_cli.flows.deadline import give_up_seconds

        with contextlib.suppress(ConfigError):  # a malformed budget is reported by the step that needs it
            self.store.lock_wait = give_up_seconds(self.environ)
        self.store.note = self.out.note

    def client(self, pod: str, api_version: str, state: SessionState | None = None) -> LiveAgentClient:
        """A client for `pod` carrying the stored key and affinity, over this Context's connection pool.

        Each caller gets its own client, so one can adopt a new affinity without racing another; the clients of
        one Context share its `requests.Session`, so a thread that runs beside others takes `for_thread()`.
        """
        from liveagent_cli.core.client import LiveAgentClient
        from liveagent_cli.core.exchange import new_http_session

        if self._http is None:
            self._http = new_http_session()
        if state:
            self.out.redactor.add(state.key)
        return LiveAgentClient(
            pod,
            api_version,
            key=state.key if state else None,
            affinity=state.affinity if state else None,
            on_exchange=self.log_exchange if self.verbose else None,
            http=self._http,
        )

    def for_thread(self) -> Context:
        """This context over a connection pool of its own (closed with `close()`), for a thread that talks to the
        pod while others do: requests does not promise that one Session is safe across threads (psf/requests#2766).
        """
        return dataclasses.replace(self, _http=None)

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    def log_exchange(self, ex: WireRecord) -> None:
        """The --verbose wire log of one exchange (either API's client), secrets redacted."""
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
