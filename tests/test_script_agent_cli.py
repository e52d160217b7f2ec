"""The visitor steps against a scripted sandbox agent: menus, a file request, a transfer, a conference."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.conftest import LIVEAGENT

SCRIPT = """
accept_after = 0
agent_name = "Ava"
[[steps]]
expect = "(?i)hello"
[[steps]]
say = "Hi {name}! Pick one:"
[[steps]]
menu = ["Billing", "Tech support"]
expect_menu = true
[[steps]]
say = "{choice}, right. Could you send a screenshot?"
[[steps]]
request_file = true
expect_file = true
[[steps]]
transfer = "Tier 2 Agent"
[[steps]]
join = "Supervisor"
[[steps]]
say = "All sorted, thanks!"
[[steps]]
end = "agent"
"""

STEPS = """
set -e
liveagent session >/dev/null
liveagent init --visitor-name Ada
liveagent poll --until ChatEstablished
liveagent send "hello there"
liveagent poll --until RichMessage
liveagent choose 2
liveagent poll --until FileTransfer
liveagent upload screenshot.png
liveagent poll --follow
"""


def test_a_scripted_agent_through_the_steps(tmp_path: Path) -> None:
    (tmp_path / "bot.toml").write_text(SCRIPT)
    (tmp_path / "screenshot.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 2048)
    env = dict(os.environ, PATH=f"{Path(LIVEAGENT).parent}:{os.environ['PATH']}")
    env.pop("LIVEAGENT_STATE_DIR", None)
    run = subprocess.run(
        [LIVEAGENT, "sandbox", "exec", "--agent", f"script:{tmp_path / 'bot.toml'}", "--", "bash", "-c", STEPS],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=env,
    )
    assert run.returncode == 0, run.stderr
    lines = [line for line in run.stdout.splitlines() if not line.startswith("chat requested")]
    assert lines == [
        "Ava joined the chat",
        "Ava: Hi Ada! Pick one:",
        "Ava offers a menu: 1) Billing  2) Tech support",
        "Ava: Tech support, right. Could you send a screenshot?",
        "Ava asked for a file: send it with `liveagent upload FILE` (or /upload in chat)",
        "file transfer: success",
        "chat transferred to Tier 2 Agent",
        "Supervisor joined the conference",
        "Tier 2 Agent: All sorted, thanks!",
        "chat ended (agent)",
    ]
