"""The sandbox pod: a local Live Agent pod for tests, CI and demos (`liveagent sandbox serve|exec|agent`).

Standard library only, one asyncio event loop, and no imports from the client (`liveagent_cli.core`/`.cli`):
the client never imports this package either, so each can be tested against the other honestly.
"""

from liveagent_cli.sandbox.defaults import AGENT_USER_ID, BUTTON_ID, DEPLOYMENT_ID, ORG_ID
from liveagent_cli.sandbox.server import Sandbox, SandboxConfig, serve_forever

__all__ = [
    "AGENT_USER_ID",
    "BUTTON_ID",
    "DEPLOYMENT_ID",
    "ORG_ID",
    "Sandbox",
    "SandboxConfig",
    "serve_forever",
]
