"""Running the sandbox: configuration checks, the thread runner, the foreground runner and its signals."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable

import pytest
import requests

from liveagent_cli.sandbox import AGENT_USER_ID, Sandbox, SandboxConfig
from liveagent_cli.sandbox.defaults import to_18_char_id
from liveagent_cli.sandbox.liveagent.session import Session


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "example.com"])
def test_non_loopback_host_is_refused_without_allow_remote(host: str) -> None:
    with pytest.raises(ValueError, match="not a loopback address"):
        Sandbox(SandboxConfig(host=host))
    Sandbox(SandboxConfig(host=host, allow_remote=True))  # explicitly allowed: accepted (not started)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost"])
def test_loopback_hosts_are_accepted_and_served(host: str) -> None:
    with Sandbox(SandboxConfig(host=host)) as sandbox:
        health = requests.get(sandbox.url.split("/chat/rest/")[0] + "/_sandbox/health", timeout=5)
    assert health.status_code == 200 and health.json()["status"] == "ok"


BAD_SETTINGS = [
    ("agent", "nobody"),
    ("agent", "script:x.toml"),
    ("port", 70000),
    ("poll_hold", -1.0),
    ("accept_after", float("nan")),
    ("connection_timeout", 0.0),
]


@pytest.mark.parametrize(("field", "value"), BAD_SETTINGS)
def test_bad_settings_are_value_errors(field: str, value: object) -> None:
    with pytest.raises(ValueError):
        SandboxConfig(**{field: value}).validate()  # type: ignore[arg-type]


def test_start_stop_and_urls() -> None:
    sandbox = Sandbox(SandboxConfig(accept_after=0))
    with pytest.raises(RuntimeError):
        _ = sandbox.url
    with sandbox:
        assert sandbox.running
        assert sandbox.port > 0
        assert sandbox.url == f"http://127.0.0.1:{sandbox.port}"
        assert sandbox.pod_url == f"http://127.0.0.1:{sandbox.port}/chat/rest/"
        assert requests.get(sandbox.url + "/_sandbox/health", timeout=5).json()["status"] == "ok"
    assert not sandbox.running  # stop() returned with the thread gone, not after its join timeout
    with pytest.raises(requests.ConnectionError):
        requests.get(sandbox.url + "/_sandbox/health", timeout=2)
    sandbox.stop()  # twice is fine


def test_busy_port_raises_oserror_from_start(shared_sandbox: Sandbox) -> None:
    with pytest.raises(OSError):
        Sandbox(SandboxConfig(port=shared_sandbox.port)).start()


def test_issued_keys_lists_session_keys(make_sandbox: Callable[..., Sandbox]) -> None:
    sandbox = make_sandbox()
    key = requests.get(
        sandbox.pod_url + "System/SessionId", timeout=5, headers={"X-LIVEAGENT-API-VERSION": "42"}
    ).json()["key"]
    assert sandbox.issued_keys() == [key]


def test_seed_makes_ids_reproducible() -> None:
    ids = []
    for _ in range(2):
        with Sandbox(SandboxConfig(seed=7)) as sandbox:
            info = requests.get(
                sandbox.pod_url + "System/SessionId", timeout=5, headers={"X-LIVEAGENT-API-VERSION": "42"}
            ).json()
            ids.append((info["id"], info["affinityToken"]))
    assert ids[0] == ids[1]


_SERVE = textwrap.dedent("""
    import sys
    from liveagent_cli.sandbox import SandboxConfig, serve_forever
    serve_forever(SandboxConfig(poll_hold=30), lambda url: print(url, flush=True))
    print("returned", flush=True)
""")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_forever_returns_cleanly_on_signals(sig: signal.Signals) -> None:
    proc = subprocess.Popen([sys.executable, "-c", _SERVE], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        pod_url = proc.stdout.readline().strip()
        assert pod_url.startswith("http://127.0.0.1:") and pod_url.endswith("/chat/rest/")
        assert requests.get(pod_url.replace("/chat/rest/", "/_sandbox/health"), timeout=5).status_code == 200
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert out.strip() == "returned"
    assert "Traceback" not in err


def test_agent_user_id_is_a_valid_18_char_id() -> None:
    assert AGENT_USER_ID == "0055g000000SBOXAA4"
    assert to_18_char_id("001A0000006Vm9r") == "001A0000006Vm9rIAC"
    with pytest.raises(ValueError):
        to_18_char_id("short")


def test_session_take_applies_acks() -> None:
    async def scenario() -> None:
        session = Session("id", "key", "aff", 1000, "http://127.0.0.1", 0.0)
        for i in range(3):
            session.queue("T", {"i": i})
        assert [m.n for m in session.take(None)] == [1, 2, 3]
        assert session.take(None) == []  # no ack information: delivered once
        session.queue("T", {"i": 3})
        assert [m.n for m in session.take(2)] == [4]  # acks never move backwards
        assert [m.n for m in session.take(3)] == [4]  # not acked yet: re-delivered
        assert session.take(99) == []  # acking beyond the last message acks everything
        session.queue("T", {})
        assert [m.n for m in session.take(4)] == [5]

    asyncio.run(scenario())


def test_the_sandbox_imports_nothing_from_the_client_nor_third_parties() -> None:
    banned = ("liveagent_cli.core", "liveagent_cli.cli", "liveagent_cli.flows", "requests", "rich", "typer", "urllib3")
    probe = f"import sys, liveagent_cli.sandbox\nprint(sorted(m for m in sys.modules if m.startswith({banned})))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=30, check=True)
    assert result.stdout.strip() == "[]"
