"""How a command stops when the world around it does: stdout closed by its reader (`| head -1`, QA2-29, review
D11), SIGTERM or SIGHUP (a CI cancel, `timeout`, a closed terminal: QA2-15), and LIVEAGENT_DEBUG. Real processes,
since signals and pipes are what is tested."""

from __future__ import annotations

import io
import signal
import subprocess

from liveagent_cli.cli.app import run
from liveagent_cli.cli.environment import Environment
from liveagent_cli.sandbox import Sandbox
from tests.conftest import LIVEAGENT, Cli, wait_until


def _start(cli: Cli, *args: str, stdin: int | None = subprocess.PIPE) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [LIVEAGENT, *args], stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cli.env()
    )


def test_a_closed_stdout_stops_chat_quietly_with_141(cli: Cli, sandbox: Sandbox) -> None:
    with _start(cli, "chat", "--json") as chat:
        assert chat.stdin is not None and chat.stdout is not None and chat.stderr is not None
        chat.stdin.write(b"a\nb\n")
        chat.stdin.close()
        first = chat.stdout.readline()
        chat.stdout.close()  # `| head -1`
        assert chat.wait(30) == 141
        stderr = chat.stderr.read().decode()
    assert b"ChatRequestSuccess" in first
    assert "Traceback" not in stderr and "error" not in stderr, stderr
    assert sandbox.chats()[0]["state"] == "ended", "the chat was still ended on the pod"
    assert cli("status").code == 6, "and forgotten"


class ClosedPipe(io.TextIOBase):
    """stdout whose reader has gone: every write fails as a closed pipe does."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_a_closed_stdout_is_141_in_any_command(cli: Cli, sandbox: Sandbox) -> None:
    assert cli("session").code == 0
    err = io.StringIO()
    for argv in (["status"], ["status", "--json"], ["config", "path"]):
        env = Environment(argv=argv, environ=cli.env(), stdin=io.BytesIO(), stdout=ClosedPipe(), stderr=err)
        assert run(env=env) == 141, argv
    assert err.getvalue() == "", "no message, no traceback"


def test_sigterm_ends_a_piped_chat_on_the_pod_and_exits_143(cli: Cli, sandbox: Sandbox) -> None:
    with _start(cli, "chat") as chat:  # stdin stays open, like `sleep 30 | liveagent chat`
        wait_until(lambda: bool(sandbox.chats()) and sandbox.chats()[0]["state"] == "established", timeout=20)
        wait_until(lambda: sandbox.chats()[0]["pollsHeld"] == 1, timeout=20)
        chat.send_signal(signal.SIGTERM)
        _, err = chat.communicate(timeout=30)
    stderr = err.decode()
    assert chat.returncode == 143, stderr
    assert "error: stopped by SIGTERM" in stderr and "Traceback" not in stderr, stderr
    [pod_chat] = sandbox.chats()
    assert pod_chat["state"] == "ended" and pod_chat["endedBy"] == "visitor", pod_chat
    assert cli("status").code == 6, "the session is forgotten"


def test_sighup_stops_poll_follow_like_ctrl_c(cli: Cli, sandbox: Sandbox) -> None:
    cli.established()
    with _start(cli, "poll", "--follow", stdin=subprocess.DEVNULL) as follow:
        wait_until(lambda: sandbox.chats()[0]["pollsHeld"] == 1, timeout=20)
        follow.send_signal(signal.SIGHUP)
        _, err = follow.communicate(timeout=30)
    stderr = err.decode()
    assert follow.returncode == 129, stderr
    assert "error: stopped by SIGHUP" in stderr and "Traceback" not in stderr, stderr
    assert cli("poll", "--timeout", "0.1").code == 0, "the poll lock was released"


def test_liveagent_debug_is_debug(cli: Cli) -> None:
    plain = cli("send", "hello")
    assert plain.code == 6 and "Traceback" not in plain.stderr
    debug = cli("send", "hello", LIVEAGENT_DEBUG="1")
    assert debug.code == 6 and "Traceback (most recent call last)" in debug.stderr
    off = cli("send", "hello", LIVEAGENT_DEBUG="0")
    assert "Traceback" not in off.stderr
