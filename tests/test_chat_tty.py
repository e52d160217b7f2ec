"""The interactive `chat`, driven through a pseudo-terminal as a person would use it."""

from __future__ import annotations

import os
import pty
import select
import time

from liveagent_cli.sandbox import Sandbox
from tests.conftest import LIVEAGENT, Cli, wait_until


class Terminal:
    """A child process on a pty; `expect` reads until a text shows up (or fails the test)."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child
            os.execve(argv[0], argv, env)
        self.seen = b""

    def expect(self, text: str, timeout: float = 15) -> None:
        end = time.monotonic() + timeout
        needle = text.encode()
        while needle not in self.seen:
            if time.monotonic() > end:
                raise AssertionError(f"never saw {text!r}; screen so far:\n{self.seen.decode(errors='replace')}")
            ready, _, _ = select.select([self.fd], [], [], 0.1)
            if ready:
                try:
                    self.seen += os.read(self.fd, 65536)
                except OSError:
                    break

    def type(self, text: str) -> None:
        for char in text:  # a person types one key at a time
            os.write(self.fd, char.encode())
            time.sleep(0.01)

    def exit_code(self, timeout: float = 15) -> int:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                os.close(self.fd)
                return os.waitstatus_to_exitcode(status)
            try:
                self.seen += os.read(self.fd, 65536) if select.select([self.fd], [], [], 0.05)[0] else b""
            except OSError:
                pass
        raise AssertionError("chat did not exit")


def _terminal(cli: Cli, *args: str) -> Terminal:
    env = cli.env(TERM="xterm-256color", COLUMNS="100", LINES="30")
    env.pop("NO_COLOR", None)
    return Terminal([LIVEAGENT, "chat", "--visitor-name", "Ada", *args], env)


def test_interactive_chat_with_typing_events_and_end(cli: Cli, sandbox: Sandbox) -> None:
    term = _terminal(cli)
    term.expect("joined the chat")
    term.type("hello there")
    wait_until(lambda: any(e.get("type") == "ChasitorTyping" for e in sandbox.chats()[0]["events"]))
    term.type("\r")
    term.expect("Sandbox Agent: hello there")
    term.type("/end\r")
    assert term.exit_code() == 0
    [chat] = sandbox.chats()
    assert chat["transcript"] == ["hello there"]
    kinds = [e["type"] for e in chat["events"] if e["from"] == "visitor"]
    assert "ChasitorTyping" in kinds, "the visitor's typing reaches the agent"
    assert chat["state"] == "ended"


def test_ctrl_c_ends_the_chat_cleanly(cli: Cli, sandbox: Sandbox) -> None:
    term = _terminal(cli)
    term.expect("joined the chat")
    term.type("\x03")
    assert term.exit_code() == 130
    assert sandbox.chats()[0]["state"] == "ended", "the pod heard the end"


def test_the_agent_ending_the_chat_ends_the_prompt(cli: Cli, sandbox: Sandbox) -> None:
    term = _terminal(cli)
    term.expect("joined the chat")
    sandbox.agent_action(sandbox.chats()[0]["id"], "end")
    term.expect("chat ended (agent)")
    assert term.exit_code() == 0
