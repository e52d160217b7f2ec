"""Per-step cost of `liveagent` as whole processes, as ratios to baselines measured in the same run.

Each case is run `--runs` times, interleaved round-robin (so drift and noise hit every case alike), and the
median wall time is reported. Cases: `send` (against an established chat on an in-process sandbox pod),
`poll` with a message waiting, `status`, `--help`; baselines: the same `send` as a plain requests + TOML
script (bench/baseline_send.py), the same POST with curl, `python -c pass` and `python -c "import typer,
tomllib"`. Targets: send <= 1.5x the baseline script; status <= 1.3x `import typer, tomllib`.

    python bench/step_costs.py [--runs 30]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import LIVEAGENT, ROOT, cli_env, establish  # noqa: E402

from liveagent_cli.sandbox import Sandbox, SandboxConfig  # noqa: E402


def timed(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return (time.perf_counter() - started) * 1000


def main() -> list[tuple[str, float, str]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    state_dir = tempfile.mkdtemp(prefix="liveagent-bench-")
    rows: list[tuple[str, float, str]] = []
    with Sandbox(SandboxConfig(accept_after=0, poll_hold=30)) as sandbox:
        env = cli_env(sandbox, state_dir, NO_COLOR="1")
        establish(env)
        # a second session for the baseline script and curl, so their sequence numbers never clash with ours
        base_env = dict(env, LIVEAGENT_SESSION="baseline")
        establish(base_env)
        base_state = Path(state_dir) / "baseline.toml"
        state = tomllib.loads(base_state.read_text())["session"]
        chat_id = state["id"]
        curl = shutil.which("curl")
        curl_seq = [10_000]

        def curl_send() -> list[str]:
            curl_seq[0] += 1
            return [
                curl or "curl",
                "-s",
                "-o",
                "/dev/null",
                "-X",
                "POST",
                state["pod"] + "Chasitor/ChatMessage",
                "-H",
                f"X-LIVEAGENT-API-VERSION: {state['api_version']}",
                "-H",
                f"X-LIVEAGENT-AFFINITY: {state['affinity']}",
                "-H",
                f"X-LIVEAGENT-SESSION-KEY: {state['key']}",
                "-H",
                f"X-LIVEAGENT-SEQUENCE: {curl_seq[0]}",
                "-H",
                "Content-Type: application/json",
                "--data",
                '{"text":"curl"}',
            ]

        def poll_waiting() -> list[str]:
            sandbox.agent_action(sandbox.chats()[0]["id"], "say", text="waiting")  # a message is waiting
            return [LIVEAGENT, "poll"]

        cases: dict[str, object] = {
            "liveagent send": lambda: [LIVEAGENT, "send", "hello"],
            "baseline script send (requests + TOML)": lambda: [
                sys.executable,
                str(ROOT / "bench/baseline_send.py"),
                str(base_state),
                "hello",
            ],
            "liveagent poll (message waiting)": poll_waiting,
            "liveagent status": lambda: [LIVEAGENT, "status"],
            "liveagent --help": lambda: [LIVEAGENT, "--help"],
            'python -c "import typer, tomllib"': lambda: [sys.executable, "-c", "import typer, tomllib"],
            "python -c pass": lambda: [sys.executable, "-c", "pass"],
        }
        if curl:
            cases["curl send"] = curl_send
        samples: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.runs):
            for name, make in cases.items():
                argv = make()  # type: ignore[operator]
                samples[name].append(timed(argv, env))
        del chat_id
    shutil.rmtree(state_dir, ignore_errors=True)
    med = {name: statistics.median(values) for name, values in samples.items()}
    send_ratio = med["liveagent send"] / med["baseline script send (requests + TOML)"]
    status_ratio = med["liveagent status"] / med['python -c "import typer, tomllib"']
    for name, value in med.items():
        note = ""
        if name == "liveagent send":
            note = f"{send_ratio:.2f}x the baseline script (target <= 1.5x)"
        elif name == "liveagent status":
            note = f"{status_ratio:.2f}x `import typer, tomllib` (target <= 1.3x)"
        rows.append((name, value, note))
    return rows


def table(rows: list[tuple[str, float, str]], runs: int) -> str:
    lines = [
        f"Per-step cost: median wall time of {runs} whole-process runs each, interleaved.",
        "",
        "| case | median ms | ratio |",
        "|---|---:|---|",
    ]
    lines += [f"| {name} | {ms:.1f} | {note} |" for name, ms, note in rows]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    result = main()
    runs = 30
    if "--runs" in sys.argv:
        runs = int(sys.argv[sys.argv.index("--runs") + 1])
    print(table(result, runs))
