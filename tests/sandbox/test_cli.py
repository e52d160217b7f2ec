"""`liveagent sandbox serve|exec|agent|fault`: options, errors in the project's style, readiness, and `exec`
stopping the pod whatever happens to CMD."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from liveagent_cli.sandbox import Sandbox
from tests.conftest import LIVEAGENT
from tests.sandbox.helpers import Control, Visitor, types, wait_until


def _run(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run([LIVEAGENT, "sandbox", *args], capture_output=True, text=True, timeout=timeout)


def _error_lines(run: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in run.stderr.splitlines() if line.strip()]


# ---- usage and configuration errors ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "code", "text"),
    [
        (["serve", "--fault", "explode"], 2, "unknown kind 'explode'"),
        (["serve", "--fault", "503:every=0"], 2, "every must be between 1"),
        (["serve", "--agent", "nobody"], 2, "unknown agent 'nobody'"),
        (["serve", "--agent", "script:/no/such/file.toml"], 3, "cannot read it"),
        (["serve", "--log", "/no/such/dir/wire.log"], 3, "cannot write the log file"),
        (["exec", "--fault", "delay", "--", "true"], 2, "delay needs ms=N"),
    ],
)
def test_bad_options_are_one_line_errors_with_the_contracts_codes(args: list[str], code: int, text: str) -> None:
    run = _run(*args)
    assert run.returncode == code, run.stderr
    lines = _error_lines(run)
    assert lines[0].startswith("error: ") and text in lines[0]
    assert len(lines) <= 2 and all(line.startswith(("error: ", "hint: ")) for line in lines)
    assert "Traceback" not in run.stderr


def test_a_bad_script_names_the_step_and_key(tmp_path: Path) -> None:
    script = tmp_path / "bot.toml"
    script.write_text("[[steps]]\nsay = 'hi'\n[[steps]]\nexpect = 'x'\ntimeout = 'soon'\n")
    run = _run("serve", "--agent", f"script:{script}")
    assert run.returncode == 3
    assert "step 2: timeout must be a number of seconds" in run.stderr


# ---- serve -----------------------------------------------------------------------------------------


def test_serve_prints_its_url_when_ready_logs_only_to_the_file_and_stops_on_sigterm(tmp_path: Path) -> None:
    log = tmp_path / "wire.log"
    proc = subprocess.Popen(
        [
            LIVEAGENT,
            "sandbox",
            "serve",
            "--port",
            "0",
            "--log",
            str(log),
            "--connection-timeout",
            "5",
            "--fault",
            "delay:ms=1",
            "--seed",
            "3",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        pod_url = proc.stdout.readline().strip()
        health = requests.get(pod_url.replace("/chat/rest/", "/_sandbox/health"), timeout=5).json()
        assert (health["connectionTimeout"], health["seed"], health["faults"]) == (5, 3, 1)
        requests.get(pod_url + "System/SessionId", headers={"X-LIVEAGENT-API-VERSION": "42"}, timeout=5)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert out == ""  # nothing after the URL: the wire log went to the file
    [line] = log.read_text().splitlines()
    assert json.loads(line)["path"] == "/chat/rest/System/SessionId"


# ---- exec ------------------------------------------------------------------------------------------

WAIT_THEN_SLEEP = """
echo "$LIVEAGENT_SANDBOX_URL" > "$1"
trap 'echo got-term >> "$1.trap"; kill $!; exit 143' TERM
sleep 30 &
wait
"""


def test_exec_forwards_sigterm_to_cmd_and_stops_the_pod(tmp_path: Path) -> None:
    marker = tmp_path / "url"
    proc = subprocess.Popen(
        [LIVEAGENT, "sandbox", "exec", "--", "bash", "-c", WAIT_THEN_SLEEP, "cmd", str(marker)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(lambda: marker.exists() and marker.read_text().strip() != "", timeout=15, what="CMD to start")
        url = marker.read_text().strip()
        assert requests.get(url + "/_sandbox/health", timeout=5).status_code == 200  # ready before CMD ran
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 143
    assert (tmp_path / "url.trap").read_text().strip() == "got-term"  # CMD got the signal
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/_sandbox/health", timeout=5)


def test_exec_stops_promptly_when_cmd_fails_with_a_poll_still_held(tmp_path: Path) -> None:
    marker = tmp_path / "url"
    script = textwrap.dedent("""
        import os, sys, time, urllib.request
        url = os.environ["LIVEAGENT_SANDBOX_URL"]
        open(sys.argv[1], "w").write(url)
        while not os.path.exists(sys.argv[1] + ".held"):
            time.sleep(0.01)
        sys.exit(4)
    """)
    proc = subprocess.Popen(
        [LIVEAGENT, "sandbox", "exec", "--poll-hold", "30", "--", sys.executable, "-c", script, str(marker)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(lambda: marker.exists() and marker.read_text() != "", timeout=15, what="CMD to start")
        pod_url = marker.read_text() + "/chat/rest/"
        info = requests.get(pod_url + "System/SessionId", headers={"X-LIVEAGENT-API-VERSION": "42"}, timeout=5).json()
        poll = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys, requests; requests.get(sys.argv[1], "
                "headers={'X-LIVEAGENT-API-VERSION': '42', 'X-LIVEAGENT-SESSION-KEY': sys.argv[2]},"
                " timeout=60)",
                pod_url + "System/Messages",
                info["key"],
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        control = marker.read_text() + "/_sandbox/chats/" + info["id"]
        wait_until(lambda: requests.get(control, timeout=5).json()["pollsHeld"] == 1, what="the held poll")
        started = time.monotonic()
        (tmp_path / "url.held").write_text("")
        proc.communicate(timeout=15)
        poll.wait(timeout=15)
    finally:
        for p in (proc,):
            if p.poll() is None:
                p.kill()
                p.communicate()
    assert proc.returncode == 4  # CMD's status
    assert time.monotonic() - started < 8  # not the 30 s poll hold


def test_exec_passes_faults_agent_and_seed_to_the_pod(tmp_path: Path) -> None:
    script = tmp_path / "bot.toml"
    script.write_text('accept = "manual"\n')
    show = (
        "import json, os, urllib.request; base = os.environ['LIVEAGENT_SANDBOX_URL'] + '/_sandbox/';"
        "h = json.load(urllib.request.urlopen(base + 'health'));"
        "f = json.load(urllib.request.urlopen(base + 'faults'));"
        "print(json.dumps([h['agent'], h['seed'], [r['spec'] for r in f['faults']]]))"
    )
    run = _run(
        "exec", "--agent", f"script:{script}", "--seed", "9", "--fault", "503:every=4", "--", sys.executable, "-c", show
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == [f"script:{script}", 9, ["503:every=4"]]


# ---- agent and fault -------------------------------------------------------------------------------


@pytest.fixture
def live(
    make_sandbox: Callable[..., Sandbox],
    visitor_on: Callable[[Sandbox], Visitor],
    control_on: Callable[[Sandbox], Control],
) -> tuple[Sandbox, Visitor, Control]:
    sandbox = make_sandbox(poll_hold=0.3)
    visitor = visitor_on(sandbox)
    visitor.start_chat()
    return sandbox, visitor, control_on(sandbox)


def _agent(sandbox: Sandbox, *args: str) -> subprocess.CompletedProcess[str]:
    return _run("agent", *args, "--pod", sandbox.pod_url)


def test_sandbox_agent_drives_every_action(live: tuple[Sandbox, Visitor, Control]) -> None:
    sandbox, visitor, control = live
    for args in (
        ["typing"],
        ["not-typing"],
        ["menu", "Billing", "Tech support"],
        ["transfer"],
        ["join", "Sup"],
        ["leave", "Sup"],
        ["event", "PromptForCreditCard", "Visa"],
        ["say", "Hello", "there"],
    ):
        run = _agent(sandbox, *args)
        assert run.returncode == 0, (args, run.stderr)
    seen = visitor.wait_for("ChatMessage")
    assert types(seen) == [
        "AgentTyping",
        "AgentNotTyping",
        "RichMessage",
        "ChatTransferred",
        "AgentJoinedConference",
        "AgentLeftConference",
        "CustomEvent",
        "ChatMessage",
    ]
    assert seen[3]["message"]["name"] == "Tier 2 Agent"
    assert seen[6]["message"] == {"type": "PromptForCreditCard", "data": "Visa"}
    assert seen[7]["message"]["text"] == "Hello there"
    token = _agent(sandbox, "request-file")
    assert (
        token.returncode == 0 and token.stdout.strip() == visitor.wait_for("FileTransfer")[-1]["message"]["fileToken"]
    )
    assert _agent(sandbox, "cancel-file").returncode == 0
    ended = _agent(sandbox, "end", "--reason", "done", "--json")
    assert ended.returncode == 0 and json.loads(ended.stdout)["chat"]["state"] == "ended"
    assert visitor.wait_for("ChatEnded")[-1]["message"] == {"reason": "done"}


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["say"], "`say` needs text"),
        (["menu"], "`menu` needs items"),
        (["typing", "now"], "takes no arguments"),
        (["event", "a", "b", "c"], "TYPE and DATA"),
        (["dance"], "unknown agent action 'dance'"),
    ],
)
def test_sandbox_agent_usage_errors_exit_2(args: list[str], text: str, live: tuple[Sandbox, Visitor, Control]) -> None:
    run = _agent(live[0], *args)
    assert run.returncode == 2 and text in run.stderr


def test_sandbox_agent_state_errors_exit_2_with_a_hint(live: tuple[Sandbox, Visitor, Control]) -> None:
    run = _agent(live[0], "leave", "Nobody")
    assert run.returncode == 2
    assert "not in the conference" in run.stderr


def test_sandbox_fault_adds_lists_and_clears_rules(live: tuple[Sandbox, Visitor, Control]) -> None:
    sandbox, visitor, _ = live
    added = _run("fault", "add", "status:code=500,path=ChatMessage,times=1", "--pod", sandbox.pod_url)
    assert added.returncode == 0 and added.stdout.strip() == "1"
    assert visitor.send("x").status_code == 500
    listed = _run("fault", "list", "--pod", sandbox.pod_url)
    assert listed.stdout.strip() == "1\tstatus:code=500,path=ChatMessage,times=1\tseen=1\tfired=1"
    assert _run("fault", "add", "bogus", "--pod", sandbox.pod_url).returncode == 2
    assert _run("fault", "clear", "1", "--pod", sandbox.pod_url).returncode == 0
    assert sandbox.faults() == []
    assert _run("fault", "clear", "1", "--pod", sandbox.pod_url).returncode == 2  # no such rule


def test_sandbox_commands_need_a_pod(live: tuple[Sandbox, Visitor, Control]) -> None:
    env = {k: v for k, v in os.environ.items() if k != "LIVEAGENT_POD"}
    run = subprocess.run([LIVEAGENT, "sandbox", "fault", "list"], capture_output=True, text=True, timeout=30, env=env)
    assert run.returncode == 3 and "no sandbox pod is named" in run.stderr
