"""The sandbox: a local Live Agent pod for tests, CI and demos (`liveagent sandbox serve|exec|agent`).

One asyncio event loop, and no imports from the client (`liveagent_cli.core`, `.flows`, `.cli`): the client
never imports this package either, so each can be tested against the other honestly (import-linter keeps
both rules). This module is the facade the command layer and tests use; the sub-packages are:

    http/       the HTTP/1.1 transport: knows nothing of Live Agent
    model/      what every API shares, no HTTP: chat phases, visitor events (neutral kinds), errors, queues,
                and the port between agents and an API (`AgentChat`, `AgentBehaviour`, `Staffing`)
    liveagent/  the legacy Live Agent API: its sessions and pod rules, its REST resources, its nouns for the
                visitor events, and its side of the port (`LiveAgentChat`)
    miaw/       Enhanced Chat (Messaging for In-App and Web, v2): tokens, conversations and their sessions,
                the REST resources, the SSE stream, and its side of the port (`MiawAgentChat`); it and
                liveagent/ never import each other
    agents/     who answers the visitor (echo, manual, busy, scripts): behaviours that import only model/
    faults.py   which failure a request meets (rule selection only; the gateway applies it)
    gateway.py  the front door: faults, journal and wire log, then the API
    control/    the control API under /_sandbox/, and a small client of it (`remote`)
    runtime.py  wiring: the server in a thread or in the foreground (`serve_forever`)
    python_api.py  `Sandbox`: the server in a thread, with the control API's operations as typed methods
    defaults.py, keys.py, jsonbody.py   the ids it advertises, keeping keys out of output, JSON in and out
    multipart.py  multipart/form-data bodies (both APIs' file uploads)
"""

from liveagent_cli.sandbox.agents.behaviours import AGENT_NAMES, agent_spec
from liveagent_cli.sandbox.agents.script import ScriptError
from liveagent_cli.sandbox.control.remote import ControlClient, ControlError
from liveagent_cli.sandbox.defaults import AGENT_USER_ID, BUTTON_ID, DEPLOYMENT_ID, DEPLOYMENT_NAME, ORG_ID
from liveagent_cli.sandbox.faults import FaultSpecError, parse_fault
from liveagent_cli.sandbox.python_api import ChatLine, ChatRecord, InjectedFault, Sandbox, SandboxError, SandboxOptions
from liveagent_cli.sandbox.runtime import SandboxConfig, serve_forever

__all__ = [
    "AGENT_NAMES",
    "AGENT_USER_ID",
    "BUTTON_ID",
    "ChatLine",
    "ChatRecord",
    "ControlClient",
    "ControlError",
    "DEPLOYMENT_ID",
    "DEPLOYMENT_NAME",
    "FaultSpecError",
    "InjectedFault",
    "ORG_ID",
    "Sandbox",
    "SandboxConfig",
    "SandboxError",
    "SandboxOptions",
    "ScriptError",
    "agent_spec",
    "parse_fault",
    "serve_forever",
]
