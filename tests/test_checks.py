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
    assert "error: no agent is online" in run.stderr


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
