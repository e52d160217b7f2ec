"""`smoke` and `doctor` against the sandbox: outcomes, exit codes, JUnit report."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from liveagent_cli.sandbox import Sandbox
from tests.conftest import Cli


def _cases(path: Path) -> list[tuple[str, str, str]]:
    """(name, outcome, message) per testcase of a JUnit file."""
    out = []
    for case in ET.parse(path).getroot().iter("testcase"):
        child = next(iter(case), None)
        outcome = child.tag if child is not None else "passed"
        out.append((case.get("name", ""), outcome, child.get("message", "") if child is not None else ""))
    return out


def test_smoke_passes_with_one_testcase_per_step(cli: Cli, sandbox: Sandbox, tmp_path: Path) -> None:
    report = tmp_path / "out.xml"
    run = cli("smoke", "--junit", str(report), "--expect", "probe")
    assert run.code == 0, run.stderr
    names = ["availability", "session", "init", "agent", "probe", "reply", "end"]
    assert _cases(report) == [(n, "passed", "") for n in names]
    assert [line.split()[1] for line in run.stdout.splitlines()] == names
    [chat] = sandbox.chats()
    assert chat["state"] == "ended" and chat["visitorName"] == "liveagent smoke"
    assert not list((tmp_path / "state").glob("*.toml")), "smoke leaves no session behind"


def test_smoke_with_no_agent_exits_7_and_names_the_step(cli: Cli, sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.set_agent("busy")
    report = tmp_path / "out.xml"
    run = cli("smoke", "--junit", str(report))
    assert run.code == 7
    cases = _cases(report)
    assert cases[0][:2] == ("availability", "failure") and "no agent" in cases[0][2]
    assert {outcome for _, outcome, _ in cases[1:]} == {"skipped"}
    assert "✗ availability" in run.stdout and "no agent is online" in run.stdout
    assert "no agent is online" not in run.stderr, "the ✗ row says it once"


def test_smoke_when_the_request_itself_fails(cli: Cli, sandbox: Sandbox) -> None:
    sandbox.set_agent("busy")
    run = cli("smoke", "--skip-availability", "--json")
    assert run.code == 7
    summary = json.loads(run.stdout)
    assert summary["ok"] is False and summary["exit_code"] == 7
    assert [(s["step"], s["status"]) for s in summary["steps"]][:3] == [
        ("session", "passed"),
        ("init", "passed"),
        ("agent", "failed"),
    ]


def test_smoke_timeouts_exit_8(cli: Cli, sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.set_agent("manual")
    assert cli("smoke", "--accept-timeout", "0.3").code == 8
    sandbox.set_agent("echo", accept_after=0)
    report = tmp_path / "r.xml"
    run = cli("smoke", "--expect", "^never$", "--reply-timeout", "0.5", "--junit", str(report))
    assert run.code == 8
    assert ("reply", "failure") in [(n, o) for n, o, _ in _cases(report)]
    assert all(c["state"] == "ended" for c in sandbox.chats()), "a failed smoke still ends its chat"


def test_doctor_against_the_sandbox(cli: Cli) -> None:
    run = cli("doctor", "--json")
    assert run.code == 0, run.stderr
    checks = {c["check"]: c["status"] for c in json.loads(run.stdout)["checks"]}
    assert checks["retirement"] == "warn" and checks["pod"] == "warn", "plain http on loopback is only a warning"
    assert checks["reachable"] == "ok" and checks["availability"] == "ok" and checks["switch server"] == "ok"
    human = cli("doctor")
    assert "2026-02-14" in human.stdout


def test_doctor_exit_codes(cli: Cli, sandbox: Sandbox, tmp_path: Path) -> None:
    down = cli("doctor", "--pod", "http://127.0.0.1:9/", LIVEAGENT_NETWORK_TIMEOUT="1")
    assert down.code == 4 and "✗ reachable" in down.stdout
    bad_id = cli("doctor", "--button-id", "12345")
    assert bad_id.code == 3 and "✗ button id" in bad_id.stdout
    prechat = tmp_path / "p.toml"
    prechat.write_text('[[details]]\nlabel = "A"\nvalue = "b"\n[[entities]]\nentityName = "contact"\n')
    assert cli("doctor", "--prechat-file", str(prechat)).code == 3
    sandbox.add_fault("switch-server")
    moved = cli("doctor", "--json")
    assert moved.code == 3
    assert any(c["check"] == "switch server" and c["status"] == "fail" for c in json.loads(moved.stdout)["checks"])


def _suite(path: Path) -> dict[str, str]:
    suite = ET.parse(path).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    assert suite is not None
    props = {p.get("name", ""): p.get("value", "") for p in suite.iter("property")}
    return {**dict(suite.attrib), **{f"property:{k}": v for k, v in props.items()}}


def test_smoke_refuses_an_unwritable_report_before_sending_anything(cli: Cli, sandbox: Sandbox, tmp_path: Path) -> None:
    """QA2-16: the --junit path is checked first, not after a real chat was opened and accepted."""
    run = cli("smoke", "--junit", str(tmp_path / "no" / "such" / "dir" / "j.xml"))
    assert run.code == 2 and "cannot write the JUnit report" in run.stderr
    assert "✓" not in run.stdout, "no step ran"
    assert sandbox.chats() == [] and sandbox.issued_keys() == [], "nothing was sent to the pod"
    fresh = tmp_path / "fresh.xml"
    assert cli("smoke", "--junit", str(fresh)).code == 0 and fresh.exists(), "a writable path is written"


def test_smoke_leaves_nothing_in_any_folder(cli: Cli, sandbox: Sandbox, tmp_path: Path) -> None:
    """QA2-17 / D6: no state file and no lock file, in the state folder or in the smoke's own folder."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    state = tmp_path / "state"
    for _ in range(2):
        assert cli("smoke", "-q", TMPDIR=str(temp)).code == 0
    sandbox.set_agent("busy")
    assert cli("smoke", "-q", "--skip-availability", TMPDIR=str(temp)).code == 7
    assert not state.exists() or list(state.iterdir()) == [], "the user's state folder is not touched"
    assert list(temp.iterdir()) == [], "the smoke's own state folder is removed"
    assert all(c["state"] == "ended" for c in sandbox.chats())


def test_smoke_with_a_named_session_uses_that_slot_and_forgets_it(cli: Cli, sandbox: Sandbox, tmp_path: Path) -> None:
    run = cli("smoke", "-q", "--session", "ci")
    assert run.code == 0, run.stderr
    assert not (tmp_path / "state" / "ci.toml").exists()
    assert cli("session", "-q").code == 0, "the default slot was never touched"
    assert cli("smoke", "-q").code == 0, "a chat in the default slot does not stop a smoke"
    assert (tmp_path / "state" / "default.toml").exists(), "and the smoke leaves the user's chat alone"


def test_smoke_report_says_the_chat_was_ended_after_a_failed_check(cli: Cli, sandbox: Sandbox, tmp_path: Path) -> None:
    """QA2-18: the cleanup's ChatEnd is the `end` step, reported as run; a failed check is a <failure>."""
    report = tmp_path / "r.xml"
    run = cli("smoke", "--expect", "^never$", "--reply-timeout", "0.3", "--junit", str(report))
    assert run.code == 8
    cases = {name: (outcome, message) for name, outcome, message in _cases(report)}
    assert cases["reply"][0] == "failure"
    assert cases["end"][0] == "passed"
    assert "✓ end" in run.stdout and "ChatEnd sent" in run.stdout
    [chat] = sandbox.chats()
    assert chat["state"] == "ended" and chat["endedBy"] == "visitor"
    suite = _suite(report)
    assert (suite["failures"], suite["errors"], suite["skipped"]) == ("1", "0", "0")


def test_smoke_report_counts_infrastructure_failures_as_errors(cli: Cli, sandbox: Sandbox, tmp_path: Path) -> None:
    """QA2-18: a NetworkError or ApiError is JUnit <error>, so CI can tell "pod down" from "check failed"."""
    down = tmp_path / "down.xml"
    run = cli("smoke", "--pod", "http://127.0.0.1:9", "--junit", str(down), LIVEAGENT_NETWORK_TIMEOUT="1")
    assert run.code == 4
    root = ET.parse(down).getroot()
    [error] = root.iter("error")
    assert error.get("type") == "NetworkError" and not list(root.iter("failure"))
    assert _suite(down)["errors"] == "1" and _suite(down)["failures"] == "0"
    sandbox.add_fault("status:code=400,path=ChatMessage")
    refused = tmp_path / "refused.xml"
    assert cli("smoke", "--junit", str(refused)).code == 5
    outcomes = {name: outcome for name, outcome, _ in _cases(refused)}
    assert outcomes["probe"] == "error" and outcomes["end"] == "passed"
    assert [c["endedBy"] for c in sandbox.chats()] == ["visitor"]


def test_smoke_report_names_the_normalised_pod(cli: Cli, sandbox: Sandbox, tmp_path: Path) -> None:
    """QA2-59: the `pod` property is the URL the steps used, not the raw --pod value."""
    report = tmp_path / "r.xml"
    raw = sandbox.pod_url.replace("/chat/rest/", "").rstrip("/")
    assert cli("smoke", "-q", "--pod", raw, "--junit", str(report)).code == 0
    assert _suite(report)["property:pod"] == sandbox.pod_url


def test_doctor_prints_a_failing_check_once(cli: Cli, tmp_path: Path) -> None:
    """QA2-39: the ✗ row states the failure; stderr adds only its hint, not the same words as `error:`."""
    run = cli("doctor", "--button-id", "12345")
    assert run.code == 3
    [row] = [line for line in run.stdout.splitlines() if line.startswith("✗")]
    detail = row.split("  ", 1)[1].strip()
    assert detail and detail not in run.stderr and "error:" not in run.stderr
    machine = cli("doctor", "--button-id", "12345", "--json")
    assert machine.code == 3 and f"error: {detail}" in machine.stderr, "under --json stderr has the one human line"
