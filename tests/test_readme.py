"""The README is the user's manual and docs/ its reference: the command reference (docs/reference.md) matches
`--help`, every recipe runs green, and every link between the pages resolves."""

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
REFERENCE = (ROOT / "docs" / "reference.md").read_text()
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
RECIPE = re.compile(r"```sh\n# recipe: (?P<name>[\w-]+)\n(?P<body>.*?)```", re.S)
RECIPES = {m["name"]: m["body"] for page in PAGES for m in RECIPE.finditer(page.read_text())}
FENCE = re.compile(r"^```.*?^```", re.S | re.M)
LINK = re.compile(r"\]\((?P<target>[^)\s]+)\)")


def anchors(page: Path) -> set[str]:
    """The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces to hyphens."""
    headings = re.findall(r"^#+ (.*)$", FENCE.sub("", page.read_text()), re.M)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


def test_the_command_reference_matches_help() -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts/readme_reference.py"), "--check"], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr


def test_every_command_is_in_the_readme() -> None:
    for name in COMMANDS:
        assert f"## `liveagent {name}`" in REFERENCE, f"{name} has no section in docs/reference.md"
        assert f"`liveagent {name}" in README, f"{name} is not described in the README"


def test_every_link_between_the_pages_resolves() -> None:
    broken: list[str] = []
    for page in PAGES:
        for match in LINK.finditer(FENCE.sub("", page.read_text())):
            target = match["target"]
            if re.match(r"[a-z]+:", target):
                continue  # a web address, not ours to check
            path, _, anchor = target.partition("#")
            linked = (page.parent / path).resolve() if path else page
            if not linked.exists():
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such file)")
            elif anchor and anchor not in anchors(linked):
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such heading)")
    assert not broken, "\n".join(broken)


def test_the_readme_has_the_recipes_the_manual_promises() -> None:
    promised = {"wait-then-send", "follow-into-jq", "several-chats", "ci-sandbox-job"}
    assert promised | {f"{name}-miaw" for name in promised} <= set(RECIPES)  # each for both APIs
    for name in promised:
        assert re.search(r"^# api: miaw$", RECIPES[f"{name}-miaw"], re.M), f"{name}-miaw does not run on Enhanced Chat"


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_recipe_runs_green_against_the_sandbox(name: str, tmp_path: Path) -> None:
    body = RECIPES[name]
    api = re.search(r"^# api: (\S+)$", body, re.M)  # `# api: miaw`: inside `sandbox exec --api miaw`
    env = dict(os.environ, PATH=f"{Path(LIVEAGENT).parent}:{os.environ['PATH']}")
    env.pop("LIVEAGENT_STATE_DIR", None)  # sandbox exec gives the recipe a throwaway state folder
    exec_options = ["--api", api[1], "--accept-after", "0.2"] if api else ["--accept-after", "0.2"]
    run = subprocess.run(
        [LIVEAGENT, "sandbox", "exec", *exec_options, "--", "bash", "-euo", "pipefail", "-c", body],
        capture_output=True,
        text=True,
        timeout=90,
        env=env,
        cwd=tmp_path,
    )
    assert run.returncode == 0, f"recipe {name} failed:\n{run.stdout}\n{run.stderr}"
    if api and api[1] == "miaw":
        assert "(Enhanced Chat)" in run.stderr.splitlines()[0], f"recipe {name} did not run against Enhanced Chat"
    for expected in re.findall(r"^# expect: (.*)$", body, re.M):
        assert expected in run.stdout, f"recipe {name}: {expected!r} not in its output:\n{run.stdout}"
