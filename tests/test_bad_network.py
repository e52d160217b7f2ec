"""The steps against a bad network: a dead or silent pod, a port that is not the pod, dropped connections,
an unwritable state folder. Exit codes, messages and the number of attempts the pod saw; never elapsed time."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from liveagent_cli.sandbox import Sandbox
from tests.badpod import RawPod, silent_pod
from tests.conftest import LIVEAGENT, Cli


def _error(stderr: str) -> str:
    """The `error:` line of a run, without its prefix."""
    [line] = [line for line in stderr.splitlines() if line.startswith("error: ")]
    return line.removeprefix("error: ")


def _hint(stderr: str) -> str:
    [line] = [line for line in stderr.splitlines() if line.startswith("hint: ")]
    return line.removeprefix("hint: ")


def _seen(sandbox: Sandbox, noun: str) -> list[int | None]:
    """The status of every request for `noun` the sandbox received (None: dropped without an answer)."""
    return [r["status"] for r in sandbox.requests() if r["path"].rstrip("/").endswith("/" + noun)]


def _dead_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- QA2-07: the budget holds, and a note says what is going on ------------------------------------------------


def test_a_pod_that_drops_every_connection_is_retried_within_the_budget_with_one_note(
    cli: Cli, sandbox: Sandbox
) -> None:
    sandbox.add_fault("drop:path=SessionId")
    run = cli("session", LIVEAGENT_NETWORK_TIMEOUT="3")
    assert run.code == 4, run.stderr
    assert _error(run.stderr) == "127.0.0.1 closed the connection without an answer"
    notes = [line for line in run.stderr.splitlines() if "retrying" in line]
    assert notes == ["127.0.0.1 closed the connection without an answer; retrying for up to 3 s"]
    attempts = len(_seen(sandbox, "SessionId"))
    # waits of 0, 0.25, 0.5 and 1 s put the attempts at 0, 0, 0.25, 0.75 and 1.75 s; the next would start at
    # 3.75 s, past the budget, so it is not made (a slow machine only makes fewer)
    assert 3 <= attempts <= 5, attempts


def test_quiet_keeps_the_retry_note_to_itself(cli: Cli, sandbox: Sandbox) -> None:
    sandbox.add_fault("drop:path=SessionId")
    run = cli("session", "--quiet", LIVEAGENT_NETWORK_TIMEOUT="2")
    assert run.code == 4
    assert "retrying" not in run.stderr
    assert _error(run.stderr) == "127.0.0.1 closed the connection without an answer"


def test_a_silent_pod_is_reported_with_the_steps_budget(cli: Cli) -> None:
    with silent_pod() as url:
        run = cli("session", "--pod", url, LIVEAGENT_NETWORK_TIMEOUT="2")
    assert run.code == 4
    assert _error(run.stderr) == "no answer from 127.0.0.1 in 2 s"


# -- QA2-33..35: what the error says, and that a definite answer is not asked again -------------------------------


def test_a_refused_connection_reads_as_the_os_says_it(cli: Cli) -> None:
    port = _dead_port()
    run = cli("session", "--pod", f"http://127.0.0.1:{port}", LIVEAGENT_NETWORK_TIMEOUT="1")
    assert run.code == 4
    assert _error(run.stderr) == "cannot reach 127.0.0.1: connection refused"
    assert f"nothing listens on 127.0.0.1:{port}" in _hint(run.stderr)


def test_plain_http_on_an_https_url_is_said_at_once(cli: Cli, sandbox: Sandbox) -> None:
    run = cli("session", "--pod", f"https://127.0.0.1:{sandbox.port}", LIVEAGENT_NETWORK_TIMEOUT="10")
    assert run.code == 4
    assert _error(run.stderr) == (
        f"the pod at 127.0.0.1:{sandbox.port} answered in plain HTTP, not TLS: use http:// (fine for loopback)"
    )
    assert "REQUESTS_CA_BUNDLE" not in run.stderr
    assert "retrying" not in run.stderr, "a definite answer is not asked again"


def test_a_port_that_speaks_ssh_is_tried_once(cli: Cli) -> None:
    with RawPod(b"SSH-2.0-OpenSSH_9.6\r\n") as pod:
        run = cli("session", "--pod", f"http://127.0.0.1:{pod.port}", LIVEAGENT_NETWORK_TIMEOUT="10")
    assert run.code == 4
    assert _error(run.stderr) == f"127.0.0.1:{pod.port} does not speak HTTP (it said 'SSH-2.0-OpenSSH_9.6')"
    assert pod.connections == 1


def test_a_port_that_resets_every_connection_is_tried_twice(cli: Cli) -> None:
    with RawPod(None) as pod:
        run = cli("session", "--pod", f"http://127.0.0.1:{pod.port}", LIVEAGENT_NETWORK_TIMEOUT="10")
    assert run.code == 4
    assert _error(run.stderr).startswith(f"127.0.0.1:{pod.port} reset the connection without answering")
    assert pod.connections == 2, "one reset may be a blip; the second in a row is the answer"


def test_doctor_and_smoke_report_the_steps_own_words(cli: Cli, tmp_path: Path) -> None:
    pod = f"http://127.0.0.1:{_dead_port()}"
    words = "cannot reach 127.0.0.1: connection refused"
    doctor = cli("doctor", "--pod", pod, "--json", LIVEAGENT_NETWORK_TIMEOUT="1")
    assert doctor.code == 4
    [reachable] = [c for c in json.loads(doctor.stdout)["checks"] if c["check"] == "reachable"]
    assert reachable["detail"] == words
    report = tmp_path / "smoke.xml"
    smoke = cli("smoke", "--pod", pod, "--junit", str(report), LIVEAGENT_NETWORK_TIMEOUT="1")
    assert smoke.code == 4
    failed = [case.get("message") for case in ET.parse(report).getroot().iter() if case.tag in ("failure", "error")]
    assert failed == [words]


# -- QA2-08, QA2-09: the Visitor resources -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("noun", "args"),
    [
        ("Availability", ["availability"]),
        ("Settings", ["visitor-settings"]),
        ("Breadcrumb", ["breadcrumb", "https://example.com/pricing"]),
    ],
)
def test_one_dropped_connection_on_a_visitor_resource_is_retried(
    cli: Cli, sandbox: Sandbox, noun: str, args: list[str]
) -> None:
    sandbox.add_fault(f"drop:times=1,path={noun}")
    run = cli(*args)
    assert run.code == 0, run.stderr
    assert _seen(sandbox, noun) == [None, 200]


def test_a_switch_server_answer_to_a_breadcrumb_is_reported_as_availability_reports_it(
    cli: Cli, sandbox: Sandbox
) -> None:
    sandbox.add_fault("switch-server:path=Availability,times=1")
    availability = cli("availability")
    sandbox.add_fault("switch-server:path=Breadcrumb,times=1")
    breadcrumb = cli("breadcrumb", "https://example.com/pricing")
    assert availability.code == 5 and "lives on another server" in availability.stderr
    assert (breadcrumb.code, breadcrumb.stderr) == (availability.code, availability.stderr)


# -- QA2-51: a pod gone for good ---------------------------------------------------------------------------------


def test_end_against_a_gone_pod_says_how_to_forget_the_session(cli: Cli, sandbox: Sandbox, isolated_env: Path) -> None:
    cli.established()
    sandbox.stop()
    run = cli("end", LIVEAGENT_NETWORK_TIMEOUT="1")
    assert run.code == 4
    assert _error(run.stderr) == "cannot reach 127.0.0.1: connection refused"
    assert "`liveagent end --local` forgets the session here" in _hint(run.stderr)
    assert (isolated_env / "state" / "default.toml").exists(), "a failed end keeps the session"
    local = cli("end", "--local", "--json")
    assert local.code == 0, local.stderr
    assert json.loads(local.stdout) == {"ended": False, "local": True, "session": "default", "was_open": True}
    assert not (isolated_env / "state" / "default.toml").exists()
    assert cli("status").code == 6


# -- D8 and the 403 wording ---------------------------------------------------------------------------------------


def test_a_resync_poll_that_gets_no_answer_names_the_real_cause(cli: Cli, sandbox: Sandbox) -> None:
    cli.established()
    sandbox.add_fault("503:times=1,path=ChatMessage")
    sandbox.add_fault("drop:path=Messages")
    run = cli("send", "after the move", LIVEAGENT_NETWORK_TIMEOUT="2")
    assert run.code == 4
    assert _error(run.stderr) == "127.0.0.1 closed the connection without an answer"
    assert "kept moving" not in run.stderr


def test_after_a_403_the_reason_is_short_and_never_nested(cli: Cli, sandbox: Sandbox) -> None:
    cli.established()
    sandbox.reset()  # the pod forgets the session: the next request gets 403
    first = cli("send", "hello")
    assert first.code == 6
    assert _error(first.stderr) == "the pod no longer knows this session (403): it expired or the chat ended"
    again = cli("send", "hello again")
    assert again.code == 6
    assert _error(again.stderr) == "the chat on session 'default' has ended (403: expired or ended on the pod)"
    assert json.loads(cli("status", "--json").stdout)["ended_reason"] == "403: expired or ended on the pod"


# -- QA2-10, QA2-11: configuration the user has to fix (separate processes: a mount namespace, requests' env) -----


def _can_mount_read_only() -> str:
    """Why a read-only bind mount cannot be made here, or '' when it can (root and unshare -m)."""
    if shutil.which("unshare") is None:
        return "unshare is not installed"
    if os.geteuid() != 0:
        return "a read-only bind mount needs root (chmod does not stop root, so it cannot stand in)"
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    return "" if probe.returncode == 0 else "unshare -m is not permitted here"


@pytest.mark.process
def test_a_read_only_state_folder_is_a_configuration_error(cli: Cli, isolated_env: Path) -> None:
    reason = _can_mount_read_only()
    if reason:
        pytest.skip(reason)
    cli.established()
    folder = isolated_env / "state"
    read_only = 'mount --bind "$D" "$D" && mount -o remount,bind,ro "$D" && exec "$@"'
    for args in (["send", "hi"], ["poll", "--timeout", "1"], ["end"], ["session", "--session", "other"]):
        proc = subprocess.run(
            ["unshare", "-m", "sh", "-c", read_only, "sh", LIVEAGENT, *args],
            capture_output=True,
            text=True,
            env=cli.env(D=str(folder)),
            timeout=60,
        )
        assert proc.returncode == 3, (args, proc.stderr)
        assert _error(proc.stderr) == f"state folder {folder} is not writable: read-only file system", args
        assert "LIVEAGENT_STATE_DIR" in _hint(proc.stderr)
    assert cli("status").code == 0, "the session is still there"


@pytest.mark.process
def test_a_ca_bundle_that_does_not_exist_is_a_configuration_error(cli: Cli) -> None:
    run = cli("session", "--pod", f"https://127.0.0.1:{_dead_port()}", REQUESTS_CA_BUNDLE="/nonexistent.pem")
    assert run.code == 3
    assert _error(run.stderr) == "REQUESTS_CA_BUNDLE names a file that does not exist: /nonexistent.pem"
    assert "REQUESTS_CA_BUNDLE" in _hint(run.stderr)
