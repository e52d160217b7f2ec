"""A failed request, in the words of the OS: what `requests` raised becomes one NetworkError line and a hint.

requests and urllib3 wrap the real cause two or three times (`ConnectionError(MaxRetryError(
NewConnectionError(ConnectionRefusedError)))`) and their text is a nest of reprs. The useful words are the
innermost OS or TLS error's own (`strerror`, the certificate's `verify_message`), so `network_error` walks
`__cause__`/`__context__` down to it and names the failure (`NetworkFailure`) for the flows' retry policy.
Nothing here imports requests, http.client or ssl at module level: the command path pays for them only when it
sends (requests loads both), and a step that only reads the state (Enhanced Chat's `status`, whose flows import
this module) not at all: http.client and ssl are about 16 ms of imports.
"""

from __future__ import annotations

import os
import re
import socket
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from liveagent_cli.core.errors import ConfigError, NetworkError, NetworkFailure

if TYPE_CHECKING:
    import requests

_NETWORK_HINT = "check --pod and your network"
_PORT_HINT = "check the port in --pod: it must be the pod's Chat API endpoint"
_NAME_UNKNOWN = {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}
_SSL_NOISE = re.compile(r"^\[SSL(?::\s*[A-Z_]+)?\]\s*|\s*\(_ssl\.c:\d+\)$")


def network_error(exc: BaseException, url: str, timeout: float) -> NetworkError:
    """The NetworkError for `exc`, raised by a request to `url` that had `timeout` seconds to answer."""
    parts = urlsplit(url)
    host = parts.hostname or url
    where = f"{host}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
    inner = innermost(exc)
    failure, message, hint = _describe(inner, host, where, timeout)
    if failure is NetworkFailure.OTHER and _is_a(exc, "Timeout"):
        failure, message, hint = _timed_out(host, timeout)
    if _is_a(exc, "ProxyError"):  # the words are the proxy's, not the pod's
        message, hint = f"{message} (through the proxy)", "check HTTPS_PROXY, HTTP_PROXY and NO_PROXY"
    return NetworkError(message, hint, failure=failure, host=host)


def innermost(exc: BaseException) -> BaseException:
    """The deepest OS, TLS or HTTP-parsing error in the chain of `exc` (itself when there is none)."""
    import http.client

    found, seen = exc, set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError | http.client.HTTPException):
            found = current
        reason = getattr(current, "reason", None)  # urllib3's MaxRetryError keeps the cause here
        current = current.__cause__ or current.__context__ or (reason if isinstance(reason, BaseException) else None)
    return found


def os_words(exc: BaseException) -> str:
    """An OS error's own text, first letter lowered to sit after a colon: `connection refused`."""
    text = getattr(exc, "strerror", None) or ""
    if not isinstance(text, str) or not text:
        text = str(exc) if not isinstance(exc, OSError) or exc.args else type(exc).__name__
    text = _SSL_NOISE.sub("", text.strip())
    acronym = text[:2].isupper()  # SSL, EOF: keep as written
    return text if acronym else text[:1].lower() + text[1:]


def _describe(inner: BaseException, host: str, where: str, timeout: float) -> tuple[NetworkFailure, str, str]:
    import http.client
    import ssl

    if isinstance(inner, ssl.SSLCertVerificationError):
        detail = inner.verify_message or os_words(inner)
        return (
            NetworkFailure.TLS_VERIFY,
            f"TLS failure talking to {host}: certificate verify failed: {detail}",
            "for a private CA, point REQUESTS_CA_BUNDLE at its certificate file",
        )
    if isinstance(inner, ssl.SSLEOFError):
        return NetworkFailure.DROPPED, f"{host} closed the connection during the TLS handshake", _NETWORK_HINT
    if isinstance(inner, ssl.SSLError):
        if inner.reason in ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "HTTP_REQUEST"):
            return (
                NetworkFailure.PLAIN_HTTP,
                f"the pod at {where} answered in plain HTTP, not TLS: use http:// (fine for loopback)",
                f"e.g. --pod http://{where}; a pod that is not on loopback should speak TLS",
            )
        return NetworkFailure.TLS, f"TLS failure talking to {host}: {os_words(inner)}", _NETWORK_HINT
    if isinstance(inner, socket.gaierror):
        if inner.errno in _NAME_UNKNOWN:
            return (
                NetworkFailure.NAME_UNKNOWN,
                f"cannot reach {host}: {os_words(inner)}",
                f"the name {host} does not resolve: check the host in --pod",
            )
        return NetworkFailure.NAME_LOOKUP, f"cannot reach {host}: {os_words(inner)}", "check your network and DNS"
    if isinstance(inner, ConnectionRefusedError):
        return (
            NetworkFailure.REFUSED,
            f"cannot reach {host}: {os_words(inner)}",
            f"nothing listens on {where}: is the pod (or `liveagent sandbox serve`) running, and the port right?",
        )
    if isinstance(inner, http.client.RemoteDisconnected):  # before ConnectionResetError: it is both
        return NetworkFailure.DROPPED, f"{host} closed the connection without an answer", _NETWORK_HINT
    if isinstance(inner, http.client.BadStatusLine | http.client.LineTooLong):
        said = _printable(inner.args[0] if inner.args else "")
        return (
            NetworkFailure.NOT_HTTP,
            f"{where} does not speak HTTP" + (f" (it said {said!r})" if said else ""),
            _PORT_HINT,
        )
    if isinstance(inner, http.client.HTTPException):
        return NetworkFailure.DROPPED, f"the answer from {host} was cut off", _NETWORK_HINT
    if isinstance(inner, ConnectionResetError):
        return (
            NetworkFailure.RESET,
            f"{where} reset the connection without answering: it does not seem to speak HTTP",
            _PORT_HINT,
        )
    if isinstance(inner, TimeoutError):
        return _timed_out(host, timeout)
    if isinstance(inner, OSError) and (inner.strerror or (len(inner.args) == 1 and isinstance(inner.args[0], str))):
        # the OS's words, or a plain sentence such as a proxy's "Tunnel connection failed: 403 Forbidden"
        return NetworkFailure.OTHER, f"cannot reach {host}: {os_words(inner)}", _NETWORK_HINT
    return NetworkFailure.OTHER, f"the request to {host} failed ({type(inner).__name__})", _NETWORK_HINT


def _timed_out(host: str, seconds: float) -> tuple[NetworkFailure, str, str]:
    return NetworkFailure.TIMED_OUT, timed_out_message(host, seconds), "check the pod URL and your network"


def timed_out_message(host: str, seconds: float) -> str:
    """`no answer from HOST in N s`, in whole seconds (at least 1)."""
    return f"no answer from {host} in {max(1, round(seconds))} s"


def _is_a(exc: BaseException, name: str) -> bool:
    """Is `exc` one of requests' exceptions called `name` (Timeout, ProxyError)?"""
    import requests

    kind = getattr(requests.exceptions, name)
    return isinstance(exc, kind)


def _printable(raw: Any) -> str:
    text = raw.decode("latin-1") if isinstance(raw, bytes) else str(raw)
    return "".join(c for c in text.strip() if c.isprintable())[:40]


def check_ca_bundle(http: requests.Session, url: str) -> None:
    """A REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE naming no file is a configuration error, said before sending.

    requests would raise a bare OSError at the first https request; the variable is the user's to fix.
    """
    verify = http.merge_environment_settings(url, {}, None, None, None).get("verify")
    if not isinstance(verify, str) or os.path.exists(verify):
        return
    names = [n for n in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE") if os.environ.get(n) == verify]
    named = names[0] if names else "the CA bundle setting"
    raise ConfigError(
        f"{named} names a file that does not exist: {verify}",
        hint=f"point {named} at the CA's certificate file (PEM), or unset it to use the system's CAs",
    )
