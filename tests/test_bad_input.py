"""Every bad input gets its contract exit code and one line on stderr (plus a hint), never a traceback."""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

import pytest

from tests.badpod import bad_pod, silent_pod
from tests.conftest import Cli


def _clean_failure(run, code: int, needle: str) -> None:  # type: ignore[no-untyped-def]
    assert run.code == code, (run.code, run.stderr)
    assert run.stderr.startswith("error: "), run.stderr
    assert needle in run.stderr.splitlines()[0], run.stderr
    assert "Traceback" not in run.stderr
    assert run.stdout == ""


@pytest.mark.parametrize(
    ("args", "env", "code", "needle"),
    [
        (["session", "--pod", "not a url"], {}, 3, "not a valid URL"),
        (["session", "--pod", "ftp://pod.example.com"], {}, 3, "not an http(s) URL"),
        (["session", "--pod", "http://pod.example.com"], {}, 3, "refusing plain http"),
        (["session", "--api-version", "v58"], {}, 3, "not a positive integer"),
        (["session", "--profile", "nope"], {}, 3, "(so no profile 'nope')"),
        (["session", "--session", "../x"], {}, 2, "invalid session name"),
        (["send", "hello"], {}, 6, "no session"),
        (["poll"], {}, 6, "no session"),
        (["status"], {}, 6, "no session"),
        (["end"], {}, 6, "no session"),
    ],
)
def test_refusals_before_any_request(cli: Cli, args: list[str], env: dict[str, str], code: int, needle: str) -> None:
    _clean_failure(cli(*args, **env), code, needle)


def test_malformed_ids_are_refused_before_sending(cli: Cli) -> None:
    cli("session")
    for flag, value in (("--org-id", "00D123"), ("--deployment-id", "5735g000000SBOX"), ("--button-id", "573!!")):
        _clean_failure(cli("init", flag, value), 3, "not a valid Salesforce id")
    assert cli("status", "--json").code == 0, "the stored session survives the refusals"


def test_unknown_option_and_missing_argument_are_usage_errors(cli: Cli) -> None:
    assert cli("send").code == 2
    assert cli("poll", "--bogus").code == 2


def test_empty_message_and_invalid_utf8(cli: Cli) -> None:
    cli("session")
    _clean_failure(cli("send", ""), 2, "the message is empty")
    _clean_failure(cli("send", "-", input=b"\xff\xfe\n"), 2, "not valid UTF-8")


@pytest.mark.parametrize("content", [b"garbage \x00\x01", b"schema = 7\n", b"[session]\nkey='x'\n"])
def test_corrupt_or_foreign_state_is_exit_3_and_kept(cli: Cli, isolated_env: Path, content: bytes) -> None:
    state = isolated_env / "state"
    state.mkdir(mode=0o700)
    (state / "default.toml").write_bytes(content)
    _clean_failure(cli("send", "hello"), 3, "state file")
    _clean_failure(cli("session"), 3, "state file")
    assert (state / "default.toml").read_bytes() == content, "nothing already stored is lost"


@pytest.mark.parametrize(
    ("mode", "code", "needle"),
    [
        ("html", 5, "HTML"),
        ("text", 5, "not JSON"),
        ("oversized", 5, "larger than"),
        ("status418", 5, "HTTP 418"),
    ],
)
def test_replies_that_are_not_the_api(cli: Cli, mode: str, code: int, needle: str) -> None:
    with bad_pod(mode) as url:
        run = cli("session", "--pod", url)
    _clean_failure(run, code, needle)
    assert "hint:" in run.stderr


def test_a_pod_that_never_answers_gives_up_within_the_budget(cli: Cli) -> None:
    with silent_pod() as url:
        run = cli("session", "--pod", url, LIVEAGENT_NETWORK_TIMEOUT="1.5", timeout=30)
    _clean_failure(run, 4, "no answer from 127.0.0.1")


@pytest.mark.process  # REQUESTS_CA_BUNDLE is read by requests from the process's own environment
def test_tls_is_verified_and_a_custom_ca_is_honoured(cli: Cli, tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with bad_pod("ok", context) as url:
        refused = cli("session", "--pod", url, LIVEAGENT_NETWORK_TIMEOUT="1")
        trusted = cli("session", "--pod", url, REQUESTS_CA_BUNDLE=str(cert))
    _clean_failure(refused, 4, "TLS failure")
    assert "REQUESTS_CA_BUNDLE" in refused.stderr
    assert trusted.code == 0, trusted.stderr
