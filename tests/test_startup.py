"""Start-up discipline: the fast paths never import requests (or Rich), and the lint rule that enforces it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from liveagent_cli.sandbox import Sandbox
from tests.conftest import LIVEAGENT

ROOT = Path(__file__).resolve().parent.parent
PROBE = """
import json, sys
also = json.loads(sys.argv[2])
sys.argv = ["liveagent", *json.loads(sys.argv[1])]
from liveagent_cli.__main__ import main
try:
    main()
except SystemExit:
    pass
watched = ("requests", "urllib3", "rich", "prompt_toolkit", "junitparser", *also)
print(json.dumps(sorted(m for m in watched if m in sys.modules)), file=sys.stderr)
"""
# what a step of one Enhanced Chat verb has no use for: the other verbs' flows
OTHER_MIAW_FLOWS = ("liveagent_cli.flows.miaw.stream", "liveagent_cli.flows.miaw.resources")


def _heavy_modules(args: list[str], env: dict[str, str], also: tuple[str, ...] = ()) -> list[str]:
    probe = [sys.executable, "-c", PROBE, json.dumps(args), json.dumps(also)]
    run = subprocess.run(probe, capture_output=True, text=True, env=env)
    return json.loads(run.stderr.strip().splitlines()[-1])


def _miaw_env(sandbox: Sandbox) -> dict[str, str]:
    return dict(
        os.environ,
        LIVEAGENT_API="miaw",
        LIVEAGENT_POD=sandbox.messaging_url,
        LIVEAGENT_ORG_ID=sandbox.org_id,
        LIVEAGENT_DEPLOYMENT_NAME=sandbox.deployment_name,
    )


@pytest.mark.parametrize("args", [["--help"], ["status"], ["status", "--json"], ["send", "--help"], ["--version"]])
def test_fast_paths_import_neither_requests_nor_rich(args: list[str], isolated_env: Path) -> None:
    assert _heavy_modules(args, dict(os.environ)) == []


def test_a_network_step_imports_requests_but_not_rich_when_piped(isolated_env: Path) -> None:
    env = dict(os.environ, LIVEAGENT_POD="http://127.0.0.1:9/", LIVEAGENT_NETWORK_TIMEOUT="0.2")
    assert _heavy_modules(["session"], env) == ["requests", "urllib3"]


@pytest.mark.parametrize("args", [["status"], ["status", "--json"], ["send", "--help"]])
def test_enhanced_chat_fast_paths_import_neither_requests_nor_rich(args: list[str], sandbox: Sandbox) -> None:
    env = _miaw_env(sandbox)
    subprocess.run([LIVEAGENT, "session"], env=env, check=True, capture_output=True)  # a stored Enhanced Chat session
    assert _heavy_modules(args, env, ("http.client", "ssl")) == []  # nor the HTTP stack (~16 ms of imports)


def test_an_enhanced_chat_send_loads_requests_and_its_own_flow_only(sandbox: Sandbox) -> None:
    env = _miaw_env(sandbox)
    for step in (["session"], ["init"], ["poll", "--until", "established"]):
        subprocess.run([LIVEAGENT, *step], env=env, check=True, capture_output=True)
    assert _heavy_modules(["send", "hello"], env, OTHER_MIAW_FLOWS) == ["requests", "urllib3"]
    assert sandbox.chat().messages[0].text == "hello"  # the probe really sent it


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
