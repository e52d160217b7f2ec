"""`liveagent sandbox`: run the built-in pod in the foreground, or around one command (`exec`)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from typing import Annotated, Any

import typer

from liveagent_cli.cli.common import guarded, make_output
from liveagent_cli.core.errors import ConfigError, ExitCode, UsageError

app = typer.Typer(
    help="The built-in sandbox pod: a faithful local Live Agent pod for tests, CI and demos.",
    no_args_is_help=True,
)

Host = Annotated[str, typer.Option("--host", help="address to bind; loopback unless --allow-remote")]
Port = Annotated[int, typer.Option("--port", help="port to bind (0 picks a free one)", min=0, max=65535)]
Agent = Annotated[str, typer.Option("--agent", help="echo, manual, busy")]
AcceptAfter = Annotated[float, typer.Option("--accept-after", help="seconds before the echo agent accepts", min=0.0)]
PollHold = Annotated[float, typer.Option("--poll-hold", help="seconds an idle long poll is held before 204", min=0.0)]
AllowRemote = Annotated[bool, typer.Option("--allow-remote", help="allow binding a non-loopback address")]
Seed = Annotated[int | None, typer.Option("--seed", help="make ids, keys and tokens reproducible", metavar="N")]
Debug = Annotated[bool, typer.Option("--debug", help="traceback with errors")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="no notes on stderr")]


def _config(
    host: str, port: int, agent: str, accept_after: float, poll_hold: float, allow_remote: bool, seed: int | None
) -> Any:
    from liveagent_cli.sandbox import SandboxConfig

    if agent not in ("echo", "manual", "busy"):
        raise UsageError(f"unknown agent {agent!r}", hint="choose echo, manual or busy")
    return SandboxConfig(
        host=host,
        port=port,
        agent=agent,
        accept_after=accept_after,
        poll_hold=poll_hold,
        allow_remote=allow_remote,
        seed=seed,
    )


@app.command("serve")
def serve_cmd(
    host: Host = "127.0.0.1",
    port: Port = 8780,
    agent: Agent = "echo",
    accept_after: AcceptAfter = 1.0,
    poll_hold: PollHold = 30.0,
    allow_remote: AllowRemote = False,
    seed: Seed = None,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Run the sandbox pod in the foreground until Ctrl-C; prints its Chat API endpoint on stdout."""
    out = make_output(False, quiet, False)

    def body() -> None:
        from liveagent_cli.sandbox import serve_forever

        config = _config(host, port, agent, accept_after, poll_hold, allow_remote, seed)

        def ready(pod_url: str) -> None:
            out.text(pod_url)
            out.note(f"sandbox pod ready ({agent} agent); try: LIVEAGENT_POD={pod_url} liveagent session")
            out.note("Ctrl-C stops it")

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
    seed: Seed = None,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Start a sandbox on a free port, run COMMAND with LIVEAGENT_POD and the ids set, stop it, exit with its status.

    Unless LIVEAGENT_STATE_DIR is set, COMMAND gets a fresh temporary state folder, so it never meets
    (or clobbers) the sessions you keep for real pods.
    """
    out = make_output(False, quiet, False)
    code: list[int] = [0]

    def body() -> None:
        from liveagent_cli.sandbox import BUTTON_ID, DEPLOYMENT_ID, ORG_ID, Sandbox

        if not command:
            raise UsageError("no command given", hint="liveagent sandbox exec -- ./my-script.sh")
        config = _config("127.0.0.1", 0, agent, accept_after, poll_hold, False, seed)
        tmp = None
        env = dict(os.environ)
        if not env.get("LIVEAGENT_STATE_DIR"):
            tmp = tempfile.mkdtemp(prefix="liveagent-sandbox-")
            env["LIVEAGENT_STATE_DIR"] = tmp
        sandbox = Sandbox(config)
        sandbox.start()
        try:
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
    """Run the child to completion; Ctrl-C and SIGTERM are passed on to it rather than killing us first."""
    try:
        child = subprocess.Popen(command, env=env)
    except FileNotFoundError:
        raise UsageError(f"command not found: {command[0]}") from None
    except PermissionError:
        raise UsageError(f"command not executable: {command[0]}") from None

    def forward(signum: int, _frame: Any) -> None:
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


AGENT_ACTIONS = ("accept", "say", "typing", "not-typing", "end")


@app.command("agent")
def agent_cmd(
    action: Annotated[str, typer.Argument(help="accept, say, typing, not-typing, end", metavar="ACTION")],
    text: Annotated[str | None, typer.Argument(help="what `say` says", metavar="[TEXT]", show_default=False)] = None,
    chat: Annotated[
        str | None, typer.Option("--chat", help="the chat's session id; default: the only open chat", metavar="ID")
    ] = None,
    reason: Annotated[str, typer.Option("--reason", help="ChatEnded reason for `end`", metavar="TEXT")] = "agent",
    pod: Annotated[
        str | None, typer.Option("--pod", help="the sandbox's pod URL [env LIVEAGENT_POD]", metavar="URL")
    ] = None,
    json_: Annotated[bool, typer.Option("--json", help="print the chat as the control API returns it")] = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Drive the simulated agent of the sandbox that --pod / LIVEAGENT_POD names."""
    out = make_output(json_, quiet, False)

    def body() -> None:
        from liveagent_cli.core.control import agent_action

        if action not in AGENT_ACTIONS:
            raise UsageError(f"unknown agent action {action!r}", hint="choose " + ", ".join(AGENT_ACTIONS))
        if action == "say" and not text:
            raise UsageError("`say` needs the text to say", hint='liveagent sandbox agent say "Hello"')
        target = pod or os.environ.get("LIVEAGENT_POD")
        if not target:
            raise ConfigError("no sandbox pod is named", hint="pass --pod URL or set LIVEAGENT_POD")
        result = agent_action(target, chat or "_only", action, text=text, reason=reason)
        if out.json_mode:
            out.data(result)
        else:
            chat_view = result.get("chat") or {}
            out.note(f"agent: {action} on chat {chat_view.get('id')} (now {chat_view.get('state')})")

    guarded(out, debug, body)
