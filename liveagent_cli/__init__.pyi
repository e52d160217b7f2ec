# What type checkers see of `liveagent_cli`: the names __init__.py imports on first use (its `_EXPORTS`).
from liveagent_cli.core.chat_events import ChatEvent as ChatEvent
from liveagent_cli.core.chat_events import EventKind as EventKind
from liveagent_cli.core.client import LiveAgentClient as LiveAgentClient
from liveagent_cli.core.errors import LiveAgentError as LiveAgentError
from liveagent_cli.core.errors import WaitTimeoutError as WaitTimeoutError
from liveagent_cli.core.miaw.client import MiawClient as MiawClient
from liveagent_cli.sandbox import ChatLine as ChatLine
from liveagent_cli.sandbox import ChatRecord as ChatRecord
from liveagent_cli.sandbox import FaultSpecError as FaultSpecError
from liveagent_cli.sandbox import InjectedFault as InjectedFault
from liveagent_cli.sandbox import Sandbox as Sandbox
from liveagent_cli.sandbox import SandboxConfig as SandboxConfig
from liveagent_cli.sandbox import SandboxError as SandboxError
from liveagent_cli.visitor_chat import VisitorChat as VisitorChat

__version__: str
__all__: list[str]
