"""Enhanced Chat: memory of `poll --follow --json` across a 10,000-event conversation, resident memory sampled
as the agent's messages arrive on its event stream. Target: flat (what the follower holds does not grow with
the conversation: the entry ids it remembers for de-duplication are capped).

    python bench/miaw_follower_memory.py [--messages 10000]
"""

from __future__ import annotations

import argparse
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import LIVEAGENT, agent_says, miaw_env  # noqa: E402
from follower_memory import rss_mib  # noqa: E402

from liveagent_cli.sandbox import Sandbox  # noqa: E402

KIND = "poll --follow"


def drive(messages: int) -> list[tuple[int, float]]:
    """Run a follower against a fresh sandbox; returns (messages seen, RSS MiB) samples."""
    state_dir = tempfile.mkdtemp(prefix="liveagent-bench-")
    samples: list[tuple[int, float]] = []
    try:
        with Sandbox(accept_after=0, rate_limits=False, agent="manual") as sandbox:
            env = miaw_env(sandbox, state_dir)
            for step in (["session"], ["init"]):
                subprocess.run([LIVEAGENT, *step], env=env, check=True, capture_output=True)
            sandbox.accept()
            proc = subprocess.Popen(
                [LIVEAGENT, "poll", "--follow", "--json"], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
            )
            assert proc.stdout is not None
            fd = proc.stdout.fileno()
            end = time.monotonic() + 30
            while not sandbox.chat()["streamOpen"]:
                if time.monotonic() > end:
                    raise TimeoutError("the follower never opened its stream")
                time.sleep(0.01)
            chat = sandbox.chat().id
            seen, lines, checkpoints = 0, b"", {1, messages // 10, messages // 4, messages // 2, 3 * messages // 4}
            sent = 0
            deadline = time.monotonic() + 900
            while seen < messages and time.monotonic() < deadline:
                while sent < messages and sent - seen < 200:  # keep a bounded backlog
                    agent_says(sandbox, chat, f"message {sent} " + "x" * 80)
                    sent += 1
                if select.select([fd], [], [], 1.0)[0]:
                    lines += os.read(fd, 1 << 16)
                    complete, _, lines = lines.rpartition(b"\n")
                    for line in complete.split(b"\n"):
                        if b'"kind": "message"' not in line:
                            continue  # the conversation's own routing and participant events
                        seen += 1
                        if seen in checkpoints:
                            samples.append((seen, rss_mib(proc.pid)))
            samples.append((seen, rss_mib(proc.pid)))
            sandbox.end(chat=chat)
            proc.wait(timeout=30)
            proc.stdout.close()
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)
    return samples


def table(samples: list[tuple[int, float]], messages: int) -> str:
    points = [n for n, _ in samples]
    base = next((mib for n, mib in samples if n >= messages // 10), samples[0][1])
    growth = samples[-1][1] - base
    lines = [
        f"Enhanced Chat: memory of the follower across a {messages:,}-event conversation "
        f"(resident MiB after N agent messages; 1-minute load average {os.getloadavg()[0]:.1f} at the end).",
        "",
        "| process | " + " | ".join(f"{n:,}" for n in points) + " | growth after the first 1,000 |",
        "|---|" + "---:|" * len(points) + "---:|",
        f"| `{KIND}` (Enhanced Chat) | " + " | ".join(f"{mib:.1f}" for _, mib in samples) + f" | {growth:+.1f} MiB |",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    count = parser.parse_args().messages
    print(table(drive(count), count))
