"""`make bench`: every benchmark in one run, one markdown report printed and written to bench/results.md.

Each part runs as its own process (so one part's imports and threads never colour another's timings):
per-step cost, delivery latency, sandbox capacity (legacy Chat, then Enhanced Chat), follower memory, then the
Enhanced Chat client's own: `send` against a bare requests script, delivery latency, follower memory.
Figures are ratios and percentiles from this run on this machine; nothing here is asserted by the test suite.

    python bench/run.py [--quick]     # --quick: fewer runs and messages, for a look rather than a record
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results.md"


def part(script: str, *args: str) -> str:
    print(f"running {script} {' '.join(args)}", file=sys.stderr, flush=True)
    run = subprocess.run([sys.executable, str(HERE / script), *args], capture_output=True, text=True, timeout=1800)
    if run.returncode not in (0, 1):
        return f"{script} failed ({run.returncode}):\n\n```\n{run.stderr[-2000:]}\n```\n"
    return run.stdout.strip() + "\n"


def main() -> int:
    quick = "--quick" in sys.argv
    header = (
        f"# Benchmarks\n\nMachine: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}; {time.strftime('%Y-%m-%d %H:%M %Z')}. "
        f"Reproduce with `make bench`{' (this run: --quick)' if quick else ''}.\n"
    )
    sections = [
        part("step_costs.py", "--runs", "10" if quick else "30"),
        part("delivery_latency.py", "--messages", "200" if quick else "1000"),
        part("sandbox_capacity.py", *(["--levels", "100,500", "--duration", "5"] if quick else [])),
        part("miaw_capacity.py", *(["--levels", "100,500", "--duration", "5"] if quick else [])),
        part("follower_memory.py", "--messages", "2000" if quick else "10000"),
        part("miaw_step_costs.py", "--runs", "10" if quick else "30"),
        part("miaw_delivery_latency.py", "--messages", "200" if quick else "1000"),
        part("miaw_follower_memory.py", "--messages", "2000" if quick else "10000"),
    ]
    report = (
        header
        + "\n"
        + "\n".join(
            f"## {title}\n\n{body}"
            for title, body in zip(
                (
                    "Per-step cost",
                    "Delivery latency",
                    "Sandbox capacity",
                    "Enhanced Chat capacity",
                    "Memory over a long conversation",
                    "Enhanced Chat: per-step cost",
                    "Enhanced Chat: delivery latency",
                    "Enhanced Chat: memory over a long conversation",
                ),
                sections,
                strict=True,
            )
        )
    )
    RESULTS.write_text(report)
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
