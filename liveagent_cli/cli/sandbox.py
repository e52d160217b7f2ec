"""`liveagent sandbox`: run the built-in pod in the foreground, around one command (`exec`), or drive it
(`agent`, `fault`) through its control API."""

from __future__ import annotations

import functools
import inspect
import itertools
import logging
import os
import shutil
import signal
import subprocess
import tempfile
from collections import deque
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from liveagent_cli.cli.common import guarded, make_output
from liveagent_cli.cli.completion import agent_kinds
from liveagent_cli.cli.environment import current
from liveagent_cli.core.errors import ApiError, ConfigError, ExitCode, NetworkError, UsageError
from liveagent_cli.core.output import Output

if TYPE_CHECKING:
    from liveagent_cli.sandbox import ControlClient, ControlError, SandboxConfig

F = TypeVar("F", bound=Callable[..., Any])

app = typer.Typer(
    help="The built-in sandbox pod: a faithful local Live Agent pod for tests, CI and demos.",
    no_args_is_help=True,
)
fault_app = typer.Typer(help="Add, list and clear fault rules of a running sandbox.", no_args_is_help=True)
app.add_typer(fault_app, name="fault")

STRICT = "Where the reference is unsure (docs/sandbox.md, 'The strict profile')"

Host = Annotated[str, typer.Option("--host", help="address to bind; loopback unless --allow-remote", metavar="ADDRESS")]
Port = Annotated[int, typer.Option("--port", help="port to bind (0 picks a free one)", min=0, max=65535, metavar="N")]
Agent = Annotated[
    str,
    typer.Option(
        "--agent", help="echo, manual, busy or script:FILE (a TOML script)", metavar="AGENT", autocompletion=agent_kinds
    ),
]
AcceptAfter = Annotated[
    float,
    typer.Option("--accept-after", help="seconds before the echo agent accepts", min=0.0, metavar="SECONDS"),
]
PollHold = Annotated[
    float,
    typer.Option("--poll-hold", help="seconds an idle long poll is held before 204", min=0.0, metavar="SECONDS"),
]
ConnectionTimeout = Annotated[
    float,
    typer.Option(
        "--connection-timeout", help="seconds without polls before a session expires", min=0.001, metavar="SECONDS"
    ),
]
Faults = Annotated[
    list[str] | None,
    typer.Option("--fault", help="KIND[:key=value,...], repeatable; e.g. 503:every=4", metavar="SPEC"),
]
LogFile = Annotated[
    str | None, typer.Option("--log", help="append one JSON line per exchange (keys redacted)", metavar="FILE")
]
AllowRemote = Annotated[bool, typer.Option("--allow-remote", help="allow binding a non-loopback address")]
PublicUrl = Annotated[
    str | None,
    typer.Option(
        "--public-url",
        help="the sandbox's URL as clients reach it, behind a proxy (used in the URLs it hands out)",
        metavar="URL",
    ),
]
Seed = Annotated[int | None, typer.Option("--seed", help="reproducible ids, keys, tokens and p= faults", metavar="N")]
Strict = Annotated[
    bool, typer.Option("--strict", help="the least forgiving choice of each below", rich_help_panel=STRICT)
]
Redeliver = Annotated[
    bool | None,
    typer.Option(
        "--redeliver/--no-redeliver",
        help="re-send un-acked messages until acked [default: yes; --strict: no]",
        show_default=False,
        rich_help_panel=STRICT,
    ),
]
DuplicateGrace = Annotated[
    float | None,
    typer.Option(
        "--duplicate-grace",
        help="seconds to notice that a held poll's client left; 0: never [default: 0.05; --strict: 0]",
        min=0.0,
        max=10.0,
        metavar="SECONDS",
        rich_help_panel=STRICT,
    ),
]
BreadcrumbKey = Annotated[
    str | None,
    typer.Option(
        "--breadcrumb-key",
        help="a Breadcrumb's session key: record it on that chat, or ignore it [default: record; --strict: ignore]",
        metavar="record|ignore",
        rich_help_panel=STRICT,
    ),
]
MIAW = "Enhanced Chat (docs/sandbox.md, 'Enhanced Chat')"
TokenTtl = Annotated[
    float,
    typer.Option(
        "--token-ttl", help="seconds an access token lives", min=0.001, metavar="SECONDS", rich_help_panel=MIAW
    ),
]
SsePing = Annotated[
    float,
    typer.Option(
        "--sse-ping", help="seconds between two event:ping", min=0.001, metavar="SECONDS", rich_help_panel=MIAW
    ),
]
OrgId = Annotated[
    str | None,
    typer.Option(
        "--org-id", help="the only org id accepted [default: any well-formed one]", metavar="ID", rich_help_panel=MIAW
    ),
]
DeploymentName = Annotated[
    str | None,
    typer.Option(
        "--deployment-name",
        help="the only deployment (esDeveloperName) accepted [default: any well-formed one]",
        metavar="NAME",
        rich_help_panel=MIAW,
    ),
]
RateLimits = Annotated[
    bool,
    typer.Option(
        "--rate-limits/--no-rate-limits",
        help="the Help page's rate limits (429); off for load tests",
        rich_help_panel=MIAW,
    ),
]
EntryPayload = Annotated[
    str,
    typer.Option(
        "--entry-payload",
        help="entryPayload in the REST entries list: an object (as the sample app reads it) or a string "
        "(as on the stream)",
        metavar="object|string",
        rich_help_panel=MIAW,
    ),
]
PingData = Annotated[
    str,
    typer.Option(
        "--ping-data",
        help="the data of event:ping: 0 each time, or a counter",
        metavar="zero|counter",
        rich_help_panel=MIAW,
    ),
]
OrgId18 = Annotated[
    bool,
    typer.Option("--org-id-18", help="accept the 18-character org id in X-Org-Id too", rich_help_panel=MIAW),
]
Replay = Annotated[
    bool | None,
    typer.Option(
        "--replay/--no-replay",
        help="a stream gets what came after its Last-Event-Id [default: yes; --strict: no]",
        show_default=False,
        rich_help_panel=STRICT,
    ),
]
SecondStream = Annotated[
    str | None,
    typer.Option(
        "--second-stream",
        help="a second event stream of one end user: replace the first, or refuse it (409) "
        "[default: replace; --strict: refuse]",
        metavar="replace|refuse",
        rich_help_panel=STRICT,
    ),
]
Debug = Annotated[bool, typer.Option("--debug", help="traceback with errors")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="no notes on stderr")]
ServeVerbose = Annotated[
    bool, typer.Option("--verbose", "-v", help="every exchange on stderr, keys redacted (the --log lines)")
]


# ---- serve and exec --------------------------------------------------------------------------------


def _config(*, log_file: str | None, allow_remote: bool, **settings: Any) -> SandboxConfig:
    """The sandbox's configuration, checked: a bad --fault or --agent is a usage error; a bad script file,
    an unwritable --log or a refused address a configuration error."""
    from liveagent_cli.sandbox import AGENT_NAMES, FaultSpecError, SandboxConfig, ScriptError, agent_spec, parse_fault

    for spec in settings["faults"]:
        try:
            parse_fault(spec)
        except FaultSpecError as exc:
            raise UsageError(str(exc), hint="e.g. --fault 503:every=4 or --fault drop:path=Messages,times=1") from None
    try:
        agent_spec(settings["agent"], accept_after=settings["accept_after"])
    except ScriptError as exc:
        raise ConfigError(str(exc), hint="docs/sandbox.md, 'Scripted agents', has the script format") from None
    except ValueError as exc:
        names = ", ".join(AGENT_NAMES[:-1]) + " or " + AGENT_NAMES[-1]
        raise UsageError(str(exc), hint=f"--agent takes {names} (a TOML script of steps)") from None
    if log_file:
        try:
            with open(log_file, "a", encoding="utf-8"):
                pass
        except OSError as exc:
            raise ConfigError(f"cannot write the log file {log_file}: {exc.strerror or exc}") from None
    try:
        SandboxConfig(org_id=settings.get("org_id"), deployment_name=settings.get("deployment_name")).validate()
    except ValueError as exc:
        raise UsageError(str(exc), hint="e.g. --org-id 00D5g000000SBOX --deployment-name My_Custom_Client") from None
    if settings.get("public_url") is not None:
        try:
            SandboxConfig(public_url=settings["public_url"]).validate()
        except ValueError as exc:
            raise UsageError(str(exc), hint="e.g. --public-url https://sandbox.example.com") from None
    config = SandboxConfig(log_file=log_file, allow_remote=allow_remote, **settings)
    try:
        config.validate()
    except ValueError as exc:
        hint = "pass --allow-remote to bind it anyway" if "not a loopback address" in str(exc) else None
        raise ConfigError(str(exc), hint=hint) from None
    return config


def _sandbox_log_level(debug: bool) -> None:
    """With --debug, a failure in one of the sandbox's handlers is logged with its traceback."""
    if debug:
        logging.getLogger("liveagent_cli.sandbox").setLevel(logging.DEBUG)


def _profile(strict: bool, redeliver: bool | None, grace: float | None, breadcrumb_key: str | None) -> dict[str, Any]:
    if breadcrumb_key is not None and breadcrumb_key not in ("record", "ignore"):
        raise UsageError(f"--breadcrumb-key must be record or ignore, not {breadcrumb_key!r}")
    return {"strict": strict, "redeliver": redeliver, "duplicate_grace": grace, "breadcrumb_key": breadcrumb_key}


def _miaw(
    token_ttl: float,
    sse_ping: float,
    org_id: str | None,
    deployment_name: str | None,
    rate_limits: bool,
    replay: bool | None,
    second_stream: str | None,
    entry_payload: str = "object",
    ping_data: str = "zero",
    org_id_18: bool = False,
) -> dict[str, Any]:
    """Enhanced Chat's settings of `serve` and `exec`."""
    for option, value, choices in (
        ("--second-stream", second_stream, ("replace", "refuse")),
        ("--entry-payload", entry_payload, ("object", "string")),
        ("--ping-data", ping_data, ("zero", "counter")),
    ):
        if value is not None and value not in choices:
            raise UsageError(f"{option} must be {' or '.join(choices)}, not {value!r}")
    return {
        "entry_payload": entry_payload,
        "ping_data": ping_data,
        "org_id_18": org_id_18,
        "token_ttl": token_ttl,
        "sse_ping": sse_ping,
        "org_id": org_id,
        "deployment_name": deployment_name,
        "rate_limits": rate_limits,
        "replay": replay,
        "second_stream": second_stream,
    }


def _exports(pod_url: str) -> list[str]:
    """Lines a user can paste into a shell to point `liveagent` at this pod."""
    from liveagent_cli.sandbox import BUTTON_ID, DEPLOYMENT_ID, ORG_ID

    values = {
        "LIVEAGENT_POD": pod_url,
        "LIVEAGENT_ORG_ID": ORG_ID,
        "LIVEAGENT_DEPLOYMENT_ID": DEPLOYMENT_ID,
        "LIVEAGENT_BUTTON_ID": BUTTON_ID,
    }
    return [f"export {name}={value}" for name, value in values.items()]


def _miaw_exports(messaging_url: str, config: SandboxConfig) -> list[str]:
    """The same for Enhanced Chat: the sandbox's base URL is its Messaging URL."""
    from liveagent_cli.sandbox import DEPLOYMENT_NAME, ORG_ID

    values = {
        "LIVEAGENT_API": "miaw",
        "LIVEAGENT_POD": messaging_url,
        "LIVEAGENT_ORG_ID": config.org_id or ORG_ID,
        "LIVEAGENT_DEPLOYMENT_NAME": config.deployment_name or DEPLOYMENT_NAME,
    }
    return [f"export {name}={value}" for name, value in values.items()]


@app.command("serve")
def serve_cmd(
    host: Host = "127.0.0.1",
    port: Port = 8780,
    agent: Agent = "echo",
    accept_after: AcceptAfter = 1.0,
    poll_hold: PollHold = 30.0,
    connection_timeout: ConnectionTimeout = 150.0,
    fault: Faults = None,
    log: LogFile = None,
    allow_remote: AllowRemote = False,
    public_url: PublicUrl = None,
    seed: Seed = None,
    strict: Strict = False,
    redeliver: Redeliver = None,
    duplicate_grace: DuplicateGrace = None,
    breadcrumb_key: BreadcrumbKey = None,
    replay: Replay = None,
    second_stream: SecondStream = None,
    token_ttl: TokenTtl = 7200.0,
    sse_ping: SsePing = 15.0,
    org_id: OrgId = None,
    deployment_name: DeploymentName = None,
    rate_limits: RateLimits = True,
    entry_payload: EntryPayload = "object",
    ping_data: PingData = "zero",
    org_id_18: OrgId18 = False,
    quiet: Quiet = False,
    verbose: ServeVerbose = False,
    debug: Debug = False,
) -> None:
    """Run the sandbox pod in the foreground until Ctrl-C; prints its Chat API endpoint on stdout when ready.

    It serves Enhanced Chat on the same port: its Messaging URL is the address without /chat/rest/."""
    out = make_output(False, quiet, False)

    def body() -> None:
        from liveagent_cli.sandbox import serve_forever

        config = _config(
            host=host,
            port=port,
            agent=agent,
            accept_after=accept_after,
            poll_hold=poll_hold,
            connection_timeout=connection_timeout,
            faults=tuple(fault or ()),
            log_file=log or ("/dev/stderr" if verbose else None),
            allow_remote=allow_remote,
            seed=seed,
            public_url=public_url,
            **_profile(strict, redeliver, duplicate_grace, breadcrumb_key),
            **_miaw(
                token_ttl,
                sse_ping,
                org_id,
                deployment_name,
                rate_limits,
                replay,
                second_stream,
                entry_payload,
                ping_data,
                org_id_18,
            ),
        )
        _sandbox_log_level(debug)

        def ready(pod_url: str) -> None:
            out.text(pod_url)
            profile = ", strict" if strict else ""
            out.note(f"sandbox pod ready ({agent} agent{profile}); to point liveagent at it, paste:")
            for line in _exports(pod_url):
                out.note(f"  {line}")
            base = pod_url.removesuffix("/chat/rest/")
            settings = " ".join(line.removeprefix("export ") for line in _miaw_exports(base, config))
            out.note(f"Enhanced Chat on the same port, its Messaging URL {base}: {settings}")
            out.note(f"control API: {base}/_sandbox/health; Ctrl-C stops it")

        try:
            serve_forever(config, ready)
        except OSError as exc:
            reason = os.strerror(exc.errno).lower() if exc.errno else str(exc)
            raise ConfigError(f"cannot listen on {host}:{port}: {reason}", hint="pick another --port") from None

    guarded(out, debug, body)


@app.command(
    "exec",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def exec_cmd(
    command: Annotated[
        list[str], typer.Argument(help="the command to run, after --", show_default=False, metavar="CMD [ARGS]...")
    ],
    agent: Agent = "echo",
    accept_after: AcceptAfter = 1.0,
    poll_hold: PollHold = 30.0,
    connection_timeout: ConnectionTimeout = 150.0,
    fault: Faults = None,
    log: LogFile = None,
    public_url: PublicUrl = None,
    seed: Seed = None,
    strict: Strict = False,
    redeliver: Redeliver = None,
    duplicate_grace: DuplicateGrace = None,
    breadcrumb_key: BreadcrumbKey = None,
    replay: Replay = None,
    second_stream: SecondStream = None,
    api: Annotated[
        str,
        typer.Option(
            "--api",
            help="the API CMD is pointed at: liveagent (LIVEAGENT_POD is the Chat API endpoint) or miaw "
            "(LIVEAGENT_API=miaw, LIVEAGENT_POD the Messaging URL, LIVEAGENT_DEPLOYMENT_NAME)",
            metavar="liveagent|miaw",
        ),
    ] = "liveagent",
    token_ttl: TokenTtl = 7200.0,
    sse_ping: SsePing = 15.0,
    org_id: OrgId = None,
    deployment_name: DeploymentName = None,
    rate_limits: RateLimits = True,
    entry_payload: EntryPayload = "object",
    ping_data: PingData = "zero",
    org_id_18: OrgId18 = False,
    quiet: Quiet = False,
    verbose: ServeVerbose = False,
    debug: Debug = False,
) -> None:
    """Start a sandbox on a free port, run CMD with LIVEAGENT_POD and the ids set, stop it, exit with its status.

    The pod is ready before CMD starts, and stopped whatever happens: CMD failing, Ctrl-C or SIGTERM
    (passed on to CMD; a second one kills CMD's process group). Unless LIVEAGENT_STATE_DIR is set, CMD gets a
    fresh temporary state folder, so it never meets (or clobbers) the sessions you keep for real pods. Exit
    status: CMD's; 127 when CMD is not found, 126 when it cannot be run.
    """
    out = make_output(False, quiet, False)
    code: list[int] = [0]
    process = current()

    def body() -> None:
        from liveagent_cli.sandbox import Sandbox

        if not command:
            raise UsageError("no command given", hint="liveagent sandbox exec -- ./my-script.sh")
        if api not in ("liveagent", "miaw"):
            raise UsageError(f"--api must be liveagent or miaw, not {api!r}")
        config = _config(
            host="127.0.0.1",
            port=0,
            agent=agent,
            accept_after=accept_after,
            poll_hold=poll_hold,
            connection_timeout=connection_timeout,
            faults=tuple(fault or ()),
            log_file=log or ("/dev/stderr" if verbose else None),
            allow_remote=False,
            seed=seed,
            public_url=public_url,
            **_profile(strict, redeliver, duplicate_grace, breadcrumb_key),
            **_miaw(
                token_ttl,
                sse_ping,
                org_id,
                deployment_name,
                rate_limits,
                replay,
                second_stream,
                entry_payload,
                ping_data,
                org_id_18,
            ),
        )
        _sandbox_log_level(debug)
        tmp = None
        env = dict(process.environ)
        if not env.get("LIVEAGENT_STATE_DIR"):
            tmp = tempfile.mkdtemp(prefix="liveagent-sandbox-")
            env["LIVEAGENT_STATE_DIR"] = tmp
        sandbox = Sandbox(config)
        try:
            sandbox.start()
            if api == "miaw":
                exports = _miaw_exports(sandbox.messaging_url, config)
                env.pop("LIVEAGENT_DEPLOYMENT_ID", None)
                env.pop("LIVEAGENT_BUTTON_ID", None)
            else:
                exports = _exports(sandbox.pod_url)
                env.pop("LIVEAGENT_API", None)
                env.pop("LIVEAGENT_DEPLOYMENT_NAME", None)
            env.update(dict(line.removeprefix("export ").split("=", 1) for line in exports))
            env["LIVEAGENT_SANDBOX_URL"] = sandbox.url
            env.pop("LIVEAGENT_PROFILE", None)
            where = sandbox.messaging_url + " (Enhanced Chat)" if api == "miaw" else sandbox.pod_url
            out.note(f"sandbox pod at {where}")
            code[0] = _run_child(command, env, out, own_group=not process.stdin_isatty)
        finally:
            sandbox.stop()
            if tmp:
                shutil.rmtree(tmp, ignore_errors=True)

    guarded(out, debug, body)
    raise typer.Exit(code[0])


NOT_FOUND, NOT_EXECUTABLE = 127, 126  # as a shell, env, timeout and docker run report them


def _run_child(command: list[str], env: Mapping[str, str], out: Output, *, own_group: bool) -> int:
    """Run the child to completion and return its status, the shell's way (128+N when signal N killed it).

    Ctrl-C and SIGTERM are passed on to it rather than killing us first, so the pod outlives the child and
    is stopped after it; a second signal kills the child's whole process group, so nothing it started is
    left running. With stdin a terminal the child stays in the terminal's foreground group (it may read
    from it), and the second signal kills the child alone, as `timeout --foreground` does.

    The handlers are in place before the child starts: a signal sent once the child is running (it may be
    the child's own doing) must never find this process still on the default action, which would kill it
    and leave the child running. One that comes while the child is being started is passed on at once.
    """
    pending: deque[int] = deque()  # received, not yet passed on; popleft is atomic, so each is acted on once
    nth = itertools.count(1)
    started: list[subprocess.Popen[bytes]] = []

    def pass_on() -> None:
        while started:
            try:
                signum = pending.popleft()
            except IndexError:
                return
            child = started[0]
            if next(nth) == 1:
                out.note(f"passing {signal.Signals(signum).name} on to {command[0]}; a second one kills it")
                child.send_signal(signum)
            elif own_group:
                try:
                    os.killpg(child.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            else:
                child.kill()

    def forward(signum: int, _frame: Any) -> None:
        pending.append(signum)
        pass_on()

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            started.append(subprocess.Popen(command, env=dict(env), process_group=0 if own_group else None))
        except FileNotFoundError:
            out.error(f"command not found: {command[0]}")
            return NOT_FOUND
        except PermissionError:
            out.error(f"command not executable: {command[0]}", hint="check its permissions (chmod +x)")
            return NOT_EXECUTABLE
        except OSError as exc:
            out.error(f"cannot run {command[0]}: {exc.strerror or exc}")
            return NOT_EXECUTABLE
        pass_on()  # what came while it was being started
        status = started[0].wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if status < 0:  # killed by a signal: report it the shell's way
        return 128 - status if -status != signal.SIGINT else int(ExitCode.INTERRUPTED)
    return status


# ---- agent and fault: the control API of a running sandbox ------------------------------------------

PodOption = Annotated[
    str | None, typer.Option("--pod", help="the sandbox's pod URL [env LIVEAGENT_POD]", metavar="URL")
]
JsonOption = Annotated[bool, typer.Option("--json", help="print what the control API returns, as JSON")]
ControlVerbose = Annotated[
    bool, typer.Option("--verbose", "-v", help="each control API call on stderr (method, URL, status, time)")
]
_CONTROL_OPTIONS = {
    "pod": (str | None, PodOption, None),
    "json_": (bool, JsonOption, False),
    "quiet": (bool, Quiet, False),
    "verbose": (bool, ControlVerbose, False),
    "debug": (bool, Debug, False),
}

# A refusal's `problem` (the control API's PROBLEM_HINTS) -> what to do next, in this command line's words.
PROBLEM_HINTS = {
    "not-requested": "the visitor has not asked for a chat yet: liveagent init",
    "not-accepted": "accept it first: liveagent sandbox agent accept",
    "already-accepted": "an agent has already accepted it; talk with: liveagent sandbox agent say TEXT",
    "chat-ended": "the chat has ended; a visitor starts a new one with: liveagent session && liveagent init",
    "not-in-conference": "only an agent who joined can leave: liveagent sandbox agent join NAME",
    "no-file-request": "request one first: liveagent sandbox agent request-file",
    "no-open-chat": "no visitor has asked for a chat: liveagent session, then liveagent init",
    "several-open-chats": "name the chat with --chat ID",
    "unknown-chat": "`liveagent status` shows your chat's id; without --chat the only open chat is used",
}


def _pod(pod: str | None) -> str:
    target = pod or current().environ.get("LIVEAGENT_POD")
    if not target:
        raise ConfigError("no sandbox pod is named", hint="pass --pod URL or set LIVEAGENT_POD")
    return target


def _control_error(exc: ControlError) -> Exception:
    """A failed control API call as the contract's error: what to do next fits what went wrong."""
    if exc.reason == "unreachable":
        return NetworkError(exc.message, hint="is `liveagent sandbox serve` running there?")
    if exc.reason == "not-sandbox":
        return ApiError(exc.message, hint="--pod names the pod `liveagent sandbox serve` printed", status=exc.status)
    if exc.reason == "refused":
        return UsageError(exc.message, hint=PROBLEM_HINTS.get(exc.problem or ""))
    return ApiError(exc.message, status=exc.status)


def control_command(typer_app: typer.Typer, name: str, *, json_output: bool = True) -> Callable[[F], F]:
    """Register `func(connect, out, **own)` as command `name` of a running sandbox's control API.

    It adds --pod (--json), --quiet, --verbose and --debug, and the error handling: `connect()` gives the
    ControlClient of the sandbox --pod names (so the command checks its own arguments first), and a refused
    or failed call becomes one error line with a hint that fits, under the contract's exit codes.
    """

    def decorate(func: F) -> F:
        own = list(inspect.signature(func, eval_str=True).parameters.values())[2:]
        shared = [
            inspect.Parameter(option, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)
            for option, (_, annotation, default) in _CONTROL_OPTIONS.items()
            if json_output or option != "json_"
        ]

        @functools.wraps(func)
        def wrapper(**values: Any) -> None:
            pod, debug, verbose = values.pop("pod"), values.pop("debug"), values.pop("verbose")
            out = make_output(values.pop("json_", False), values.pop("quiet"), False)

            def connect() -> ControlClient:
                from liveagent_cli.sandbox import ControlClient

                return ControlClient(_pod(pod), on_exchange=out.wire if verbose else None)

            def body() -> None:
                from liveagent_cli.sandbox import ControlError

                try:
                    func(connect, out, **values)
                except ControlError as exc:
                    raise _control_error(exc) from None

            guarded(out, debug, body)

        wrapper.__signature__ = inspect.Signature(own + shared)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in own + shared}  # Typer reads these too
        typer_app.command(name, short_help=(func.__doc__ or "").strip().splitlines()[0])(wrapper)
        return func

    return decorate


Connect = Callable[[], "ControlClient"]

# action -> (the control API field its words fill, how many words: "1" one, "?" optional, "+" one or more,
# "2" one and an optional second), and what the words are, for errors
AGENT_ACTIONS: dict[str, tuple[str, str, str] | None] = {
    "accept": None,
    "say": ("text", "+", "the text to say"),
    "typing": None,
    "not-typing": None,
    "transfer": ("name", "?", "the new agent's name"),
    "join": ("name", "+", "the agent's name"),
    "leave": ("name", "+", "the agent's name"),
    "menu": ("items", "+", "at least one item"),
    "event": ("type", "2", "the event's TYPE"),
    "request-file": None,
    "cancel-file": None,
    "end": None,
}
AGENT_USAGE = {
    "say": "say TEXT...",
    "transfer": "transfer [NAME]",
    "join": "join NAME",
    "leave": "leave NAME",
    "menu": "menu ITEM...",
    "event": "event TYPE [DATA]",
}


def _utf8(value: str, what: str) -> str:
    """Arguments that are not UTF-8 arrive as lone surrogates: a usage error naming the argument."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(f"{what} is not valid UTF-8", hint="pass UTF-8 text") from None
    return value


def _agent_fields(action: str, words: list[str], reason: str) -> dict[str, Any]:
    """The control API body for `sandbox agent ACTION WORDS...`; UsageError when the words do not fit."""
    if action not in AGENT_ACTIONS:
        raise UsageError(f"unknown agent action {action!r}", hint="choose " + ", ".join(AGENT_ACTIONS))
    shape = AGENT_ACTIONS[action]
    if shape is None:
        if words:
            raise UsageError(f"`{action}` takes no arguments (got {' '.join(words)!r})")
        if action != "end":
            return {}
        if not _utf8(reason, "--reason"):
            raise UsageError("--reason must not be empty", hint="e.g. liveagent sandbox agent end --reason resolved")
        return {"reason": reason}
    field, arity, what = shape
    usage = "liveagent sandbox agent " + AGENT_USAGE[action]
    if arity in ("+", "2") and not words:
        raise UsageError(f"`{action}` needs {what}", hint=usage)
    if action == "event":
        if len(words) > 2:
            raise UsageError("`event` takes TYPE and an optional DATA (quote DATA if it has spaces)", hint=usage)
        return {"type": _utf8(words[0], "TYPE"), "data": _utf8(words[1], "DATA") if len(words) > 1 else ""}
    label = {"say": "text", "menu": "a menu item"}.get(action, "the name")
    checked = [_utf8(word, label) for word in words]
    if action == "menu":
        return {"items": checked}
    return {field: " ".join(checked)} if checked else {}


@control_command(app, "agent")
def agent_cmd(
    connect: Connect,
    out: Output,
    action: Annotated[
        str,
        typer.Argument(
            help=", ".join(AGENT_ACTIONS),
            metavar="ACTION",
            autocompletion=lambda incomplete: [a for a in AGENT_ACTIONS if a.startswith(incomplete)],
        ),
    ],
    words: Annotated[
        list[str] | None,
        typer.Argument(
            help=", ".join(AGENT_USAGE.values()),
            metavar="[ARGS]...",
            show_default=False,
        ),
    ] = None,
    chat: Annotated[
        str | None,
        typer.Option(
            "--chat",
            help="the chat's session id (or Enhanced Chat conversation id); default: the only open chat",
            metavar="ID",
        ),
    ] = None,
    reason: Annotated[
        str,
        typer.Option("--reason", help="ChatEnded reason for `end` (Enhanced Chat: the session ends)", metavar="TEXT"),
    ] = "agent",
) -> None:
    """Drive the simulated agent of the sandbox that --pod / LIVEAGENT_POD names."""
    fields = _agent_fields(action, list(words or []), reason)
    result = connect().agent_action(_utf8(chat, "--chat") if chat else "_only", action, fields)
    if out.json_mode:
        out.data(result)
        return
    chat_view = result.get("chat") or {}
    out.note(f"agent: {action} on chat {chat_view.get('id')} (now {chat_view.get('state')})")
    if "fileToken" in result:
        out.text(str(result["fileToken"]))


@control_command(fault_app, "add")
def fault_add_cmd(
    connect: Connect,
    out: Output,
    spec: Annotated[str, typer.Argument(help="KIND[:key=value,...], e.g. 503:every=4", metavar="SPEC")],
) -> None:
    """Add a fault rule to a running sandbox; prints its id."""
    from liveagent_cli.sandbox import FaultSpecError, parse_fault

    try:
        parse_fault(_utf8(spec, "SPEC"))
    except FaultSpecError as exc:
        raise UsageError(str(exc), hint="e.g. 503:every=4, drop:when=before,path=ChatMessage") from None
    rule = connect().add_fault(spec)
    if out.json_mode:
        out.data(rule)
    else:
        out.text(str(rule.get("id")))
        out.note(f"fault {rule.get('id')}: {rule.get('spec')}")


@control_command(fault_app, "list")
def fault_list_cmd(connect: Connect, out: Output) -> None:
    """The fault rules in force: id, spec, how many requests each applied to and how often it fired."""
    rules = connect().list_faults()
    if out.json_mode:
        out.data(rules)
        return
    for rule in rules:
        out.text(f"{rule.get('id')}\t{rule.get('spec')}\tseen={rule.get('seen')}\tfired={rule.get('fired')}")
    if not rules:
        out.note("no fault rules")


@control_command(fault_app, "clear", json_output=False)
def fault_clear_cmd(
    connect: Connect,
    out: Output,
    rule_id: Annotated[int | None, typer.Argument(help="one rule's id; default: all", metavar="[ID]")] = None,
) -> None:
    """Remove one fault rule, or all of them."""
    result = connect().clear_faults(rule_id)
    out.note(f"removed {result.get('removed', 0)} fault rule(s)")
