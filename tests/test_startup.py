"""Start-up discipline: the fast paths never import requests (or Rich), and the lint rule that enforces it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROBE = """
import json, sys
sys.argv = ["liveagent", *json.loads(sys.argv[1])]
from liveagent_cli.__main__ import main
try:
    main()
except SystemExit:
    pass
heavy = sorted(m for m in ("requests", "urllib3", "rich", "prompt_toolkit", "junitparser") if m in sys.modules)
print(json.dumps(heavy), file=sys.stderr)
"""


def _heavy_modules(args: list[str], env: dict[str, str]) -> list[str]:
    run = subprocess.run([sys.executable, "-c", PROBE, json.dumps(args)], capture_output=True, text=True, env=env)
    return json.loads(run.stderr.strip().splitlines()[-1])


@pytest.mark.parametrize("args", [["--help"], ["status"], ["status", "--json"], ["send", "--help"], ["--version"]])
def test_fast_paths_import_neither_requests_nor_rich(args: list[str], isolated_env: Path) -> None:
    assert _heavy_modules(args, dict(os.environ)) == []


def test_a_network_step_imports_requests_but_not_rich_when_piped(isolated_env: Path) -> None:
    env = dict(os.environ, LIVEAGENT_POD="http://127.0.0.1:9/", LIVEAGENT_NETWORK_TIMEOUT="0.2")
    assert _heavy_modules(["session"], env) == ["requests", "urllib3"]


def test_the_lint_rule_bans_module_level_requests_and_rich(tmp_path: Path) -> None:
    config = (ROOT / "pyproject.toml").read_text()
    assert 'banned-module-level-imports = ["requests", "rich"]' in config
    bad = tmp_path / "probe.py"  # outside the package, so a parallel test never imports it
    bad.write_text("import requests\n")
    ruff = str(Path(sys.executable).parent / "ruff")
    run = subprocess.run(
        [ruff, "check", "--config", str(ROOT / "pyproject.toml"), "--select", "TID253", str(bad)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 1 and "TID253" in run.stdout
