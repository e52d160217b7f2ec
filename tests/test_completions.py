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
