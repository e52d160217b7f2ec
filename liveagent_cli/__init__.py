"""liveagent: the visitor side of Salesforce's chat (Enhanced Chat and the legacy Live Agent REST API), from the shell.

It is a Python library too (docs/python-api.md). These names are imported on first use, so `import
liveagent_cli` stays cheap and none of them brings in Typer, Rich or prompt_toolkit:

    Sandbox, SandboxConfig, SandboxError, ChatRecord, ChatLine, InjectedFault, FaultSpecError
                                    the sandbox in a thread of this process (liveagent_cli.sandbox)
    LiveAgentClient, MiawClient     one method per resource of each API (liveagent_cli.core)
    VisitorChat                     a visitor's chat over the commands' own steps (liveagent_cli.visitor_chat)
    ChatEvent, EventKind            what arrives, in words no API owns
    LiveAgentError, WaitTimeoutError  the errors they raise (each has `message` and `hint`)
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# name -> the module that defines it. Imported by name (importlib), not by an import statement: the package's
# own modules import `__version__` from here, and a static import would make each of them depend on all of these.
_EXPORTS = {
    "Sandbox": "liveagent_cli.sandbox",
    "SandboxConfig": "liveagent_cli.sandbox",
    "SandboxError": "liveagent_cli.sandbox",
    "ChatRecord": "liveagent_cli.sandbox",
    "ChatLine": "liveagent_cli.sandbox",
    "InjectedFault": "liveagent_cli.sandbox",
    "FaultSpecError": "liveagent_cli.sandbox",
    "LiveAgentClient": "liveagent_cli.core.client",
    "MiawClient": "liveagent_cli.core.miaw.client",
    "VisitorChat": "liveagent_cli.visitor_chat",
    "ChatEvent": "liveagent_cli.core.chat_events",
    "EventKind": "liveagent_cli.core.chat_events",
    "LiveAgentError": "liveagent_cli.core.errors",
    "WaitTimeoutError": "liveagent_cli.core.errors",
}
__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'liveagent_cli' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once: later look-ups find it without coming here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
