"""`liveagent sandbox exec`: the steps as separate processes against a pod that lives as long as CMD."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.conftest import LIVEAGENT

SCRIPT = """
set -e
liveagent session
liveagent init --visitor-name Ada
liveagent poll --until ChatEstablished
liveagent send hello
liveagent poll --until ChatMessage --json
liveagent end
set +e
liveagent send "after the end"
echo "send-after-end=$?" >&2
"""


def _exec(*cmd: str, drop: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PATH=f"{Path(LIVEAGENT).parent}:{os.environ['PATH']}")
    for name in drop:
        env.pop(name, None)
    return subprocess.run(
        [LIVEAGENT, "sandbox", "exec", "--accept-after", "0.05", "--", *cmd],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def test_steps_inside_sandbox_exec() -> None:
    run = _exec("bash", "-c", SCRIPT)
    assert run.returncode == 0, run.stderr
    echoes = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    assert [e["message"]["text"] for e in echoes if e["type"] == "ChatMessage"] == ["hello"]
    assert "send-after-end=6" in run.stderr
    assert "error: no session" in run.stderr
    assert "Traceback" not in run.stderr


def test_exec_exits_with_the_commands_status() -> None:
    assert _exec("bash", "-c", "exit 3").returncode == 3
    assert _exec("true").returncode == 0


def test_exec_exports_the_pod_and_ids_and_a_throwaway_state_folder() -> None:
    run = _exec(
        "bash", "-c", 'echo "$LIVEAGENT_POD $LIVEAGENT_ORG_ID $LIVEAGENT_STATE_DIR"', drop=("LIVEAGENT_STATE_DIR",)
    )
    pod, org, state = run.stdout.split()
    assert pod.startswith("http://127.0.0.1:") and pod.endswith("/chat/rest/")
    assert org.startswith("00D")
    assert "liveagent-sandbox-" in state
    assert not Path(state).exists(), "the throwaway state folder is removed afterwards"


def test_exec_keeps_a_state_folder_the_user_chose() -> None:
    run = _exec("bash", "-c", 'echo "$LIVEAGENT_STATE_DIR"')
    assert run.stdout.strip() == os.environ["LIVEAGENT_STATE_DIR"]


def test_exec_with_a_command_it_cannot_run_exits_127_or_126_as_a_shell_does(tmp_path: Path) -> None:
    run = _exec("no-such-command-here")
    assert run.returncode == 127 and "error: command not found: no-such-command-here" in run.stderr
    assert _exec("/nonexistent/cmd").returncode == 127
    plain = tmp_path / "not-executable.sh"
    plain.write_text("echo hi\n")
    run = _exec(str(plain))
    assert run.returncode == 126 and "command not executable" in run.stderr


AGENT_SCRIPT = """
set -e
liveagent session >/dev/null
liveagent init
liveagent sandbox agent accept
liveagent poll --until ChatEstablished >/dev/null
liveagent sandbox agent say "How can I help?"
liveagent poll --until ChatMessage --json
liveagent sandbox agent end --reason agent
liveagent poll --follow --json
set +e
liveagent sandbox agent dance
echo "unknown-action=$?" >&2
"""


def test_sandbox_agent_drives_the_only_open_chat() -> None:
    run = subprocess.run(
        [LIVEAGENT, "sandbox", "exec", "--agent", "manual", "--", "bash", "-c", AGENT_SCRIPT],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ, PATH=f"{Path(LIVEAGENT).parent}:{os.environ['PATH']}"),
    )
    assert run.returncode == 0, run.stderr
    items = [json.loads(line) for line in run.stdout.splitlines()]
    assert [i["type"] for i in items] == ["ChatMessage", "ChatEnded"]
    assert items[0]["message"]["text"] == "How can I help?"
    assert "unknown-action=2" in run.stderr


def test_verbose_on_the_sandbox_commands_logs_the_wire_without_keys() -> None:
    run = subprocess.run(
        [
            LIVEAGENT,
            "sandbox",
            "exec",
            "--verbose",
            "--agent",
            "manual",
            "--",
            "bash",
            "-c",
            "liveagent session >/dev/null && liveagent init && liveagent sandbox agent accept --verbose",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ, PATH=f"{Path(LIVEAGENT).parent}:{os.environ['PATH']}"),
    )
    assert run.returncode == 0, run.stderr
    assert '"path": "/chat/rest/System/SessionId"' in run.stderr, "serve/exec --verbose: one JSON line per exchange"
    assert "> POST http://127.0.0.1:" in run.stderr and "/_sandbox/chats/_only/agent  < 200" in run.stderr
    assert '"x-liveagent-session-key": "<redacted>"' in run.stderr


MIAW_SCRIPT = """
set -e
liveagent session >/dev/null
liveagent status --json --show-secrets >"$1"
liveagent init --visitor-name Ada
liveagent poll --until established
liveagent send hello
liveagent poll --until message --json --verbose
liveagent end
set +e
liveagent send "after the end"
echo "send-after-end=$?" >&2
"""


def test_the_enhanced_chat_steps_inside_sandbox_exec_api_miaw(tmp_path: Path) -> None:
    """Issue 13's done-when: each step its own process, the echo printed, `send` after `end` one line and exit 6;
    the access token (kept aside with --show-secrets) appears nowhere else, --verbose wire log included."""
    secrets = tmp_path / "status.json"
    run = subprocess.run(
        [LIVEAGENT, "sandbox", "exec", "--api", "miaw", "--accept-after", "0.05", "--"]
        + ["bash", "-c", MIAW_SCRIPT, "script", str(secrets)],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ, PATH=f"{Path(LIVEAGENT).parent}:{os.environ['PATH']}"),
    )
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    assert [line["text"] for line in lines if line["kind"] == "message"] == ["hello"]
    assert all(line["type"] for line in lines) and "Sandbox Agent" in [line.get("sender") for line in lines]
    late = run.stderr.split("send-after-end=")[0].strip().splitlines()
    assert "send-after-end=6" in run.stderr and late[-2:] == [
        "error: no session",
        "hint: start one with `liveagent session`",
    ]
    assert "Traceback" not in run.stderr
    token = json.loads(secrets.read_text())["access_token"]
    assert token.count(".") == 2
    assert "Authorization: <redacted>" in run.stderr, "the stream's request was logged"
    printed = run.stdout + run.stderr
    assert token not in printed and token.split(".")[2] not in printed, "the access token was printed"
