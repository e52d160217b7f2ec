"""Enhanced Chat delivery latency: from an agent's message being written on the event stream to `liveagent
poll --follow --json` having printed it, p50 and p99 over `--messages` messages (default 1,000). Targets:
p50 <= 5 ms, p99 <= 25 ms.

The sandbox runs in this process (Enhanced Chat, rate limits off); the follower is the real console script in
a subprocess with its stream open. Each message is said by the agent through the control API's own in-process
code (`agent_says`, stamped just before), and the clock stops when its line
arrives on the follower's stdout. Messages go one at a time, and the next one waits until the follower has
stored the last one's event id (its state file says so), so each meets an idle follower.

    python bench/miaw_delivery_latency.py [--messages 1000]
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
import tomllib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import LIVEAGENT, agent_says, miaw_env  # noqa: E402

from liveagent_cli.sandbox import Sandbox  # noqa: E402


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))]


def stored_event_id(state_file: Path) -> str:
    try:
        return str(tomllib.loads(state_file.read_text())["miaw"]["last_event_id"])
    except (OSError, tomllib.TOMLDecodeError, KeyError):
        return ""  # mid-replace, or not there yet


def measure(messages: int) -> dict[str, float]:
    state_dir = tempfile.mkdtemp(prefix="liveagent-bench-")
    try:
        with Sandbox(accept_after=0, rate_limits=False, agent="manual") as sandbox:
            env = miaw_env(sandbox, state_dir)
            for step in (["session"], ["init"]):
                subprocess.run([LIVEAGENT, *step], env=env, check=True, capture_output=True)
            sandbox.accept()
            subprocess.run([LIVEAGENT, "poll", "--until", "established"], env=env, check=True, capture_output=True)
            state_file = Path(state_dir) / "default.toml"
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

            # wait until the follower's stream is open and it has read the conversation so far
            end = time.monotonic() + 10
            while not sandbox.chat()["streamOpen"] and time.monotonic() < end:
                time.sleep(0.005)
            time.sleep(1.0)  # its catch-up read of the entries listing, on open
            chat = sandbox.chat().id
            latencies: list[float] = []
            for i in range(messages):
                started = time.perf_counter()
                agent_says(sandbox, chat, f"m{i}")
                while True:  # skip anything else the stream carries (none is expected)
                    line = json.loads(next_line(started + 10))
                    if line.get("kind") == "message":
                        break
                latencies.append((time.perf_counter() - started) * 1000)
                assert line["text"] == f"m{i}", line
                # let the follower store the event id, as a person's pace would
                end = time.monotonic() + 5
                while stored_event_id(state_file) != line["id"] and time.monotonic() < end:
                    time.sleep(0.0005)
            sandbox.end(chat=chat)
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
        f"Enhanced Chat delivery latency: an agent's message written on the event stream until "
        f"`poll --follow --json` printed it ({int(result['messages'])} messages, one at a time; 1-minute load "
        f"average {os.getloadavg()[0]:.1f} at the end).\n\n"
        "| p50 ms | p99 ms | max ms | targets |\n|---:|---:|---:|---|\n"
        f"| {result['p50']:.2f} | {result['p99']:.2f} | {result['max']:.2f} | p50 <= 5, p99 <= 25 |\n"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    print(table(measure(parser.parse_args().messages)))
