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


def miaw_env(sandbox: Sandbox, state_dir: str, **extra: str) -> dict[str, str]:
    """The CLI's environment for Enhanced Chat on `sandbox` (its Messaging URL), with its own state folder."""
    return dict(
        os.environ,
        LIVEAGENT_API="miaw",
        LIVEAGENT_POD=sandbox.messaging_url,
        LIVEAGENT_ORG_ID=sandbox.org_id,
        LIVEAGENT_DEPLOYMENT_NAME=sandbox.deployment_name,
        LIVEAGENT_STATE_DIR=state_dir,
        **extra,
    )


def establish_miaw(env: dict[str, str]) -> None:
    """Enhanced Chat's session, init and wait for the agent, each as its own process."""
    for step in (["session"], ["init"], ["poll", "--until", "established"]):
        subprocess.run([LIVEAGENT, *step], env=env, check=True, capture_output=True)


def agent_says(sandbox: Sandbox, chat_id: str, text: str) -> None:
    """The agent says `text`, through the control API's own in-process code, without building the chat's view.

    `Sandbox.say()` and `agent_action()` return the chat's whole view, every event of the conversation
    included, so each call costs more as the conversation grows (O(n), a 10,000-message run O(n²)), and a
    latency measured from just before the call would count it. This is the same action, minus the view.
    """
    from liveagent_cli.sandbox.control.routes import perform_agent_action

    directories = sandbox._started().directories
    sandbox._on_loop(lambda: perform_agent_action(directories, chat_id, "say", {"text": text}))
