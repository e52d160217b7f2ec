"""How the client meets a bad network: each failure in the OS's own words, with a hint of its own, and the
retry policy that follows from it (real sockets on loopback; nothing is mocked)."""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from liveagent_cli.core.client import LiveAgentClient
from liveagent_cli.core.errors import ConfigError, NetworkError, NetworkFailure
from tests.badpod import RawPod, bad_pod, silent_pod


def _fails(url: str, timeout: float = 2.0) -> NetworkError:
    client = LiveAgentClient(url, "58")
    try:
        with pytest.raises(NetworkError) as caught:
            client.session_id(timeout=timeout)
    finally:
        client.close()
    return caught.value


def _plain(text: str) -> None:
    """No Python reprs or urllib3 nesting in what a person reads."""
    for debris in ("Errno", "HTTPConnection", "Max retries", "Caused by", "(('", "'))", "_ssl.c"):
        assert debris not in text, text


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def test_a_name_that_does_not_resolve_says_so_in_the_os_words() -> None:
    try:
        socket.getaddrinfo("nonsense.invalid", 80)
    except socket.gaierror as exc:
        words = exc.strerror
    else:
        pytest.skip("this resolver answers for .invalid names")
    error = _fails("http://nonsense.invalid/chat/rest/")
    assert error.message == f"cannot reach nonsense.invalid: {words[0].lower()}{words[1:]}"
    assert error.failure in (NetworkFailure.NAME_UNKNOWN, NetworkFailure.NAME_LOOKUP)
    assert "resolve" in (error.hint or "") or "DNS" in (error.hint or "")
    _plain(error.message)


def test_a_refused_connection() -> None:
    port = _free_port()
    error = _fails(f"http://127.0.0.1:{port}/chat/rest/")
    assert error.message == "cannot reach 127.0.0.1: connection refused"
    assert error.failure is NetworkFailure.REFUSED
    assert f"nothing listens on 127.0.0.1:{port}" in (error.hint or "")


def test_a_certificate_that_fails_verification(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with bad_pod("ok", context) as url:
        error = _fails(url)
    assert error.message == "TLS failure talking to 127.0.0.1: certificate verify failed: self-signed certificate"
    assert error.failure is NetworkFailure.TLS_VERIFY
    assert "REQUESTS_CA_BUNDLE" in (error.hint or "")


def test_plain_http_answering_an_https_url() -> None:
    with bad_pod("ok") as url:
        port = url.rsplit(":", 1)[1]
        error = _fails(url.replace("http://", "https://"))
    assert error.message == (
        f"the pod at 127.0.0.1:{port} answered in plain HTTP, not TLS: use http:// (fine for loopback)"
    )
    assert error.failure is NetworkFailure.PLAIN_HTTP
    assert "REQUESTS_CA_BUNDLE" not in (error.hint or ""), "the CA hint belongs to certificate failures alone"
    _plain(error.message)


def test_a_port_that_speaks_ssh() -> None:
    with RawPod(b"SSH-2.0-OpenSSH_9.6\r\n") as pod:
        error = _fails(f"http://127.0.0.1:{pod.port}/")
    assert error.message == f"127.0.0.1:{pod.port} does not speak HTTP (it said 'SSH-2.0-OpenSSH_9.6')"
    assert error.failure is NetworkFailure.NOT_HTTP


def test_a_port_that_resets_the_connection() -> None:
    with RawPod(None) as pod:
        error = _fails(f"http://127.0.0.1:{pod.port}/")
    assert error.message.startswith(f"127.0.0.1:{pod.port} reset the connection without answering")
    assert error.failure is NetworkFailure.RESET
    _plain(error.message)


def test_one_request_that_gets_no_answer_names_its_own_timeout_in_whole_seconds() -> None:
    with silent_pod() as url:
        error = _fails(url, timeout=1.25)
    assert error.message == "no answer from 127.0.0.1 in 1 s"
    assert error.failure is NetworkFailure.TIMED_OUT


def test_a_ca_bundle_that_does_not_exist_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/nonexistent.pem")
    client = LiveAgentClient(f"https://127.0.0.1:{_free_port()}/chat/rest/", "58")
    with pytest.raises(ConfigError) as caught:
        client.session_id(timeout=1)
    assert caught.value.message == "REQUESTS_CA_BUNDLE names a file that does not exist: /nonexistent.pem"
    assert "REQUESTS_CA_BUNDLE" in (caught.value.hint or "")


def test_a_proxy_that_refuses_is_named_as_the_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NO_PROXY", "no_proxy", "http_proxy", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{_free_port()}")
    error = _fails("http://pod.example/chat/rest/")
    assert error.message == "cannot reach pod.example: connection refused (through the proxy)"
    assert "HTTP_PROXY" in (error.hint or "")


def test_a_proxy_that_refuses_the_tunnel_keeps_its_own_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    class RefusingProxy(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_CONNECT(self) -> None:  # noqa: N802 - http.server's naming
            self.send_response(403)
            self.send_header("Content-Length", "0")
            self.end_headers()

    proxy = ThreadingHTTPServer(("127.0.0.1", 0), RefusingProxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    for name in ("NO_PROXY", "no_proxy", "https_proxy", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{proxy.server_address[1]}")
    try:
        error = _fails("https://pod.example/chat/rest/")
    finally:
        proxy.shutdown()
        proxy.server_close()
    assert error.message == "cannot reach pod.example: tunnel connection failed: 403 Forbidden (through the proxy)"
