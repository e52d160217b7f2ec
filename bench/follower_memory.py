"""Memory of `poll --follow` and of `chat` across a 10,000-message conversation: resident memory sampled as
the messages arrive. Target: flat (what the process holds does not grow with the conversation).

    python bench/follower_memory.py [--messages 10000]
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

from common import LIVEAGENT, cli_env, establish  # noqa: E402

from liveagent_cli.sandbox import Sandbox, SandboxConfig  # noqa: E402


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def drive(kind: str, messages: int) -> list[tuple[int, float]]:
    """Run a follower (`poll`) or a `chat` against a fresh sandbox; returns (messages seen, RSS MiB) samples."""
    state_dir = tempfile.mkdtemp(prefix="liveagent-bench-")
    samples: list[tuple[int, float]] = []
    try:
        with Sandbox(SandboxConfig(accept_after=0, poll_hold=30)) as sandbox:
            env = cli_env(sandbox, state_dir)
            if kind == "poll --follow":
                establish(env)
                argv = [LIVEAGENT, "poll", "--follow", "--json"]
            else:
                argv = [LIVEAGENT, "chat", "--json"]
            proc = subprocess.Popen(
                argv, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
            )
            assert proc.stdout is not None and proc.stdin is not None
            fd = proc.stdout.fileno()
            end = time.monotonic() + 30
            while not [c for c in sandbox.chats() if c["state"] == "established" and c["pollsHeld"]]:
                if time.monotonic() > end:
                    raise TimeoutError("the chat never got going")
                time.sleep(0.01)
            chat = sandbox.chats()[0]["id"]
            seen, lines, checkpoints = 0, b"", {1, messages // 10, messages // 4, messages // 2, 3 * messages // 4}
            sent = 0
            deadline = time.monotonic() + 900
            while seen < messages and time.monotonic() < deadline:
                while sent < messages and sent - seen < 200:  # keep a bounded backlog
                    sandbox.agent_action(chat, "say", text=f"message {sent} " + "x" * 80)
                    sent += 1
                if select.select([fd], [], [], 1.0)[0]:
                    lines += os.read(fd, 1 << 16)
                    complete, _, lines = lines.rpartition(b"\n")
                    for line in complete.split(b"\n"):
                        if b'"ChatMessage"' not in line:
                            continue  # the chat's own ChatRequestSuccess / ChatEstablished
                        seen += 1
                        if seen in checkpoints:
                            samples.append((seen, rss_mib(proc.pid)))
            samples.append((seen, rss_mib(proc.pid)))
            proc.stdin.close()
            sandbox.agent_action(chat, "end")
            proc.wait(timeout=30)
            proc.stdout.close()
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)
    return samples


def table(results: dict[str, list[tuple[int, float]]], messages: int) -> str:
    lines = [f"Memory across a {messages:,}-message conversation (resident MiB after N messages).", ""]
    points = sorted({n for samples in results.values() for n, _ in samples})
    lines.append("| process | " + " | ".join(f"{n:,}" for n in points) + " | growth after the first 1,000 |")
    lines.append("|---|" + "---:|" * len(points) + "---:|")
    for kind, samples in results.items():
        by_n = dict(samples)
        base = next((mib for n, mib in samples if n >= messages // 10), samples[0][1])
        growth = samples[-1][1] - base
        cells = " | ".join(f"{by_n[n]:.1f}" if n in by_n else "" for n in points)
        lines.append(f"| `{kind}` | {cells} | {growth:+.1f} MiB |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    count = parser.parse_args().messages
    print(table({kind: drive(kind, count) for kind in ("poll --follow", "chat")}, count))
