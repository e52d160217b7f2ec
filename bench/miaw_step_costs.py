"""Per-step cost of `liveagent send` against Enhanced Chat, as whole processes, as a ratio to a baseline
measured in the same run.

Cases, each run `--runs` times interleaved round-robin (so drift and noise hit every case alike), median wall
time reported: `liveagent send` on an established conversation of an in-process sandbox (Enhanced Chat,
rate limits off); `send` on a conversation whose 600 agent messages a `poll` has printed (so its state holds
all it keeps for de-duplication); the same POST as a plain requests + TOML script (bench/miaw_baseline_send.py)
on a conversation of its own; the same POST with curl; `liveagent status`; `python -c "import typer,
tomllib"`. Target: send <= 1.5x the baseline script.

    python bench/miaw_step_costs.py [--runs 30]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import LIVEAGENT, ROOT, agent_says, establish_miaw, miaw_env  # noqa: E402

from liveagent_cli.sandbox import Sandbox  # noqa: E402

SEND = "liveagent send"
SEND_LATE = "liveagent send, late in a long conversation"
BASELINE = "baseline script send (requests + TOML)"
STATUS = "liveagent status"
TYPER = 'python -c "import typer, tomllib"'


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system, from the child's rusage) of one run, in ms."""
    started = time.perf_counter()
    child = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    wall = (time.perf_counter() - started) * 1000
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise subprocess.CalledProcessError(child.returncode, argv)
    return wall, (usage.ru_utime + usage.ru_stime) * 1000


def measure(runs: int) -> dict[str, tuple[float, float]]:
    state_dir = tempfile.mkdtemp(prefix="liveagent-bench-")
    try:
        with Sandbox(accept_after=0, rate_limits=False) as sandbox:
            env = miaw_env(sandbox, state_dir, NO_COLOR="1")
            establish_miaw(env)
            base_env = dict(env, LIVEAGENT_SESSION="baseline")  # its own conversation
            establish_miaw(base_env)
            late_env = dict(env, LIVEAGENT_SESSION="late")
            establish_miaw(late_env)
            late = tomllib.loads((Path(state_dir) / "late.toml").read_text())["miaw"]["conversation_id"]
            for n in range(600):
                agent_says(sandbox, late, f"message {n}")
            subprocess.run([LIVEAGENT, "poll"], env=late_env, check=True, capture_output=True)
            base_state = Path(state_dir) / "baseline.toml"
            state = tomllib.loads(base_state.read_text())["miaw"]
            curl = shutil.which("curl")

            def curl_send() -> list[str]:
                message = {
                    "id": str(uuid.uuid4()),
                    "messageType": "StaticContentMessage",
                    "staticContent": {"formatType": "Text", "text": "curl"},
                }
                body = json.dumps({"message": message, "esDeveloperName": state["deployment_name"]})
                return [
                    curl or "curl",
                    "-sf",
                    "-o",
                    "/dev/null",
                    "-X",
                    "POST",
                    f"{state['messaging_url']}/iamessage/api/v2/conversation/{state['conversation_id']}/message",
                    "-H",
                    f"Authorization: Bearer {state['access_token']}",
                    "-H",
                    f"X-Org-Id: {state['org_id'][:15]}",
                    "-H",
                    "Content-Type: application/json",
                    "--data",
                    body,
                ]

            cases = {
                SEND: lambda: [LIVEAGENT, "send", "hello"],
                SEND_LATE: lambda: [LIVEAGENT, "send", "--session", "late", "hello"],
                BASELINE: lambda: [sys.executable, str(ROOT / "bench/miaw_baseline_send.py"), str(base_state), "hello"],
                STATUS: lambda: [LIVEAGENT, "status"],
                TYPER: lambda: [sys.executable, "-c", "import typer, tomllib"],
            }
            if curl:
                cases["curl send"] = curl_send
            samples: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
            for _ in range(runs):
                for name, make in cases.items():
                    samples[name].append(timed(make(), env))
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)
    return {
        name: (statistics.median(w for w, _ in values), statistics.median(c for _, c in values))
        for name, values in samples.items()
    }


def table(med: dict[str, tuple[float, float]], runs: int) -> str:
    def ratio(name: str, base: str) -> str:
        return f"{med[name][0] / med[base][0]:.2f}x wall, {med[name][1] / med[base][1]:.2f}x CPU"

    notes = {
        SEND: f"{ratio(SEND, BASELINE)} the baseline script (target <= 1.5x)",
        SEND_LATE: f"{ratio(SEND_LATE, BASELINE)} the baseline script",
        STATUS: f"{ratio(STATUS, TYPER)} `import typer, tomllib`",
    }
    lines = [
        f"Enhanced Chat per-step cost: median wall and CPU time (user + system) of {runs} whole-process runs "
        f"each, interleaved; 1-minute load average {os.getloadavg()[0]:.1f} at the end (the machine may be shared: "
        "above its CPU count, wall times measure the neighbours too, CPU times less so).",
        "",
        "| case | median ms | CPU ms | ratio |",
        "|---|---:|---:|---|",
    ]
    lines += [f"| {name} | {wall:.1f} | {cpu:.1f} | {notes.get(name, '')} |" for name, (wall, cpu) in med.items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    print(table(measure(args.runs), args.runs))
