"""`liveagent sandbox serve|exec|agent|fault`: options, errors in the project's style, readiness, and `exec`
stopping the pod whatever happens to CMD."""

from __future__ import annotations

import http.server
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from liveagent_cli.sandbox import Sandbox
from tests.cli import Run, invoke
from tests.conftest import LIVEAGENT
from tests.sandbox.helpers import Control, Visitor, types, wait_until


def _run(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run([LIVEAGENT, "sandbox", *args], capture_output=True, text=True, timeout=timeout)


def _error_lines(run: subprocess.CompletedProcess[str] | Run) -> list[str]:
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
        (tmp_path / "url.held").write_text("")
        proc.communicate(timeout=15)
        poll.wait(timeout=15)
    finally:
        for p in (proc,):
            if p.poll() is None:
                p.kill()
                p.communicate()
    assert proc.returncode == 4  # CMD's status; both waits above are far shorter than the 30 s poll hold


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
        (["say"], "`say` needs the text to say"),
        (["menu"], "`menu` needs at least one item"),
        (["join"], "`join` needs the agent's name"),
        (["event"], "`event` needs the event's TYPE"),
        (["typing", "now"], "takes no arguments"),
        (["event", "a", "b", "c"], "TYPE and an optional DATA"),
        (["end", "--reason", ""], "--reason must not be empty"),
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


# ---- errors that say what to do next (QA2-40, QA2-41, QA2-44, QA2-48) -------------------------------


def _in_process(sandbox_url: str, *args: str) -> Run:
    return invoke("sandbox", *args, environ={**os.environ, "LIVEAGENT_POD": sandbox_url})


def _error_and_hint(run: Run) -> tuple[str, str]:
    lines = _error_lines(run)
    assert len(lines) == 2 and lines[0].startswith("error: ") and lines[1].startswith("hint: "), run.stderr
    return lines[0], lines[1]


@pytest.fixture
def queued(
    make_sandbox: Callable[..., Sandbox],
    visitor_on: Callable[[Sandbox], Visitor],
    control_on: Callable[[Sandbox], Control],
) -> tuple[Sandbox, Visitor, Control]:
    """A manual agent's chat, requested and not accepted."""
    sandbox = make_sandbox(agent="manual", poll_hold=0.3)
    visitor = visitor_on(sandbox)
    visitor.open()
    assert visitor.init().status_code == 200
    return sandbox, visitor, control_on(sandbox)


@pytest.mark.parametrize(
    ("steps", "error", "hint"),
    [
        ([["say", "x"]], "cannot say: chat", "accept it first: liveagent sandbox agent accept"),
        ([["accept"], ["accept"]], "cannot accept: chat", "an agent has already accepted it"),
        ([["accept"], ["leave", "Nobody"]], "(in it: nobody)", "only an agent who joined can leave"),
        ([["accept"], ["cancel-file"]], "has no file request", "request one first: liveagent sandbox agent request"),
        ([["end"], ["say", "x"]], "is ended", "the chat has ended"),
        ([["say", "x", "--chat", "nonexistent"]], "no chat with id nonexistent", "`liveagent status` shows"),
    ],
)
def test_sandbox_agent_state_errors_hint_what_to_do_next(
    steps: list[list[str]], error: str, hint: str, queued: tuple[Sandbox, Visitor, Control]
) -> None:
    sandbox, visitor, _ = queued
    *before, last = steps
    for step in before:
        assert _in_process(sandbox.pod_url, "agent", *step).code == 0
    if ["end"] in before:
        last = [*last, "--chat", visitor.info["id"]]
    run = _in_process(sandbox.pod_url, "agent", *last)
    assert run.code == 2
    shown_error, shown_hint = _error_and_hint(run)
    assert error in shown_error and hint in shown_hint
    assert "--chat ID" not in shown_hint


def test_sandbox_agent_with_no_open_chat_or_several_says_which(
    make_sandbox: Callable[..., Sandbox], visitor_on: Callable[[Sandbox], Visitor]
) -> None:
    sandbox = make_sandbox(agent="manual")
    _, hint = _error_and_hint(_in_process(sandbox.pod_url, "agent", "accept"))
    assert hint == "hint: no visitor has asked for a chat: liveagent session, then liveagent init"
    for _ in range(2):
        visitor = visitor_on(sandbox)
        visitor.open()
        visitor.init()
    error, hint = _error_and_hint(_in_process(sandbox.pod_url, "agent", "accept"))
    assert "2 open chats" in error and hint == "hint: name the chat with --chat ID"


def test_the_control_api_names_the_problem_and_a_hint(queued: tuple[Sandbox, Visitor, Control]) -> None:
    _, visitor, control = queued
    refused = control.agent(visitor.info["id"], "say", text="x")
    assert refused.status_code == 409
    assert refused.json()["problem"] == "not-accepted" and "accept" in refused.json()["hint"]
    empty = control.agent(visitor.info["id"], "end", reason="")
    assert empty.status_code == 400 and empty.json()["error"] == "`end` needs a non-empty `reason`"


def test_sandbox_agent_words_that_are_not_utf8_are_a_usage_error(live: tuple[Sandbox, Visitor, Control]) -> None:
    sandbox, visitor, control = live
    run = _in_process(sandbox.pod_url, "agent", "say", os.fsdecode(b"bad \xff byte"))
    assert run.code == 2 and _error_lines(run)[0] == "error: text is not valid UTF-8"
    run = _in_process(sandbox.pod_url, "agent", "event", os.fsdecode(b"\xff"), "x")
    assert run.code == 2 and "TYPE is not valid UTF-8" in run.stderr
    pod_said = [e for e in control.chat(visitor.info["id"])["events"] if e["type"] in ("ChatMessage", "CustomEvent")]
    assert pod_said == [], "nothing reached the sandbox"


class _NotASandbox(http.server.BaseHTTPRequestHandler):
    """Another web server: an HTML error page for everything, or JSON that is not the control API's."""

    json_body: bytes | None = None

    def _answer(self) -> None:
        if self.json_body is not None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            body = self.json_body
        else:
            self.send_response(404 if self.command == "GET" else 501)
            self.send_header("Content-Type", "text/html")
            body = b"<!DOCTYPE HTML>\n<html lang='en'>\n<body><h1>Error response</h1>\n<p>Nothing here.</p></body>\n"
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_DELETE = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.mark.parametrize("json_body", [None, b'{"status": "ok"}'])
def test_a_server_that_is_not_a_sandbox_is_one_line_and_exit_5(json_body: bytes | None) -> None:
    handler = type("Handler", (_NotASandbox,), {"json_body": json_body})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        for args in (["fault", "list"], ["agent", "accept"], ["fault", "add", "503"], ["fault", "clear"]):
            run = _in_process(url, *args)
            error, hint = _error_and_hint(run)
            assert run.code == 5, (args, run.stderr)
            assert error.startswith(f"error: {url}/_sandbox/ is not a liveagent sandbox"), error
            assert "html" not in run.stderr.lower()
    finally:
        server.shutdown()
        server.server_close()


def test_serve_on_a_remote_address_names_the_flag_that_allows_it() -> None:
    run = _run("serve", "--host", "0.0.0.0", "--port", "0")
    assert run.returncode == 3
    error, hint = _error_and_hint(run)
    assert "refusing to bind 0.0.0.0" in error and "allow_remote" not in run.stderr
    assert hint == "hint: pass --allow-remote to bind it anyway"


def test_serve_on_a_port_in_use_says_so_once() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        run = _run("serve", "--port", str(port))
    assert run.returncode == 3
    error, _ = _error_and_hint(run)
    assert error == f"error: cannot listen on 127.0.0.1:{port}: address already in use"


def test_an_unknown_agent_gets_a_hint_that_adds_to_the_error() -> None:
    run = _run("serve", "--agent", "robot")
    error, hint = _error_and_hint(run)
    assert run.returncode == 2 and "unknown agent 'robot'" in error
    assert hint.removeprefix("hint: ") not in error and "echo, manual, busy" not in error.split(";")[0]
    assert "script:FILE (a TOML script of steps)" in hint


# ---- serve's banner (QA2-47) and help (QA2-54) -----------------------------------------------------


class _Lines:
    """A stream's lines as they arrive, read on a thread, so a test can wait for one with a deadline."""

    def __init__(self, stream: Any) -> None:
        self.lines: list[str] = []
        self.stream = stream
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.stream:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text: str) -> list[str]:
        wait_until(lambda: any(text in line for line in self.lines), timeout=15, what=repr(text))
        return list(self.lines)

    def close(self) -> None:
        """Once every writer is gone: the last lines are read, then the pipe is closed."""
        self.reader.join(10)
        self.stream.close()


def test_serve_prints_export_lines_a_user_can_paste(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [LIVEAGENT, "sandbox", "serve", "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stderr is not None
    stderr = _Lines(proc.stderr)
    try:
        pod_url = proc.stdout.readline().strip()
        banner = stderr.wait_for("control API:")
        exports = [line.strip() for line in banner if line.strip().startswith("export ")]
        pasted = dict(shlex.split(line.removeprefix("export "))[0].split("=", 1) for line in exports)
        assert set(pasted) == {"LIVEAGENT_POD", "LIVEAGENT_ORG_ID", "LIVEAGENT_DEPLOYMENT_ID", "LIVEAGENT_BUTTON_ID"}
        assert pasted["LIVEAGENT_POD"] == pod_url
        environ = {**os.environ, **pasted}
        assert invoke("session", environ=environ).code == 0
        assert invoke("init", environ=environ).code == 0, "the pasted ids are enough for init"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
        proc.stdout.close()
        stderr.close()


def test_sandbox_help_names_its_values_as_the_other_commands_do() -> None:
    serve = _run("serve", "--help").stdout
    assert "range>" not in serve and "<str>" not in serve
    for option in ("--accept-after SECONDS", "--poll-hold SECONDS", "--port N", "--log FILE", "--seed N"):
        assert option in serve
    agent = _run("agent", "--help").stdout
    assert "event TYPE [DATA]" in agent and "serve/exec" not in agent
    assert "--pod URL" in _run("fault", "list", "--help").stdout


# ---- exec: the second signal (QA2-26) and the strict profile -----------------------------------------

STUBBORN = """
trap '' TERM
sleep 60 &
echo $! > "$1"
wait $!
"""


def test_exec_kills_cmds_whole_process_group_on_a_second_signal(tmp_path: Path) -> None:
    pid_file = tmp_path / "sleep.pid"
    proc = subprocess.Popen(
        [LIVEAGENT, "sandbox", "exec", "--", "sh", "-c", STUBBORN, "cmd", str(pid_file)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    stderr = _Lines(proc.stderr)
    grandchild = 0
    try:
        wait_until(lambda: pid_file.exists() and pid_file.read_text().strip() != "", timeout=15, what="CMD")
        grandchild = int(pid_file.read_text())
        proc.send_signal(signal.SIGTERM)
        stderr.wait_for("a second one kills it")  # the first signal was handled: this one is the second
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
        assert proc.returncode == 128 + signal.SIGKILL
        wait_until(lambda: not _alive(grandchild), timeout=10, what="CMD's own child to die too")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if grandchild and _alive(grandchild):
            os.kill(grandchild, signal.SIGKILL)
        stderr.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"  # a zombie is dead
    except (OSError, IndexError):
        return True


def test_exec_passes_the_strict_profile_and_its_knobs_to_the_pod() -> None:
    show = (
        "import json, os, urllib.request; base = os.environ['LIVEAGENT_SANDBOX_URL'] + '/_sandbox/';"
        "h = json.load(urllib.request.urlopen(base + 'health')); print(json.dumps([h['profile'], h['choices']]))"
    )
    run = _run("exec", "--strict", "--redeliver", "--", sys.executable, "-c", show)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == ["strict", {"redeliver": True, "duplicateGrace": 0.0, "breadcrumbKey": "ignore"}]
    bad = _run("serve", "--breadcrumb-key", "keep")
    assert bad.returncode == 2 and "--breadcrumb-key must be record or ignore" in bad.stderr


def test_the_command_line_knows_every_agent_action_of_the_control_api() -> None:
    from liveagent_cli.cli.sandbox import AGENT_ACTIONS
    from liveagent_cli.sandbox.control.routes import ACTIONS

    assert list(AGENT_ACTIONS) == list(ACTIONS)
