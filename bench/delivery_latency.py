"""Delivery latency: from a message being queued in the sandbox to `liveagent poll --follow --json` having
printed it, p50 and p99 over `--messages` messages (default 1,000). Targets: p50 <= 5 ms, p99 <= 25 ms.

The sandbox runs in this process; the follower is the real console script in a subprocess. Each message is
queued through the sandbox's in-process agent API (stamped just before), and the clock stops when its line
arrives on the follower's stdout. Messages go one at a time, so each one meets an idle follower.

    python bench/delivery_latency.py [--messages 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import LIVEAGENT, cli_env, establish  # noqa: E402

from liveagent_cli.sandbox import Sandbox, SandboxConfig  # noqa: E402


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))]


def measure(messages: int) -> dict[str, float]:
    state_dir = tempfile.mkdtemp(prefix="liveagent-bench-")
    try:
        with Sandbox(SandboxConfig(accept_after=0, poll_hold=30)) as sandbox:
            env = cli_env(sandbox, state_dir)
            establish(env)
            chat = sandbox.chats()[0]["id"]
            follower = subprocess.Popen(
                [LIVEAGENT, "poll", "--follow", "--json"], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
            )
            assert follower.stdout is not None
            fd = follower.stdout.fileno()
            buffer = b""

            def next_line(deadline: float) -> bytes:
                nonlocal buffer
                while b"\n" not in buffer:
                    left = deadline - time.perf_counter()
                    if left <= 0 or not select.select([fd], [], [], left)[0]:
                        raise TimeoutError("the follower printed nothing")
                    chunk = os.read(fd, 65536)
                    if not chunk:
                        raise EOFError("the follower exited")
                    buffer += chunk
                line, buffer = buffer.split(b"\n", 1)
                return line

            # wait until the follower's long poll is held, so the first message meets a waiting poll
            end = time.monotonic() + 10
            while sandbox.chats()[0]["pollsHeld"] < 1 and time.monotonic() < end:
                time.sleep(0.005)
            latencies: list[float] = []
            for i in range(messages):
                started = time.perf_counter()
                sandbox.agent_action(chat, "say", text=f"m{i}")
                line = next_line(started + 10)
                latencies.append((time.perf_counter() - started) * 1000)
                assert json.loads(line)["message"]["text"] == f"m{i}"
                # let the follower store its ack and open the next poll, as a person's pace would
                end = time.monotonic() + 5
                while sandbox.chats()[0]["pollsHeld"] < 1 and time.monotonic() < end:
                    time.sleep(0.0005)
            sandbox.agent_action(chat, "end")
            follower.wait(timeout=30)
            follower.stdout.close()
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)
    return {
        "messages": messages,
        "p50": statistics.median(latencies),
        "p99": percentile(latencies, 99),
        "max": max(latencies),
    }


def table(result: dict[str, float]) -> str:
    return (
        f"Delivery latency: a message queued in the sandbox until `poll --follow --json` printed it "
        f"({int(result['messages'])} messages, one at a time).\n\n"
        "| p50 ms | p99 ms | max ms | targets |\n|---:|---:|---:|---|\n"
        f"| {result['p50']:.2f} | {result['p99']:.2f} | {result['max']:.2f} | p50 <= 5, p99 <= 25 |\n"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    print(table(measure(parser.parse_args().messages)))
