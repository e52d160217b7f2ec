"""The committed completion scripts are what the app generates today."""

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import LIVEAGENT

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts_are_up_to_date(shell: str) -> None:
    env = dict(os.environ, _LIVEAGENT_COMPLETE=f"source_{shell}")
    generated = subprocess.run([LIVEAGENT], env=env, capture_output=True, text=True, check=True).stdout
    committed = (ROOT / "completions" / f"liveagent.{shell}").read_text()
    assert generated == committed, "completions are stale: run `make completions`"


def test_bash_completion_offers_commands_and_options() -> None:
    def complete(words: str) -> list[str]:
        env = dict(
            os.environ, _LIVEAGENT_COMPLETE="complete_bash", COMP_WORDS=words, COMP_CWORD=str(len(words.split()) - 1)
        )
        return subprocess.run([LIVEAGENT], env=env, capture_output=True, text=True, check=True).stdout.split()

    assert complete("liveagent po") == ["poll"]
    assert "--follow" in complete("liveagent poll --f")


def _complete(line: str) -> list[str]:
    """What bash is offered for the last word of `line` (a trailing space: a new, empty word)."""
    words = line.split() + ([""] if line.endswith(" ") else [])
    env = dict(os.environ, _LIVEAGENT_COMPLETE="complete_bash", COMP_WORDS=line, COMP_CWORD=str(len(words) - 1))
    return subprocess.run([LIVEAGENT], env=env, capture_output=True, text=True, check=True).stdout.split()


def test_completion_offers_the_values_an_argument_takes(isolated_env: Path) -> None:
    """QA2-59: typing on/off, profile names, profile keys, stored session names."""
    assert _complete("liveagent typing ") == ["on", "off"]
    assert _complete("liveagent typing of") == ["off"]
    (isolated_env / "config.toml").write_text('[profiles.uat]\npod = "x"\n[profiles.prod]\npod = "y"\n')
    assert _complete("liveagent config show ") == ["prod", "uat"]
    assert _complete("liveagent status --profile u") == ["uat"]
    assert "visitor_name" in _complete("liveagent config set uat ") and "pod" in _complete("liveagent config set uat ")
    state = isolated_env / "state"
    state.mkdir()
    (state / "ci.toml").write_text("")
    assert _complete("liveagent status --session ") == ["ci"]


def test_completion_offers_the_sandbox_agents_and_actions() -> None:
    """QA2-59: `sandbox agent <TAB>` the actions, `--agent <TAB>` the agent kinds."""
    actions = _complete("liveagent sandbox agent ")
    assert {"accept", "say", "menu", "transfer", "end"} <= set(actions)
    assert _complete("liveagent sandbox agent re") == ["request-file"]
    assert _complete("liveagent sandbox serve --agent ") == ["echo", "manual", "busy", "script:"]
    assert _complete("liveagent sandbox exec --agent m") == ["manual"]
