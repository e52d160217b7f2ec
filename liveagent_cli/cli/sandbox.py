"""`liveagent sandbox`: run the built-in pod in the foreground, around one command (`exec`), or drive it
(`agent`, `fault`) through its control API."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any

import typer

from liveagent_cli.cli.common import guarded, make_output
from liveagent_cli.core.errors import ApiError, ConfigError, ExitCode, NetworkError, UsageError

if TYPE_CHECKING:
    from liveagent_cli.sandbox import ControlClient

app = typer.Typer(
    help="The built-in sandbox pod: a faithful local Live Agent pod for tests, CI and demos.",
    no_args_is_help=True,
)
fault_app = typer.Typer(help="Add, list and clear fault rules of a running sandbox.", no_args_is_help=True)
app.add_typer(fault_app, name="fault")

Host = Annotated[str, typer.Option("--host", help="address to bind; loopback unless --allow-remote")]
Port = Annotated[int, typer.Option("--port", help="port to bind (0 picks a free one)", min=0, max=65535)]
Agent = Annotated[str, typer.Option("--agent", help="echo, manual, busy or script:FILE (a TOML script)")]
AcceptAfter = Annotated[float, typer.Option("--accept-after", help="seconds before the echo agent accepts", min=0.0)]
PollHold = Annotated[float, typer.Option("--poll-hold", help="seconds an idle long poll is held before 204", min=0.0)]
ConnectionTimeout = Annotated[
    float,
    typer.Option("--connection-timeout", help="seconds without polls before a session expires", min=0.001),
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
Debug = Annotated[bool, typer.Option("--debug", help="traceback with errors")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="no notes on stderr")]
Verbose = Annotated[
    bool, typer.Option("--verbose", "-v", help="wire log on stderr (serve/exec: every exchange, keys redacted)")
]
PodOption = Annotated[
    str | None, typer.Option("--pod", help="the sandbox's pod URL [env LIVEAGENT_POD]", metavar="URL")
]
JsonOption = Annotated[bool, typer.Option("--json", help="print what the control API returns, as JSON")]


def _config(
    *,
    host: str,
    port: int,
    agent: str,
    accept_after: float,
    poll_hold: float,
    connection_timeout: float,
    faults: list[str] | None,
    log_file: str | None,
    allow_remote: bool,
    seed: int | None,
    public_url: str | None,
    debug: bool,
) -> Any:
    """The sandbox's configuration, checked: a bad --fault or --agent is a usage error, a bad script file or
    an unwritable --log a configuration error."""
    from liveagent_cli.sandbox import AGENT_NAMES, FaultSpecError, SandboxConfig, ScriptError, agent_spec, parse_fault

    if public_url is not None:
        try:
            SandboxConfig(public_url=public_url).validate()
        except ValueError as exc:
            raise UsageError(str(exc), hint="e.g. --public-url https://sandbox.example.com") from None
    if debug:  # a handler's failure is logged with its traceback
        logging.getLogger("liveagent_cli.sandbox").setLevel(logging.DEBUG)

    for spec in faults or []:
        try:
            parse_fault(spec)
        except FaultSpecError as exc:
            raise UsageError(str(exc), hint="e.g. --fault 503:every=4 or --fault drop:path=Messages,times=1") from None
    try:
        agent_spec(agent, accept_after=accept_after)
    except ScriptError as exc:
        raise ConfigError(str(exc), hint="see README, 'The sandbox pod', for the script format") from None
    except ValueError as exc:
        raise UsageError(str(exc), hint="choose " + ", ".join(AGENT_NAMES)) from None
    if log_file:
        try:
            with open(log_file, "a", encoding="utf-8"):
                pass
        except OSError as exc:
            raise ConfigError(f"cannot write the log file {log_file}: {exc.strerror or exc}") from None
    return SandboxConfig(
        host=host,
        port=port,
        agent=agent,
        accept_after=accept_after,
        poll_hold=poll_hold,
        connection_timeout=connection_timeout,
        faults=tuple(faults or ()),
        log_file=log_file,
        allow_remote=allow_remote,
        seed=seed,
        public_url=public_url,
    )


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
    quiet: Quiet = False,
    verbose: Verbose = False,
    debug: Debug = False,
) -> None:
    """Run the sandbox pod in the foreground until Ctrl-C; prints its Chat API endpoint on stdout when ready."""
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
            faults=fault,
            log_file=log or ("/dev/stderr" if verbose else None),
            allow_remote=allow_remote,
            seed=seed,
            public_url=public_url,
            debug=debug,
        )

        def ready(pod_url: str) -> None:
            out.text(pod_url)
            out.note(f"sandbox pod ready ({agent} agent); try: LIVEAGENT_POD={pod_url} liveagent session")
            out.note(f"control API: {pod_url.removesuffix('chat/rest/')}_sandbox/health; Ctrl-C stops it")

        try:
            serve_forever(config, ready)
        except ValueError as exc:
            raise ConfigError(str(exc), hint="pass --allow-remote to bind another address") from None
        except OSError as exc:
            raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}", hint="pick another --port") from None

    guarded(out, debug, body)


@app.command(
    "exec",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def exec_cmd(
    command: Annotated[list[str], typer.Argument(help="the command to run, after --", show_default=False)],
    agent: Agent = "echo",
    accept_after: AcceptAfter = 1.0,
    poll_hold: PollHold = 30.0,
    connection_timeout: ConnectionTimeout = 150.0,
    fault: Faults = None,
    log: LogFile = None,
    public_url: PublicUrl = None,
    seed: Seed = None,
    quiet: Quiet = False,
    verbose: Verbose = False,
    debug: Debug = False,
) -> None:
    """Start a sandbox on a free port, run COMMAND with LIVEAGENT_POD and the ids set, stop it, exit with its status.

    The pod is ready before COMMAND starts, and stopped whatever happens: COMMAND failing, Ctrl-C or SIGTERM
    (passed on to COMMAND; a second one kills it). Unless LIVEAGENT_STATE_DIR is set, COMMAND gets a fresh
    temporary state folder, so it never meets (or clobbers) the sessions you keep for real pods.
    """
    out = make_output(False, quiet, False)
    code: list[int] = [0]

    def body() -> None:
        from liveagent_cli.sandbox import BUTTON_ID, DEPLOYMENT_ID, ORG_ID, Sandbox

        if not command:
            raise UsageError("no command given", hint="liveagent sandbox exec -- ./my-script.sh")
        config = _config(
            host="127.0.0.1",
            port=0,
            agent=agent,
            accept_after=accept_after,
            poll_hold=poll_hold,
            connection_timeout=connection_timeout,
            faults=fault,
            log_file=log or ("/dev/stderr" if verbose else None),
            allow_remote=False,
            seed=seed,
            public_url=public_url,
            debug=debug,
        )
        tmp = None
        env = dict(os.environ)
        if not env.get("LIVEAGENT_STATE_DIR"):
            tmp = tempfile.mkdtemp(prefix="liveagent-sandbox-")
            env["LIVEAGENT_STATE_DIR"] = tmp
        sandbox = Sandbox(config)
        try:
            sandbox.start()
            env.update(
                {
                    "LIVEAGENT_POD": sandbox.pod_url,
                    "LIVEAGENT_SANDBOX_URL": sandbox.url,
                    "LIVEAGENT_ORG_ID": ORG_ID,
                    "LIVEAGENT_DEPLOYMENT_ID": DEPLOYMENT_ID,
                    "LIVEAGENT_BUTTON_ID": BUTTON_ID,
                }
            )
            env.pop("LIVEAGENT_PROFILE", None)
            out.note(f"sandbox pod at {sandbox.pod_url}")
            code[0] = _run_child(command, env)
        finally:
            sandbox.stop()
            if tmp:
                shutil.rmtree(tmp, ignore_errors=True)

    guarded(out, debug, body)
    raise typer.Exit(code[0])


def _run_child(command: list[str], env: dict[str, str]) -> int:
    """Run the child to completion. Ctrl-C and SIGTERM are passed on to it rather than killing us first, so
    the pod outlives the child and is stopped after it; a second signal kills a child that ignores the first."""
    try:
        child = subprocess.Popen(command, env=env)
    except FileNotFoundError:
        raise UsageError(f"command not found: {command[0]}") from None
    except PermissionError:
        raise UsageError(f"command not executable: {command[0]}") from None
    received: list[int] = []

    def forward(signum: int, _frame: Any) -> None:
        received.append(signum)
        if len(received) > 1:
            child.kill()
        else:
            child.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        status = child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if status < 0:  # killed by a signal: report it the shell's way
        return 128 - status if -status != signal.SIGINT else int(ExitCode.INTERRUPTED)
    return status


# action -> (the control API field its words fill, how many words: "1" one, "?" optional, "+" one or more)
AGENT_ACTIONS: dict[str, tuple[str, str] | None] = {
    "accept": None,
    "say": ("text", "+"),
    "typing": None,
    "not-typing": None,
    "transfer": ("name", "?"),
    "join": ("name", "+"),
    "leave": ("name", "+"),
    "menu": ("items", "+"),
    "event": ("type", "+"),
    "request-file": None,
    "cancel-file": None,
    "end": None,
}


def _agent_fields(action: str, words: list[str], reason: str) -> dict[str, Any]:
    """The control API body for `sandbox agent ACTION WORDS...`; UsageError when the words do not fit."""
    if action not in AGENT_ACTIONS:
        raise UsageError(f"unknown agent action {action!r}", hint="choose " + ", ".join(AGENT_ACTIONS))
    shape = AGENT_ACTIONS[action]
    if shape is None:
        if words:
            raise UsageError(f"`{action}` takes no arguments (got {' '.join(words)!r})")
        return {"reason": reason} if action == "end" else {}
    field, arity = shape
    if arity == "+" and not words:
        example = {"say": 'say "Hello"', "menu": 'menu "Billing" "Tech support"', "event": "event TYPE DATA"}
        hint = "liveagent sandbox agent " + example.get(action, f"{action} NAME")
        raise UsageError(f"`{action}` needs {field}", hint=hint)
    if action == "menu":
        return {"items": words}
    if action == "event":
        if len(words) > 2:
            raise UsageError("`event` takes TYPE and DATA (quote DATA if it has spaces)")
        return {"type": words[0], "data": words[1] if len(words) > 1 else ""}
    return {field: " ".join(words)} if words else {}


def _pod(pod: str | None) -> str:
    target = pod or os.environ.get("LIVEAGENT_POD")
    if not target:
        raise ConfigError("no sandbox pod is named", hint="pass --pod URL or set LIVEAGENT_POD")
    return target


@app.command("agent")
def agent_cmd(
    action: Annotated[str, typer.Argument(help=", ".join(AGENT_ACTIONS), metavar="ACTION")],
    words: Annotated[
        list[str] | None,
        typer.Argument(
            help="say TEXT, transfer [NAME], join|leave NAME, menu ITEM..., event TYPE DATA",
            metavar="[ARGS]...",
            show_default=False,
        ),
    ] = None,
    chat: Annotated[
        str | None, typer.Option("--chat", help="the chat's session id; default: the only open chat", metavar="ID")
    ] = None,
    reason: Annotated[str, typer.Option("--reason", help="ChatEnded reason for `end`", metavar="TEXT")] = "agent",
    pod: PodOption = None,
    json_: JsonOption = False,
    quiet: Quiet = False,
    verbose: Verbose = False,
    debug: Debug = False,
) -> None:
    """Drive the simulated agent of the sandbox that --pod / LIVEAGENT_POD names."""
    out = make_output(json_, quiet, False)

    def body() -> None:
        fields = _agent_fields(action, list(words or []), reason)
        with _control(pod, out, verbose) as control:
            result = control.agent_action(chat or "_only", action, fields)
        if out.json_mode:
            out.data(result)
            return
        chat_view = result.get("chat") or {}
        out.note(f"agent: {action} on chat {chat_view.get('id')} (now {chat_view.get('state')})")
        if "fileToken" in result:
            out.text(str(result["fileToken"]))

    guarded(out, debug, body)


@fault_app.command("add")
def fault_add_cmd(
    spec: Annotated[str, typer.Argument(help="KIND[:key=value,...], e.g. 503:every=4", metavar="SPEC")],
    pod: PodOption = None,
    json_: JsonOption = False,
    quiet: Quiet = False,
    verbose: Verbose = False,
    debug: Debug = False,
) -> None:
    """Add a fault rule to a running sandbox; prints its id."""
    out = make_output(json_, quiet, False)

    def body() -> None:
        from liveagent_cli.sandbox import FaultSpecError, parse_fault

        try:
            parse_fault(spec)
        except FaultSpecError as exc:
            raise UsageError(str(exc), hint="e.g. 503:every=4, drop:when=before,path=ChatMessage") from None
        with _control(pod, out, verbose) as control:
            rule = control.add_fault(spec)
        if out.json_mode:
            out.data(rule)
        else:
            out.text(str(rule.get("id")))
            out.note(f"fault {rule.get('id')}: {rule.get('spec')}")

    guarded(out, debug, body)


@fault_app.command("list")
def fault_list_cmd(
    pod: PodOption = None,
    json_: JsonOption = False,
    quiet: Quiet = False,
    verbose: Verbose = False,
    debug: Debug = False,
) -> None:
    """The fault rules in force: id, spec, how many requests each applied to and how often it fired."""
    out = make_output(json_, quiet, False)

    def body() -> None:
        with _control(pod, out, verbose) as control:
            rules = control.list_faults()
        if out.json_mode:
            out.data(rules)
            return
        for rule in rules:
            out.text(f"{rule.get('id')}\t{rule.get('spec')}\tseen={rule.get('seen')}\tfired={rule.get('fired')}")
        if not rules:
            out.note("no fault rules")

    guarded(out, debug, body)


@fault_app.command("clear")
def fault_clear_cmd(
    rule_id: Annotated[int | None, typer.Argument(help="one rule's id; default: all", metavar="[ID]")] = None,
    pod: PodOption = None,
    quiet: Quiet = False,
    verbose: Verbose = False,
    debug: Debug = False,
) -> None:
    """Remove one fault rule, or all of them."""
    out = make_output(False, quiet, False)

    def body() -> None:
        with _control(pod, out, verbose) as control:
            result = control.clear_faults(rule_id)
        out.note(f"removed {result.get('removed', 0)} fault rule(s)")

    guarded(out, debug, body)


@contextlib.contextmanager
def _control(pod: str | None, out: Any, verbose: bool) -> Iterator[ControlClient]:
    """The control API of the sandbox that --pod names, its refusals turned into the contract's exit codes.

    --verbose logs each call as one line on stderr (method, URL, status, time).
    """
    from liveagent_cli.sandbox import ControlClient, ControlError

    try:
        yield ControlClient(_pod(pod), on_exchange=out.wire if verbose else None)
    except ControlError as exc:
        if exc.reason == "unreachable":
            raise NetworkError(exc.message, hint="is `liveagent sandbox serve` running there?") from None
        if exc.reason == "refused" and exc.status == 409:
            raise UsageError(exc.message, hint="name the chat with --chat ID") from None
        if exc.reason == "refused":
            raise UsageError(exc.message) from None
        raise ApiError(exc.message, status=exc.status) from None
