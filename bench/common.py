"""What the benchmarks share: the console script, and an environment pointing the CLI at a sandbox."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from liveagent_cli.sandbox import BUTTON_ID, DEPLOYMENT_ID, ORG_ID, Sandbox  # noqa: E402

LIVEAGENT = str(Path(sys.executable).parent / "liveagent")


def cli_env(sandbox: Sandbox, state_dir: str, **extra: str) -> dict[str, str]:
    """The CLI's environment for `sandbox`, with its own state folder."""
    return dict(
        os.environ,
        LIVEAGENT_POD=sandbox.pod_url,
        LIVEAGENT_ORG_ID=ORG_ID,
        LIVEAGENT_DEPLOYMENT_ID=DEPLOYMENT_ID,
        LIVEAGENT_BUTTON_ID=BUTTON_ID,
        LIVEAGENT_STATE_DIR=state_dir,
        **extra,
    )


def establish(env: dict[str, str]) -> None:
    """session, init and wait for the agent, each as its own process."""
    for step in (["session"], ["init"], ["poll", "--until", "ChatEstablished"]):
        subprocess.run([LIVEAGENT, *step], env=env, check=True, capture_output=True)
