"""The sandbox's Python API: everything the control API (`/_sandbox/`) does, as typed methods, for tests.

`Sandbox` runs the server on a daemon thread of the caller's process (on a free port unless told one) and
calls the same in-process code the control API's routes call (`control.api.perform_agent_action`, the chat
directories' views, the fault rules), on the server's own event loop, so there is one implementation of each
operation and the caller needs neither HTTP nor JSON:

    with Sandbox(agent="manual") as sandbox:
        ...                             # point the code under test at sandbox.pod_url or sandbox.messaging_url
        sandbox.accept()                # the only open chat, whichever API it came by
        sandbox.say("Hello, how can I help?")
        with sandbox.fault("503:times=1"):
            ...                         # the next request of a live session meets a 503
        assert sandbox.chat().messages[-1].text == "thanks"

Nothing here imports the client (`liveagent_cli.core`, `.flows`, `.cli`), Typer, Rich or prompt_toolkit.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, TypedDict, Unpack

from liveagent_cli.sandbox import runtime
from liveagent_cli.sandbox.control.routes import ACTIONS, ONLY, PROBLEM_HINTS, TRANSFER_DEFAULT, perform_agent_action
from liveagent_cli.sandbox.defaults import BUTTON_ID, DEPLOYMENT_ID
from liveagent_cli.sandbox.model.refusals import PodError

Api = Literal["liveagent", "miaw"]
APIS: tuple[Api, ...] = ("liveagent", "miaw")
# What a Python caller does about a refused action (the control API's hints speak of its HTTP routes).
_PYTHON_HINTS = {
    "several-open-chats": "name the chat: chat=ID (sandbox.chats() lists them)",
    "unknown-chat": "sandbox.chats() lists every chat and its id",
}
# `agent(ACTION, *args)`: which fields the positional arguments fill, as `sandbox agent ACTION WORDS...` does.
# "*" joins the arguments with spaces (say hello world), "list" takes them all (menu A B C).
_POSITIONAL: dict[str, tuple[str, ...]] = {
    "say": ("text*",),
    "transfer": ("name*",),
    "join": ("name*",),
    "leave": ("name*",),
    "menu": ("items list",),
    "event": ("type", "data"),
    "end": ("reason",),
}


class SandboxOptions(TypedDict, total=False):
    """`Sandbox(**options)`: the fields of `SandboxConfig`, by name (see it for what each means)."""

    host: str
    port: int
    agent: str
    accept_after: float
    poll_hold: float
    client_poll_timeout: int | None
    allow_remote: bool
    seed: int | None
    connection_timeout: float
    max_body: int
    faults: tuple[str, ...]
    log_file: str | None
    public_url: str | None
    strict: bool
    redeliver: bool | None
    duplicate_grace: float | None
    breadcrumb_key: str | None
    org_id: str | None
    deployment_name: str | None
    token_ttl: float
    sse_ping: float
    rate_limits: bool
    replay: bool | None
    second_stream: str | None
    last_event_id: str | None
    retry_after: bool | None
    ping_data: str
    entry_payload: str
    org_id_18: bool
    identity_failure: str
    agent_receipts: bool


class SandboxError(Exception):
    """An operation the sandbox refused (an agent action the chat's state does not allow, an unknown chat).

    `problem` is a stable word for what is wrong (`not-accepted`, `no-open-chat`, `unknown-chat`...; None for
    a malformed argument), `status` the HTTP status the control API answers the same refusal with.
    """

    def __init__(self, message: str, *, problem: str | None = None, status: int = 400, hint: str = "") -> None:
        super().__init__(f"{message}\nhint: {hint}" if hint else message)
        self.message = message
        self.problem = problem
        self.status = status
        self.hint = hint


def _refusal(exc: PodError) -> SandboxError:
    hint = ""
    if exc.problem is not None:
        hint = _PYTHON_HINTS.get(exc.problem) or PROBLEM_HINTS.get(exc.problem, "")
    return SandboxError(exc.message, problem=exc.problem, status=exc.status, hint=hint)


@dataclass(frozen=True, slots=True)
class ChatLine:
    """One message of a chat's conversation: who said it (`visitor` or `agent`), what, and when (epoch ms)."""

    sender: Literal["visitor", "agent"]
    text: str
    at: int


class ChatRecord(dict[str, Any]):
    """A chat (a Live Agent session's chat, or an Enhanced Chat conversation) as the sandbox holds it.

    It is the control API's view of the chat (`GET /_sandbox/chats/{id}`: every key, session keys and tokens
    never among them) with typed accessors for what tests look at most. The view's `transcript` key lists what
    the visitor said; `messages` has both sides in order.
    """

    @property
    def id(self) -> str:
        """The chat's id: Live Agent's SessionId `id`, or Enhanced Chat's conversation id."""
        return str(self["id"])

    @property
    def api(self) -> Api:
        """Which API the chat came by: `liveagent` or `miaw`."""
        return "miaw" if self["api"] == "miaw" else "liveagent"

    @property
    def state(self) -> str:
        """`new` (a session, no chat requested yet), `queued`, `established` or `ended`."""
        return str(self["state"])

    @property
    def live(self) -> bool:
        """False once the session (or conversation) is gone, not only the chat ended."""
        return bool(self["live"])

    @property
    def agent_name(self) -> str | None:
        return self.get("agentName")

    @property
    def visitor_name(self) -> str | None:
        return self.get("visitorName") or None

    @property
    def ended_by(self) -> str | None:
        """`visitor`, `agent`, `timeout`... once the chat ended."""
        return self.get("endedBy")

    @property
    def end_reason(self) -> str | None:
        return self.get("endReason")

    @property
    def events(self) -> list[dict[str, Any]]:
        """What happened, in order: `{"from", "type", "data", "at"}` each (the control API's `events`)."""
        events: list[dict[str, Any]] = self.get("events", [])
        return events

    @property
    def messages(self) -> list[ChatLine]:
        """The conversation: the visitor's messages and the agents', in the order the sandbox took them."""
        lines: list[ChatLine] = []
        for event in self.events:
            line = _chat_line(self.api, event)
            if line is not None:
                lines.append(line)
        return lines


def _chat_line(api: Api, event: dict[str, Any]) -> ChatLine | None:
    data = event.get("data")
    if not isinstance(data, dict):
        return None
    if api == "liveagent":
        if event.get("type") != "ChatMessage" or event.get("from") not in ("visitor", "pod"):
            return None
        sender: Literal["visitor", "agent"] = "visitor" if event["from"] == "visitor" else "agent"
        return ChatLine(sender, str(data.get("text", "")), int(event.get("at") or 0))
    if event.get("type") != "CONVERSATION_MESSAGE":
        return None
    content = (data.get("abstractMessage") or {}).get("staticContent") or {}
    if content.get("formatType") != "Text":
        return None
    sender = "visitor" if event.get("role") == "EndUser" else "agent"
    return ChatLine(sender, str(content.get("text", "")), int(event.get("at") or 0))


class InjectedFault:
    """A fault rule added with `Sandbox.fault(SPEC)`; `with sandbox.fault(...):` removes it on leaving."""

    def __init__(self, sandbox: Sandbox, rule: dict[str, Any]) -> None:
        self._sandbox = sandbox
        self.id: int = rule["id"]
        self.spec: str = rule["spec"]
        self.kind: str = rule["kind"]

    def _view(self) -> dict[str, Any] | None:
        return next((rule for rule in self._sandbox.faults() if rule["id"] == self.id), None)

    @property
    def active(self) -> bool:
        """Whether the rule is still in force (not removed, nor cleared by `clear_faults()` or the fixture)."""
        return self._view() is not None

    @property
    def seen(self) -> int:
        """How many requests the rule applied to so far (0 once removed)."""
        view = self._view()
        return int(view["seen"]) if view else 0

    @property
    def fired(self) -> int:
        """How many times it fired so far (0 once removed)."""
        view = self._view()
        return int(view["fired"]) if view else 0

    def remove(self) -> bool:
        """Take the rule out; False when it was gone already."""
        return self._sandbox.remove_fault(self.id)

    def __enter__(self) -> InjectedFault:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.remove()

    def __repr__(self) -> str:
        return f"InjectedFault(id={self.id}, spec={self.spec!r})"


ChatRef = str | ChatRecord | None  # a chat's id, a chat, or None: the only open chat


class Sandbox(runtime.Sandbox):
    """A sandbox serving the Live Agent Chat API and Enhanced Chat on one port, in a thread of this process.

    `Sandbox(agent="manual", accept_after=0)` takes the fields of `SandboxConfig` by name (or a
    `SandboxConfig`); `start()` returns once it listens and `stop()` once it is gone, or use it as a context
    manager. Port 0 (the default) picks a free port, so parallel test workers never clash.

    Agent actions name a chat by its id or by a `ChatRecord` (`chat=`); by default they act on the only open
    (queued or established) chat, whichever API it came by. A refused action raises `SandboxError`.
    """

    def __init__(self, config: runtime.SandboxConfig | None = None, /, **options: Unpack[SandboxOptions]) -> None:
        import dataclasses

        base = config if config is not None else runtime.SandboxConfig()
        super().__init__(dataclasses.replace(base, **options) if options else base)

    def start(self, timeout: float = 10.0) -> Sandbox:
        super().start(timeout)
        return self

    def __enter__(self) -> Sandbox:
        super().__enter__()
        return self

    # -- where clients go, and the ids they send -----------------------------------------------------------
    @property
    def deployment_id(self) -> str:
        """The deployment id Live Agent clients send in ChasitorInit (any is accepted; this one looks real)."""
        return DEPLOYMENT_ID

    @property
    def button_id(self) -> str:
        """The button id Live Agent clients send (any is accepted; this one looks real)."""
        return BUTTON_ID

    def url_for(self, api: Api) -> str:
        """The URL a client of `api` is configured with: the Chat API endpoint (`pod_url`, ending in
        /chat/rest/) for `liveagent`, the Messaging URL (`messaging_url`) for `miaw`."""
        if api == "liveagent":
            return self.pod_url
        if api == "miaw":
            return self.messaging_url
        raise ValueError(f"unknown API {api!r}; choose one of: {', '.join(APIS)}")

    # -- the chats it holds ------------------------------------------------------------------------------
    def chats(self) -> list[ChatRecord]:  # type: ignore[override]  # a dict subclass: the base's dicts
        """Every chat: Live Agent's, then Enhanced Chat's conversations; live ones, then ended ones, oldest
        first within each (as `GET /_sandbox/chats` lists them)."""
        return [ChatRecord(view) for view in super().chats()]

    def chat(self, chat: ChatRef = None) -> ChatRecord:
        """One chat by its id; by default the only chat the sandbox holds, open or ended (SandboxError when it
        holds none or several)."""
        if isinstance(chat, ChatRecord):
            chat = chat.id
        held = self.chats()
        if chat is None:
            if len(held) != 1:
                ids = ", ".join(c.id for c in held) or "none"
                raise SandboxError(
                    f"the sandbox holds {len(held)} chats ({ids}), not one",
                    problem="no-open-chat" if not held else "several-open-chats",
                    status=409,
                    hint="name the chat: chat=ID" if held else "no visitor has opened a chat yet",
                )
            return held[0]
        for found in held:
            if found.id == chat:
                return found
        raise SandboxError(
            f"no chat with id {chat}", problem="unknown-chat", status=404, hint=_PYTHON_HINTS["unknown-chat"]
        )

    def wait_for_chat(
        self, condition: Callable[[ChatRecord], bool] | None = None, *, timeout: float = 10.0
    ) -> ChatRecord:
        """The first chat for which `condition` holds (default: any chat), once there is one; TimeoutError
        after `timeout` seconds. For a visitor that the code under test starts on its own thread or process:

            sandbox.wait_for_chat(lambda chat: chat.state == "established")
        """
        deadline = time.monotonic() + timeout
        while True:
            held = self.chats()
            for found in held:
                if condition is None or condition(found):
                    return found
            if time.monotonic() >= deadline:
                states = ", ".join(f"{c.id} {c.state}" for c in held) or "no chat at all"
                raise TimeoutError(f"no chat met the condition within {timeout:g} s (held: {states})")
            time.sleep(0.02)

    # -- the agent ---------------------------------------------------------------------------------------
    def agent(self, action: str, *args: str | Iterable[str], chat: ChatRef = None, **fields: Any) -> ChatRecord:
        """Do what `liveagent sandbox agent ACTION ARGS...` does: `agent("say", "hello")`,
        `agent("menu", "Billing", "Tech")`, `agent("event", "type", "data")`, `agent("end", "resolved")`.

        `fields` are the control API's other fields (`header`, `menuType`). Returns the chat afterwards.
        """
        record, _ = self._act(action, _fields(action, args, fields), chat)
        return record

    def accept(self, chat: ChatRef = None) -> ChatRecord:
        """The agent takes the chat (the visitor gets ChatEstablished, or its Enhanced Chat equivalents)."""
        return self._act("accept", {}, chat)[0]

    def say(self, text: str, chat: ChatRef = None) -> ChatRecord:
        return self._act("say", {"text": text}, chat)[0]

    def typing(self, on: bool = True, chat: ChatRef = None) -> ChatRecord:
        """The agent starts (or, with `on=False`, stops) typing."""
        return self._act("typing" if on else "not-typing", {}, chat)[0]

    def transfer(self, name: str = TRANSFER_DEFAULT, chat: ChatRef = None) -> ChatRecord:
        """Another agent (`name`) takes the chat over."""
        return self._act("transfer", {"name": name}, chat)[0]

    def join(self, name: str, chat: ChatRef = None) -> ChatRecord:
        """A second agent joins the chat (a conference)."""
        return self._act("join", {"name": name}, chat)[0]

    def leave(self, name: str, chat: ChatRef = None) -> ChatRecord:
        return self._act("leave", {"name": name}, chat)[0]

    def menu(
        self, items: Iterable[str], chat: ChatRef = None, *, header: str | None = None, buttons: bool = False
    ) -> ChatRecord:
        """Offer a menu (or, with `buttons`, a row of buttons); the visitor answers by choosing one."""
        fields: dict[str, Any] = {"items": list(items), "menuType": "ChatWindowButton" if buttons else "ChatWindowMenu"}
        if header is not None:
            fields["header"] = header
        return self._act("menu", fields, chat)[0]

    def request_file(self, chat: ChatRef = None) -> str:
        """Ask the visitor for a file; returns what the upload must answer (Live Agent's file token, Enhanced
        Chat's asking message id)."""
        _, produced = self._act("request-file", {}, chat)
        return str(produced["fileToken"])

    def cancel_file(self, chat: ChatRef = None) -> ChatRecord:
        return self._act("cancel-file", {}, chat)[0]

    def event(self, type_: str, data: str = "", chat: ChatRef = None) -> ChatRecord:
        """A custom event from the agent's console to the visitor's page (Live Agent)."""
        return self._act("event", {"type": type_, "data": data}, chat)[0]

    def end(self, reason: str = "agent", chat: ChatRef = None) -> ChatRecord:
        """The agent ends the chat (Enhanced Chat: its messaging session ends; the conversation stays)."""
        return self._act("end", {"reason": reason}, chat)[0]

    def _act(self, action: str, fields: dict[str, Any], chat: ChatRef) -> tuple[ChatRecord, dict[str, Any]]:
        directories = self._started().directories
        chat_id = chat.id if isinstance(chat, ChatRecord) else (chat or ONLY)

        def act() -> tuple[ChatRecord, dict[str, Any]]:
            directory, found, produced = perform_agent_action(directories, chat_id, action, fields)
            return ChatRecord(directory.view(found)), produced

        try:
            return self._on_loop(act)
        except PodError as exc:
            raise _refusal(exc) from None

    # -- faults ------------------------------------------------------------------------------------------
    def fault(self, spec: str) -> InjectedFault:
        """Add a fault rule written as `--fault` takes it (`503:times=1`, `delay:ms=800,path=Messages`,
        `status:code=500,path=message`...); FaultSpecError (a ValueError) when malformed. The rule holds until
        removed (`.remove()`, leaving its `with` block, `clear_faults()`, or the pytest fixture's teardown)."""
        return InjectedFault(self, self.add_fault(spec))

    def remove_fault(self, fault_id: int) -> bool:
        """Take one rule out by its id; False when there was none."""
        faults = self._started().faults
        return self._on_loop(lambda: faults.remove(fault_id))

    def __repr__(self) -> str:
        where = self.url if self.running else "not running"
        return f"<Sandbox {where} agent={self.config.agent}>"


def _fields(action: str, args: tuple[str | Iterable[str], ...], given: dict[str, Any]) -> dict[str, Any]:
    """The control API fields of `agent(action, *args)`: positional arguments as `sandbox agent` reads words."""
    if action not in ACTIONS:
        raise SandboxError(f"unknown agent action {action!r}; choose one of: {', '.join(ACTIONS)}")
    shape = _POSITIONAL.get(action, ())
    words = [w for arg in args for w in ([arg] if isinstance(arg, str) else list(arg))]
    if words and not shape:
        raise SandboxError(f"`{action}` takes no arguments (got {words!r})")
    fields = dict(given)
    if not words:
        return fields
    first = shape[0]
    if first.endswith("*"):
        fields[first[:-1]] = " ".join(words)
    elif first.endswith(" list"):
        fields[first.removesuffix(" list")] = words
    else:
        if len(words) > len(shape):
            raise SandboxError(f"`{action}` takes at most {len(shape)} arguments ({', '.join(shape)}), not {words!r}")
        fields.update(zip(shape, words, strict=False))
    return fields
