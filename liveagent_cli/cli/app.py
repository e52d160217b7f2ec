"""The `liveagent` Typer app, built for the one command being run.

Typer turns every registered command into a Click command up front (about 16 ms for ours) and each command
module pulls in its own imports, so `run` looks at the command name first and builds an app holding only
that command (pip's `commands_dict` trick). `--help`, completion and unknown names get the whole app.

`run(argv, env)` is the whole program: the console script passes the real process's Environment, a test
passes one with its own variables and captured streams and gets the exit code back.
"""

from __future__ import annotations

import contextlib
import importlib
from typing import TYPE_CHECKING, Annotated, Any

import typer

from liveagent_cli import __version__
from liveagent_cli.cli.environment import Environment, current, using

if TYPE_CHECKING:
    from typer._click.exceptions import UsageError as ClickUsageError

# command name -> module under liveagent_cli.cli; groups (with subcommands) are added whole
COMMANDS: dict[str, str] = {
    "session": "visitor",
    "init": "visitor",
    "poll": "visitor",
    "send": "visitor",
    "end": "visitor",
    "chat": "visitor",
    "history": "visitor",
    "status": "status",
    "typing": "actions",
    "sneak-peek": "actions",
    "event": "actions",
    "choose": "actions",
    "breadcrumb": "actions",
    "upload": "actions",
    "reconnect": "actions",
    "availability": "actions",
    "visitor-settings": "actions",
    "smoke": "checks",
    "doctor": "checks",
    "config": "config",
    "sandbox": "sandbox",
}
GROUPS = frozenset({"config", "sandbox"})
HELP = (
    "Drive the visitor side of Salesforce's chat from the shell, one step per process: Enhanced Chat (Messaging "
    "for In-App and Web) and the legacy Live Agent (Chat) REST API, with a sandbox serving both built in."
)


def _version(value: bool) -> None:
    if value:
        current().stdout.write(f"liveagent {__version__}\n")
        raise typer.Exit()


def _main(
    version: Annotated[
        bool, typer.Option("--version", help="print the version and exit", callback=_version, is_eager=True)
    ] = False,
) -> None:
    """Drive the visitor side of Salesforce's Enhanced Chat or legacy Live Agent (Chat) API from the shell."""


def build_app(only: str | None = None) -> typer.Typer:
    """The app with every command, or with just `only` when it names one."""
    app = typer.Typer(
        name="liveagent",
        help=HELP,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    app.callback()(_main)
    names = [only] if only in COMMANDS else list(COMMANDS)
    for name in names:
        module = importlib.import_module(f"liveagent_cli.cli.{COMMANDS[name]}")
        if name in GROUPS:  # the whole first line in the command list: Click would cut it at 45 characters
            app.add_typer(module.app, name=name, short_help=str(module.app.info.help).strip().splitlines()[0])
        else:
            app.registered_commands.extend(c for c in module.app.registered_commands if c.name == name)
    return app


def _command_name(argv: list[str]) -> str | None:
    for arg in argv:
        if not arg.startswith("-"):
            return arg
        if arg in ("-h", "--help", "--version"):
            return None
    return None


def run(argv: list[str] | None = None, env: Environment | None = None) -> int:
    """Run one command line (default: the Environment's argv) and return its exit code."""
    env = env or Environment.from_process()
    args = env.argv if argv is None else argv
    # Click writes help, usage and completion scripts to sys.stdout/sys.stderr: point those at env's streams
    with using(env), contextlib.redirect_stdout(env.stdout), contextlib.redirect_stderr(env.stderr):
        return _run(args, env)


def _run(args: list[str], env: Environment) -> int:
    only = None
    if "_LIVEAGENT_COMPLETE" in env.environ:
        # shell completion (completions/ holds the scripts); Typer wires Click's completion only on request
        from typer._completion_classes import completion_init

        completion_init()
    else:
        only = _command_name(args)
    from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError

    try:
        result = build_app(only)(args=args, prog_name="liveagent", standalone_mode=False)
    except NoArgsIsHelpError as exc:
        exc.show()  # `liveagent` (or a group) alone: the help, as a usage error
        return 2
    except UsageError as exc:  # the contract's shape: one line naming the problem, then a hint
        message, hint = usage_words(exc, args)
        env.stderr.write(f"error: {message}\nhint: {hint}\n")
        return 2
    except ClickException as exc:
        env.stderr.write(f"error: {exc.format_message()}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        env.stderr.write("error: interrupted\n")
        return 130
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return result if isinstance(result, int) else 0


def usage_words(exc: ClickUsageError, args: list[str]) -> tuple[str, str]:
    """Click's usage error in plain words, and the hint: `--timeout: 'abc' is not a number of seconds`; text
    that starts with a dash is told to come after `--`."""
    import re
    import shlex

    from typer._click.exceptions import BadParameter, NoSuchOption

    ctx = exc.ctx
    named = _command_name(args)
    path = ctx.command_path.split(" ", 1)[1] if ctx and " " in ctx.command_path else ""
    path = path or (named if named in COMMANDS else "") or ""
    command = " ".join(["liveagent", *([path] if path else [])])
    hint = f"see `{command} --help`"
    if isinstance(exc, NoSuchOption):
        at = next((i for i, a in enumerate(args) if a.startswith(exc.option_name)), len(args))
        token = args[at] if at < len(args) else exc.option_name
        takes_text = ctx is not None and any(p.param_type_name == "argument" for p in ctx.command.params)
        if takes_text and (any(c.isspace() for c in token) or not re.match(r"^--?[A-Za-z]", token)):
            text = " ".join(args[at:]) or token
            return (
                f"{token!r} reads as an option",
                f"text that starts with a dash goes after --: `{command} -- {shlex.quote(text)}`",
            )
        near = f" (did you mean {' or '.join(sorted(exc.possibilities))}?)" if exc.possibilities else ""
        return f"unknown option {exc.option_name}{near}", hint
    if isinstance(exc, BadParameter) and exc.param is not None:
        number = _number_words(exc)
        if number:
            return number, hint
    return exc.format_message(), hint


def _number_words(exc: Any) -> str | None:
    """A number option given something else, or a number out of its range; None for any other bad value."""
    import re

    param, kind = exc.param, getattr(exc.param.type, "name", "")
    if kind not in ("float", "float range", "int", "int range"):
        return None
    name = max(param.opts, key=len) if param.opts else (param.metavar or param.name or "value")
    unit = "a number of seconds" if param.metavar == "SECONDS" else "a number"
    unit = "a whole number" if kind.startswith("int") and unit == "a number" else unit
    bad = re.match(r"^('.*') is not a valid", exc.message)
    if bad:
        return f"{name}: {bad.group(1)} is not {unit}"
    out = re.match(r"^(\S+) is not in the range", exc.message)
    low, high = getattr(param.type, "min", None), getattr(param.type, "max", None)
    if out and (low is not None or high is not None):
        if high is None:
            bound = f"{low:g} or more"
        elif low is None:
            bound = f"{high:g} or less"
        else:
            bound = f"from {low:g} to {high:g}"
        return f"{name} must be {bound}, not {out.group(1)}"
    return None
