"""The interactive `chat` as a person sees it: run in tmux (a real terminal emulator, which answers the line
editor's questions about the cursor) and read back from the screen it draws (`tmux capture-pane`)."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from liveagent_cli.sandbox import Sandbox
from tests.conftest import LIVEAGENT, Cli, wait_until

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")


class Screen:
    """A command in a detached tmux session of its own (private socket), 120x40 as in the finding."""

    def __init__(self, shell_command: str, env: dict[str, str]) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="la-tmux-"))  # short: a socket path has a length limit
        self.socket = str(self.folder / "s")
        self.exit_file = self.folder / "exit"
        self.config = self.folder / "tmux.conf"
        self.config.write_text("set -g remain-on-exit on\n")  # the last screen stays to be read
        script = f"{shell_command}; echo $? > {shlex.quote(str(self.exit_file))}"
        self._tmux("new-session", "-d", "-x", "120", "-y", "40", "sh", "-c", script, env=env)

    def _tmux(self, *args: str, env: dict[str, str] | None = None) -> str:
        done = subprocess.run(["tmux", "-S", self.socket, "-f", str(self.config), *args], capture_output=True, env=env)
        return done.stdout.decode("utf-8", "replace")

    @property
    def lines(self) -> list[str]:
        return [line.rstrip() for line in self._tmux("capture-pane", "-p").splitlines()]

    @property
    def toolbar(self) -> str:
        """The bottom toolbar: the last line drawn."""
        drawn = [line for line in self.lines if line.strip()]
        return drawn[-1] if drawn else ""

    def wait_for(self, condition: Callable[[Screen], bool], what: str) -> None:
        try:
            wait_until(lambda: condition(self), timeout=20)
        except AssertionError:
            raise AssertionError(f"the screen never showed {what}:\n" + "\n".join(self.lines)) from None

    def keys(self, text: str, enter: bool = False) -> None:
        self._tmux("send-keys", "-l", text)
        if enter:
            self._tmux("send-keys", "Enter")

    def exit_code(self) -> int:
        wait_until(lambda: self.exit_file.exists() and self.exit_file.read_text().strip() != "", timeout=20)
        return int(self.exit_file.read_text())

    def close(self) -> None:
        self._tmux("kill-server")
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture
def screens(cli: Cli) -> Iterator[Callable[..., Screen]]:
    opened: list[Screen] = []

    def start(*args: str, redirect: str = "") -> Screen:
        env = cli.env(LANG="C.UTF-8", LC_ALL="C.UTF-8")
        env.pop("NO_COLOR", None)
        line = shlex.join([LIVEAGENT, "chat", "--visitor-name", "Ada", *args]) + redirect
        opened.append(Screen(line, env))
        return opened[-1]

    yield start
    for screen in opened:
        screen.close()


def _chat_id(sandbox: Sandbox) -> str:
    wait_until(lambda: bool(sandbox.chats()))
    return str(sandbox.chats()[0]["id"])


def test_a_message_arriving_while_typing_prints_above_the_line(screens, sandbox: Sandbox) -> None:
    """QA2-05 and QA2-55: the typed text stays whole on its own line, the toolbar follows the chat, and a line
    sent is shown once."""
    sandbox.set_agent("manual")
    screen = screens()
    screen.wait_for(lambda s: "waiting for an agent" in s.toolbar, "the waiting toolbar")
    chat_id = _chat_id(sandbox)
    sandbox.agent_action(chat_id, "accept")
    screen.wait_for(lambda s: "Sandbox Agent joined the chat" in s.lines, "the agent joining")
    screen.wait_for(lambda s: s.toolbar.strip() == "Sandbox Agent", "the toolbar naming the agent")
    assert not any("waiting for an agent" in line for line in screen.lines), "no stale toolbar is left behind"

    screen.keys("I am typing a long sentence")
    screen.wait_for(lambda s: "> I am typing a long sentence" in s.lines, "the line being typed")
    sandbox.agent_action(chat_id, "say", text="Message while you type")
    screen.wait_for(lambda s: "Sandbox Agent: Message while you type" in s.lines, "the message on a line of its own")
    lines = screen.lines
    assert "> I am typing a long sentence" in lines, "the half-typed line is intact"
    assert lines.index("Sandbox Agent: Message while you type") < lines.index("> I am typing a long sentence")

    sandbox.agent_action(chat_id, "typing")
    screen.wait_for(lambda s: s.toolbar.strip() == "Sandbox Agent · Sandbox Agent is typing…", "the agent typing")
    screen.keys("", enter=True)
    screen.wait_for(lambda s: "You: I am typing a long sentence" in s.lines, "the line sent")
    screen.wait_for(lambda s: not any(line.startswith(">") and "typing a long" in line for line in s.lines), "once")
    assert sum("I am typing a long sentence" in line for line in screen.lines) == 1, "the line is shown once"

    screen.keys("/end", enter=True)
    assert screen.exit_code() == 0
    [chat] = sandbox.chats()
    assert chat["transcript"] == ["I am typing a long sentence"] and chat["state"] == "ended"


def test_with_stdout_piped_the_chat_stays_interactive(screens, sandbox: Sandbox, tmp_path: Path) -> None:
    """QA2-13: `chat | tee log` at a terminal is still a conversation: /end ends it, and the log has the lines.
    (What tee echoes to the terminal, the prompt cannot place: the screen is not checked here.)"""
    log = tmp_path / "chat.log"
    screen = screens(redirect=f" | tee {shlex.quote(str(log))}")
    screen.wait_for(lambda s: s.toolbar.strip() == "Sandbox Agent", "the toolbar naming the agent")
    screen.keys("hello", enter=True)
    wait_until(lambda: log.exists() and "Sandbox Agent: hello" in log.read_text(), timeout=20)
    screen.keys("/end", enter=True)
    assert screen.exit_code() == 0
    [chat] = sandbox.chats()
    assert chat["transcript"] == ["hello"], "/end was a command, not a message"
    assert chat["state"] == "ended"
    text = log.read_text()
    assert "You: hello" in text and "\x1b" not in text, "the piped stdout has the lines, without escape codes"


def test_an_agents_escapes_are_shown_in_the_chat_not_obeyed(screens, sandbox: Sandbox) -> None:
    """QA2-06 on the terminal: the text and the agent's name appear as visible escapes, the screen is not cleared."""
    screen = screens()
    screen.wait_for(lambda s: "Sandbox Agent joined the chat" in s.lines, "the agent joining")
    chat_id = _chat_id(sandbox)
    sandbox.agent_action(chat_id, "transfer", name="Eve\x1b[2J")
    sandbox.agent_action(chat_id, "say", text="\x1b]0;pwned\x07\x1b[31mred\rFAKE")
    shown = "Eve\\x1b[2J: \\x1b]0;pwned\\x07\\x1b[31mred\\x0dFAKE"
    screen.wait_for(lambda s: shown in s.lines, "the message with its escapes made visible")
    assert "chat transferred to Eve\\x1b[2J" in screen.lines, "the screen was not cleared"
    screen.wait_for(lambda s: s.toolbar.strip() == "Eve\\x1b[2J", "the agent's name in the toolbar, escaped")
    screen.keys("/end", enter=True)
    assert screen.exit_code() == 0


def test_commands_give_hints_that_fit_the_chat(screens, sandbox: Sandbox) -> None:
    """QA2-45 and QA2-55: /help with words after it, /choose without a menu, a 500 on an established chat."""
    screen = screens()
    screen.wait_for(lambda s: "Sandbox Agent joined the chat" in s.lines, "the agent joining")
    screen.keys("/help extra", enter=True)
    screen.wait_for(lambda s: any(line.startswith("  /choose N") for line in s.lines), "the help")
    screen.keys("/choose 1", enter=True)
    screen.wait_for(lambda s: "error: no menu to answer" in s.lines, "no menu")
    sandbox.add_fault("status:code=500,path=ChatMessage,times=1")
    screen.keys("refused once", enter=True)
    hint = "hint: the pod could not take that message (it was not sent); send it again"
    screen.wait_for(lambda s: hint in s.lines, "the 500 with a hint for the chat")
    text = "\n".join(screen.lines)
    assert "HTTP 500" in text
    assert "liveagent poll" not in text, "no advice to run a second poller beside the chat"
    assert "until an agent accepted" not in text, "the agent has accepted"
    assert "You: refused once" not in screen.lines, "a refused line is not shown as said"
    screen.keys("/end", enter=True)
    assert screen.exit_code() == 0


def test_no_agent_within_timeout_ends_the_interactive_chat(screens, sandbox: Sandbox) -> None:
    """Review 6.2: --timeout is a timer of the chat, not a side effect of drawing the toolbar."""
    sandbox.set_agent("manual")
    screen = screens("--timeout", "1")
    assert screen.exit_code() == 8
    assert any(line.startswith("error: no agent accepted the chat within 1 s") for line in screen.lines)
    assert sandbox.chats()[0]["state"] == "ended", "the chat was ended on the pod"


def test_sigterm_ends_the_interactive_chat_on_the_pod(screens, sandbox: Sandbox) -> None:
    """QA2-15 at the prompt: SIGTERM unwinds like Ctrl-C (the chat is ended on the pod) and exits 143."""
    screen = screens()
    screen.wait_for(lambda s: "Sandbox Agent joined the chat" in s.lines, "the agent joining")
    shell = screen._tmux("list-panes", "-F", "#{pane_pid}").strip()
    [chat_pid] = subprocess.run(["pgrep", "-P", shell], capture_output=True, text=True).stdout.split()
    subprocess.run(["kill", "-TERM", chat_pid], check=True)
    assert screen.exit_code() == 143
    assert "error: stopped by SIGTERM" in screen.lines
    assert sandbox.chats()[0]["state"] == "ended"
