"""Run `liveagent ARGS...` under cProfile timing CPU, not wall time, and write the statistics to FILE when it
exits (the sandbox exits cleanly on SIGTERM). Wall time on a shared machine also counts the moments the
process waited for a core, which profiles the neighbours; CPU time shows what the process itself spends.

    python bench/cpu_profile.py FILE sandbox serve --port 0 ...
"""

from __future__ import annotations

import cProfile
import runpy
import sys
import time


def main() -> None:
    out, args = sys.argv[1], sys.argv[2:]
    sys.argv = ["liveagent", *args]
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    try:
        runpy.run_module("liveagent_cli", run_name="__main__", alter_sys=True)
    except SystemExit:
        pass
    finally:
        profiler.disable()
        profiler.dump_stats(out)


if __name__ == "__main__":
    main()
