"""The visitor steps against the sandbox pod, over real HTTP on loopback; the tests marked `process` run each step
as its own process, to prove the state file alone carries a chat from one step to the next."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from liveagent_cli import __version__
from liveagent_cli.sandbox import Sandbox
from tests.conftest import LIVEAGENT, Cli


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.mark.process
def test_a_whole_chat_one_process_per_step(cli: Cli) -> None:
    assert cli("session").code == 0
    assert cli("init", "--visitor-name", "Ada").code == 0
    established = cli("poll", "--until", "ChatEstablished")
    assert established.code == 0, established.stderr
    assert "joined the chat" in established.stdout
    assert cli("send", "hello").code == 0
    echoed = cli("poll", "--until", "ChatMessage", "--json")
    assert echoed.code == 0, echoed.stderr
    messages = [m for m in _json_lines(echoed.stdout) if m["type"] == "ChatMessage"]
    assert [m["message"]["text"] for m in messages] == ["hello"]
    assert set(messages[0]) >= {"type", "message"}
    ended = cli("end")
    assert ended.code == 0, ended.stderr


def test_send_after_end_is_one_clear_line_and_exit_6(cli: Cli) -> None:
    cli("session")
    cli("end")
    late = cli("send", "too late")
    assert late.code == 6
    assert late.stdout == ""
    lines = late.stderr.splitlines()
    assert lines[0] == "error: no session"
    assert lines[1].startswith("hint: ")
    assert "Traceback" not in late.stderr


def test_the_visitor_name_and_text_reach_the_pod(cli: Cli, sandbox: Sandbox) -> None:
    cli("session")
    cli("init", "--visitor-name", "Ada", "--prechat", "Email=ada@example.com")
    cli("poll", "--until", "ChatEstablished")
    cli("send", "héllo ✓")
    [chat] = sandbox.chats()
    assert chat["visitorName"] == "Ada"
    assert chat["transcript"] == ["héllo ✓"]


def test_send_reads_stdin_and_refuses_empty_or_invalid_text(cli: Cli, sandbox: Sandbox) -> None:
    cli("session")
    cli("init")
    cli("poll", "--until", "ChatEstablished")
    assert cli("send", "-", input="line one\nline two\n").code == 0
    empty = cli("send", "-", input="\n")
    assert empty.code == 2 and "empty" in empty.stderr
    assert cli("send", "   ").code == 2
    bad = cli("send", "-", input=b"caf\xe9\n")
    assert bad.code == 2 and "UTF-8" in bad.stderr
    [chat] = sandbox.chats()
    assert chat["transcript"] == ["line one\nline two"], "refused input never reaches the pod"


@pytest.mark.process
def test_wire_sequence_ack_and_affinity_across_processes(cli: Cli, sandbox: Sandbox) -> None:
    cli("session")
    cli("init")
    cli("poll", "--until", "ChatEstablished")
    cli("send", "one")
    cli("send", "two")
    cli("poll", "--until", "ChatMessage")
    journal = sandbox.requests()
    first = journal[0]
    assert first["path"].endswith("/System/SessionId")
    assert first["headers"]["x-liveagent-affinity"] == "null"
    token = sandbox.chats()[0]["affinityToken"]
    posts = [r for r in journal if r["method"] == "POST"]
    assert [r["path"].rsplit("/", 1)[-1] for r in posts] == ["ChasitorInit", "ChatMessage", "ChatMessage"]
    assert [r["headers"]["x-liveagent-sequence"] for r in posts] == ["1", "2", "3"]
    assert all(r["headers"]["x-liveagent-affinity"] == token for r in journal[1:])
    polls = [r for r in journal if r["path"].endswith("/System/Messages")]
    assert polls[0]["query"]["ack"] == "-1"
    acks = [int(p["query"]["ack"]) for p in polls]
    assert acks == sorted(acks) and acks[-1] > 0, "ack only moves forward, to the last 200's sequence"


@pytest.mark.parametrize("sandbox", [{"poll_hold": 0.2}], indirect=True)  # how long it holds is not the point
def test_ack_repeats_after_a_204(cli: Cli, sandbox: Sandbox) -> None:
    cli("session")
    cli("init")
    cli("poll", "--until", "ChatEstablished")
    before = cli("status", "--json")
    ack = json.loads(before.stdout)["ack"]
    quiet = cli("poll")  # nothing pending: the pod holds it, then answers 204
    assert quiet.code == 0 and quiet.stdout == ""
    polls = [r for r in sandbox.requests() if r["path"].endswith("/System/Messages")]
    assert polls[-1]["query"]["ack"] == str(ack)
    assert json.loads(cli("status", "--json").stdout)["ack"] == ack


def test_status_hides_the_key_unless_asked(cli: Cli) -> None:
    assert cli("status").code == 6
    cli("session")
    shown = cli("status", "--json")
    info = json.loads(shown.stdout)
    assert info["chat"] == "session" and info["ack"] == -1 and info["next_sequence"] == 1
    assert "key" not in info
    secret = json.loads(cli("status", "--json", "--show-secrets").stdout)
    assert "!" in secret["key"]


def test_verbose_wire_log_redacts_the_key(cli: Cli) -> None:
    cli("session")
    run = cli("init", "--verbose")
    assert run.code == 0
    assert "> POST " in run.stderr and "X-LIVEAGENT-SEQUENCE: 1" in run.stderr
    assert "X-LIVEAGENT-SESSION-KEY: <redacted>" in run.stderr
    assert "< 200" in run.stderr


def test_a_second_session_is_refused_until_replaced(cli: Cli) -> None:
    cli("session")
    again = cli("session")
    assert again.code == 2 and "--replace" in again.stderr
    assert cli("session", "--replace").code == 0


def test_named_sessions_are_separate(cli: Cli) -> None:
    assert cli("session", "--session", "a").code == 0
    assert cli("session", "--session", "b").code == 0
    a = json.loads(cli("status", "--json", "--session", "a").stdout)
    b = json.loads(cli("status", "--json", "--session", "b").stdout)
    assert a["id"] != b["id"]


def test_state_file_is_private(cli: Cli, isolated_env: Path) -> None:
    cli("session")
    state = isolated_env / "state"
    assert (state.stat().st_mode & 0o777) == 0o700
    assert ((state / "default.toml").stat().st_mode & 0o777) == 0o600


def test_poll_timeout_exits_8(cli: Cli, sandbox: Sandbox) -> None:
    sandbox.set_agent("manual")
    cli("session")
    cli("init")
    run = cli("poll", "--until", "ChatEstablished", "--timeout", "0.5")
    assert run.code == 8 and "timed out" in run.stderr


def test_no_agent_exits_7(cli: Cli, sandbox: Sandbox) -> None:
    sandbox.set_agent("busy")
    cli("session")
    cli("init")
    run = cli("poll", "--until", "ChatEstablished")
    assert run.code == 7 and "no agent took the chat" in run.stdout, "the pod's ChatRequestFail line says it"
    assert cli("send", "anyone?").code == 6


def test_follow_stops_when_the_agent_ends_the_chat(cli: Cli, sandbox: Sandbox) -> None:
    cli("session")
    cli("init")
    cli("poll", "--until", "ChatEstablished")
    sandbox.agent_action(sandbox.chats()[0]["id"], "end")
    run = cli("poll", "--follow", "--json")
    assert run.code == 0
    assert _json_lines(run.stdout)[-1]["type"] == "ChatEnded"
    assert cli("send", "hello?").code == 6


def test_missing_settings_are_config_errors(cli: Cli) -> None:
    run = cli("session", LIVEAGENT_POD="")
    assert run.code == 3 and "no pod" in run.stderr and "LIVEAGENT_POD" in run.stderr
    cli("session")
    bad = cli("init", "--org-id", "12345")
    assert bad.code == 3 and "not a valid Salesforce id" in bad.stderr


def test_unreachable_pod_is_a_network_error(cli: Cli) -> None:
    run = cli("session", "--pod", "http://127.0.0.1:9/", LIVEAGENT_NETWORK_TIMEOUT="1")
    assert run.code == 4 and "cannot reach 127.0.0.1" in run.stderr
    assert "Traceback" not in run.stderr


def test_the_console_script_runs_and_names_the_packages_version() -> None:
    run = subprocess.run([LIVEAGENT, "--version"], capture_output=True, text=True, timeout=30)
    assert (run.returncode, run.stdout.strip()) == (0, f"liveagent {__version__}")


@pytest.mark.process  # the subprocess runner's feed; tests/test_in_process.py checks the in-process one
def test_the_leak_detector_catches_a_printed_key(cli: Cli) -> None:
    cli("session")
    shown = cli("status", "--json", "--show-secrets")  # allowed to print the key: not recorded
    cli.outputs.append(shown.stdout)
    assert cli.leaked(), "the detector must notice a key in the output"
    cli.outputs.pop()


def test_debug_traceback_and_wire_log_stay_redacted(cli: Cli, sandbox: Sandbox) -> None:
    cli("session")
    cli("init")
    sandbox.reset()  # the pod forgets the session: the next request gets 403
    run = cli("send", "hello", "--debug", "--verbose")
    assert run.code == 6
    assert "Traceback" in run.stderr and "SessionGoneError" in run.stderr
    assert "<redacted>" in run.stderr
    state = json.loads(cli("status", "--json").stdout)
    assert state["chat"] == "ended", "403 means the chat is over, and the state says so"
