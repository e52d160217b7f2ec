"""One logged HTTP exchange, as both API clients make it (core/client.py, core/miaw/client.py).

Each exchange has an explicit timeout, a reply read to a size cap (unless the caller keeps a stream open),
a `WireRecord` for the --verbose wire log whatever happened, and its failures turned into the tool's
NetworkError. The CA bundle a TLS pod is checked against is checked once per client, before the first
https request, so a missing bundle is a configuration error rather than a network one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from liveagent_cli import __version__
from liveagent_cli.core.errors import ApiError
from liveagent_cli.core.network_errors import check_ca_bundle, network_error

if TYPE_CHECKING:
    import requests

CONNECT_TIMEOUT = 10.0
POST_TIMEOUT = 30.0
MAX_REPLY_BYTES = 4 * 1024 * 1024
USER_AGENT = f"liveagent-cli/{__version__}"


@dataclass
class WireRecord:
    """One request and its answer (or failure), for the --verbose wire log."""

    method: str
    url: str
    request_headers: dict[str, str]
    status: int | None = None
    reason: str = ""
    elapsed_ms: float = 0.0
    response_headers: dict[str, str] = field(default_factory=dict)
    error: str = ""


def new_http_session() -> requests.Session:
    """The process's one connection pool; TLS verification stays on (REQUESTS_CA_BUNDLE adds a private CA)."""
    import requests

    http = requests.Session()
    http.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
    return http


class Exchanger:
    """What both clients share: their connection pool, their wire-log hook, and `_exchange`."""

    _http: requests.Session
    on_exchange: Callable[[WireRecord], None] | None
    _ca_checked: bool
    too_large: str  # how a reply over MAX_REPLY_BYTES is named in the error, e.g. "the pod's reply"
    too_large_hint: str

    def _exchange(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None,
        data: Any,
        headers: dict[str, str],
        connect_timeout: float,
        read_timeout: float,
        keep_open: bool = False,
    ) -> requests.Response:
        """One HTTP exchange with an explicit timeout, logged, its failures turned into NetworkError; with
        `keep_open` a 200's body is left unread (an event stream)."""
        import requests

        if url.startswith("https://") and not self._ca_checked:
            check_ca_bundle(self._http, url)
            self._ca_checked = True
        record = WireRecord(method, url, dict(headers))
        started = time.monotonic()
        try:
            response = self._http.request(
                method,
                url,
                params=params,
                data=data,
                headers=headers,
                timeout=(min(connect_timeout, read_timeout), read_timeout),
                stream=True,
            )
            record.url = response.url
            record.status, record.reason = response.status_code, response.reason or ""
            record.response_headers = dict(response.headers)
            if not (keep_open and response.status_code == 200):
                response._content = self._read_capped(response)
        except requests.exceptions.RequestException as exc:
            error = network_error(exc, url, read_timeout)
            record.error = error.failure.value
            raise error from exc
        finally:
            record.elapsed_ms = (time.monotonic() - started) * 1000
            if self.on_exchange is not None:
                self.on_exchange(record)
        return response

    def _read_capped(self, response: requests.Response) -> bytes:
        chunks, size = [], 0
        for chunk in response.iter_content(65536):
            size += len(chunk)
            if size > MAX_REPLY_BYTES:
                response.close()
                raise ApiError(
                    f"{self.too_large} is larger than {MAX_REPLY_BYTES // (1024 * 1024)} MiB; refusing to read it",
                    hint=self.too_large_hint,
                )
            chunks.append(chunk)
        return b"".join(chunks)
