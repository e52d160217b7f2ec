"""Regenerate the README's command reference from the app's own `--help` (`make docs`).

The block between the reference markers is replaced; `--check` exits 1 when it is stale instead (the test
suite runs that, so the README cannot drift from the code).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
START, END = "<!-- reference:start -->", "<!-- reference:end -->"
LIVEAGENT = str(Path(sys.executable).with_name("liveagent"))


def help_text(*args: str) -> str:
    env = dict(os.environ, COLUMNS="100", NO_COLOR="1", TERM="dumb")
    out = subprocess.run([LIVEAGENT, *args, "--help"], env=env, capture_output=True, text=True, check=True).stdout
    return out.rstrip() + "\n"


def commands() -> list[list[str]]:
    sys.path.insert(0, str(ROOT))
    from liveagent_cli.cli.app import COMMANDS, GROUPS

    found: list[list[str]] = [[]]
    for name in COMMANDS:
        found.append([name])
        if name in GROUPS:
            listing = help_text(name).split("Commands:", 1)[1]
            found += [[name, line.split()[0]] for line in listing.splitlines() if line.startswith("  ") and
                      not line.startswith("   ")]
    return found


def reference() -> str:
    parts = [START, "", "Generated from `--help` by `make docs`; a test fails when it drifts.", ""]
    for args in commands():
        title = " ".join(["liveagent", *args])
        parts += [f"### `{title}`", "", "```text", help_text(*args).rstrip(), "```", ""]
    parts.append(END)
    return "\n".join(parts)


def main() -> int:
    text = README.read_text()
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        print(f"README.md has no {START} ... {END} block", file=sys.stderr)
        return 2
    fresh = pattern.sub(lambda _m: reference(), text)
    if "--check" in sys.argv:
        if fresh != text:
            print("the README's command reference is stale: run `make docs`", file=sys.stderr)
            return 1
        return 0
    README.write_text(fresh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
