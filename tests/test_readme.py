"""The README is the user's manual: its command reference matches `--help`, and every recipe runs green."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from liveagent_cli.cli.app import COMMANDS
from tests.conftest import LIVEAGENT

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
RECIPE = re.compile(r"```sh\n# recipe: (?P<name>[\w-]+)\n(?P<body>.*?)```", re.S)
RECIPES = {m["name"]: m["body"] for m in RECIPE.finditer(README)}


def test_the_command_reference_matches_help() -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts/readme_reference.py"), "--check"], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr


def test_every_command_is_in_the_readme() -> None:
    for name in COMMANDS:
        assert f"### `liveagent {name}`" in README, name
        assert f"`liveagent {name}" in README.split("<!-- reference:start -->")[0], f"{name} is not described"


def test_the_readme_has_the_recipes_the_manual_promises() -> None:
    assert {"wait-then-send", "follow-into-jq", "several-chats", "ci-sandbox-job"} <= set(RECIPES)


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_recipe_runs_green_against_the_sandbox(name: str, tmp_path: Path) -> None:
    body = RECIPES[name]
    env = dict(os.environ, PATH=f"{Path(LIVEAGENT).parent}:{os.environ['PATH']}")
    env.pop("LIVEAGENT_STATE_DIR", None)  # sandbox exec gives the recipe a throwaway state folder
    run = subprocess.run(
        [LIVEAGENT, "sandbox", "exec", "--accept-after", "0.2", "--", "bash", "-euo", "pipefail", "-c", body],
        capture_output=True,
        text=True,
        timeout=90,
        env=env,
        cwd=tmp_path,
    )
    assert run.returncode == 0, f"recipe {name} failed:\n{run.stdout}\n{run.stderr}"
    for expected in re.findall(r"^# expect: (.*)$", body, re.M):
        assert expected in run.stdout, f"recipe {name}: {expected!r} not in its output:\n{run.stdout}"
