"""Options every visitor command accepts, and the one place errors become messages and exit codes.

`visitor_command` appends the shared options to a command's own signature (Typer reads `__signature__`),
so each command is written as `def cmd(ctx: Context, text: str)` and still takes `--pod`, `--json`, ...
after its name, as the contract promises. The Context and the Output are built from the command's
Environment (cli/environment.py), never from the process's own variables and streams.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import signal
import threading
import traceback
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer

from liveagent_cli.cli import completion
from liveagent_cli.cli.environment import Environment, current
from liveagent_cli.core.errors import ExitCode, LiveAgentError, UsageError
from liveagent_cli.core.output import Output, printable
from liveagent_cli.core.redact import Redactor

if TYPE_CHECKING:
    from liveagent_cli.flows.context import Context
    from liveagent_cli.flows.verbs import Done

F = TypeVar("F", bound=Callable[..., Any])

CONN = "Connection (flag > environment > profile > default)"
OUT = "Output"


def _opt(
    *decls: str,
    help: str,
    panel: str = CONN,
    metavar: str | None = None,
    complete: Callable[[str], list[str]] | None = None,
) -> Any:
    return typer.Option(
        *decls, help=help, rich_help_panel=panel, show_default=False, metavar=metavar, autocompletion=complete
    )


_COMMON: list[tuple[str, Any, Any]] = [
    ("pod", str | None, _opt("--pod", help="Chat API endpoint [env LIVEAGENT_POD]", metavar="URL")),
    ("org_id", str | None, _opt("--org-id", help="organization id, 00D… [env LIVEAGENT_ORG_ID]", metavar="ID")),
    (
        "deployment_id",
        str | None,
        _opt("--deployment-id", help="deployment id, 572… [env LIVEAGENT_DEPLOYMENT_ID]", metavar="ID"),
    ),
    ("button_id", str | None, _opt("--button-id", help="button id, 573… [env LIVEAGENT_BUTTON_ID]", metavar="ID")),
    (
        "api_version",
        str | None,
        _opt("--api-version", help="X-LIVEAGENT-API-VERSION [env LIVEAGENT_API_VERSION]", metavar="N"),
    ),
    (
        "api",
        str | None,
        _opt(
            "--api",
            help="liveagent or miaw (Enhanced Chat); default from the pod's host [env LIVEAGENT_API]",
            metavar="API",
        ),
    ),
    (
        "deployment_name",
        str | None,
        _opt(
            "--deployment-name",
            help="Enhanced Chat deployment's API name [env LIVEAGENT_DEPLOYMENT_NAME]",
            metavar="NAME",
        ),
    ),
    (
        "identity_token",
        str | None,
        _opt(
            "--identity-token",
            help="Enhanced Chat: a verified user's identity JWT file, - for stdin [env LIVEAGENT_IDENTITY_TOKEN]",
            metavar="FILE",
        ),
    ),
    (
        "profile",
        str | None,
        _opt(
            "--profile",
            help="[profiles.NAME] of the config file [env LIVEAGENT_PROFILE]",
            metavar="NAME",
            complete=completion.profile_names,
        ),
    ),
    (
        "session",
        str | None,
        _opt(
            "--session",
            help="named state slot, default 'default' [env LIVEAGENT_SESSION]",
            metavar="NAME",
            complete=completion.session_names,
        ),
    ),
    ("insecure", bool, _opt("--insecure", help="allow plain http to a non-loopback pod")),
    ("json_", bool, _opt("--json", help="machine output on stdout", panel=OUT)),
    ("quiet", bool, _opt("--quiet", "-q", help="no notes or progress on stderr", panel=OUT)),
    ("verbose", bool, _opt("--verbose", "-v", help="wire log on stderr, secrets redacted", panel=OUT)),
    ("debug", bool, _opt("--debug", help="traceback with errors (secrets still redacted)", panel=OUT)),
    ("show_secrets", bool, _opt("--show-secrets", help="let session/status print the session key", panel=OUT)),
]
COMMON_NAMES = [name for name, _, _ in _COMMON]
_PARAMS = [
    inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, default=False if kind is bool else None, annotation=Annotated[kind, info]
    )
    for name, kind, info in _COMMON
]


def make_output(json_mode: bool, quiet: bool, show_secrets: bool, env: Environment | None = None) -> Output:
    """The Output on the Environment's streams (the running command's, unless given)."""
    env = env or current()
    redactor = Redactor()
    redactor.enabled = not show_secrets
    return Output(
        json_mode=json_mode,
        quiet=quiet,
        redactor=redactor,
        stdout=env.stdout,
        stderr=env.stderr,
        environ=env.environ,
        stdout_isatty=env.stdout_isatty,
        stderr_isatty=env.stderr_isatty,
    )


SETTING_FLAGS = (
    "pod",
    "org_id",
    "deployment_id",
    "button_id",
    "api_version",
    "api",
    "deployment_name",
    "identity_token",
)


def build_context(common: dict[str, Any], out: Output, env: Environment) -> Context:
    """The flows' Context from the parsed shared options and the command's environment variables."""
    from liveagent_cli.core.settings import resolve
    from liveagent_cli.core.state import StateStore, state_dir
    from liveagent_cli.flows.context import Context

    flags = {name: common[name] for name in SETTING_FLAGS}
    if common.get("insecure"):
        flags["insecure"] = True
    settings = resolve(flags, common.get("profile"), env.environ)
    # `--session ""` is a name given (and refused as one); an empty LIVEAGENT_SESSION counts as unset
    given = common.get("session")
    named = given if given is not None else (env.environ.get("LIVEAGENT_SESSION") or None)
    store = StateStore(state_dir(env.environ), "default" if named is None else named, warn=out.warn)
    return Context(
        settings=settings,
        store=store,
        out=out,
        verbose=bool(common.get("verbose")),
        session_named=named is not None,
        environ=env.environ,
    )


class AlreadyShown(Exception):
    """A failure the human output already states (a ✗ row, the pod's own message): exit with its code and print
    only its hint, so the failure is said once."""

    def __init__(self, error: LiveAgentError) -> None:
        super().__init__(error.message)
        self.error = error


def shown(out: Output, error: LiveAgentError) -> Exception:
    """What to raise for `error` once the output has stated it: under --json stdout is for programs, so the
    error line still goes to stderr."""
    return error if out.json_mode else AlreadyShown(error)


class Terminated(BaseException):
    """SIGTERM or SIGHUP, raised in the main thread so the command unwinds as for Ctrl-C (a chat is ended on the
    pod and forgotten, locks are released); a BaseException, so no `except Exception` swallows it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextlib.contextmanager
def ending_like_ctrl_c() -> Iterator[None]:
    """While a command runs, SIGTERM (CI cancel, `timeout`, `docker stop`) and SIGHUP (the terminal closed) raise
    `Terminated`; a second one of the same kind ends the process at once. Only the main thread can take signals,
    so a command run on another thread (the in-process tests) keeps the defaults."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        signal.signal(signum, signal.SIG_DFL)
        raise Terminated(signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, before in previous.items():
            signal.signal(sig, before)


def debug_wanted(flag: bool, env: Environment | None = None) -> bool:
    """--debug, or LIVEAGENT_DEBUG set to anything but empty, 0, false, no or off (for CI logs)."""
    value = (env or current()).environ.get("LIVEAGENT_DEBUG", "")
    return flag or value.strip().lower() not in ("", "0", "false", "no", "off")


def fail(out: Output, exc: BaseException, debug: bool) -> NoReturn:
    """Print one error line (+ hint) and exit with the contract's code; traceback only with --debug."""
    if isinstance(exc, BrokenPipeError):
        # the reader went away (e.g. `| head -1`): stop quietly, as a Unix tool killed by SIGPIPE would
        with contextlib.suppress(OSError, ValueError):  # a captured stream has no descriptor to silence
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, out.stdout.fileno())
        raise typer.Exit(int(ExitCode.BROKEN_PIPE))
    if debug:
        text = "".join(traceback.format_exception(exc))
        out.stderr.write(printable(out.redactor.text(text)))
    if isinstance(exc, AlreadyShown):
        if exc.error.hint:
            out.hint(exc.error.hint)
        raise typer.Exit(int(exc.error.code))
    if isinstance(exc, LiveAgentError):
        out.error(exc.message, exc.hint)
        raise typer.Exit(int(exc.code))
    if isinstance(exc, KeyboardInterrupt):
        out.error("interrupted")
        raise typer.Exit(int(ExitCode.INTERRUPTED))
    if isinstance(exc, Terminated):
        out.error(f"stopped by {exc}")
        raise typer.Exit(int(ExitCode.HANGUP if exc.signum == signal.SIGHUP else ExitCode.TERMINATED))
    out.error(f"unexpected {type(exc).__name__}: {exc}", hint="rerun with --debug and report the traceback")
    raise typer.Exit(int(ExitCode.INTERNAL))


def check_utf8(values: dict[str, Any]) -> None:
    """Arguments that are not valid UTF-8 (undecodable bytes arrive as lone surrogates) are usage errors."""
    for name, value in values.items():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str):
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    what = name.rstrip("_").replace("_", "-")
                    raise UsageError(f"the {what} given is not valid UTF-8", hint="pass UTF-8 text") from None


def guarded(out: Output, debug: bool, body: Callable[[], None]) -> None:
    try:
        body()
    except typer.Exit:
        raise
    except (Exception, KeyboardInterrupt, Terminated) as exc:  # every failure ends as one line and a code
        fail(out, exc, debug_wanted(debug))


def visitor_command(app: typer.Typer, name: str, **kwargs: Any) -> Callable[[F], F]:
    """Register `func(ctx, **own)` as command `name`, adding the shared options and the error handling."""

    def decorate(func: F) -> F:
        own = [p for p in inspect.signature(func, eval_str=True).parameters.values() if p.name != "ctx"]

        @functools.wraps(func)
        def wrapper(**values: Any) -> None:
            common = {n: values.pop(n) for n in COMMON_NAMES}
            env = current()
            out = make_output(common["json_"], common["quiet"], common["show_secrets"], env)

            def body() -> None:
                check_utf8({**values, **common})
                ctx = build_context(common, out, env)
                try:
                    func(ctx, **values)
                finally:
                    ctx.close()

            with ending_like_ctrl_c():
                guarded(out, common["debug"], body)

        wrapper.__signature__ = inspect.Signature(own + _PARAMS)  # type: ignore[attr-defined]
        kwargs.setdefault("short_help", (func.__doc__ or "").strip().splitlines()[0])  # Click cuts at 45 chars
        app.command(name, **kwargs)(wrapper)
        return func

    return decorate


def show_fields(ctx: Context, info: dict[str, Any]) -> None:
    """Key/value lines for people; one JSON object with --json."""
    if ctx.out.json_mode:
        ctx.out.data(info)
        return
    width = max(len(k) for k in info)
    for key, value in info.items():
        if value is not None and value != "":
            ctx.out.text(f"{key.ljust(width)}  {value}")


def render(ctx: Context, done: Done) -> None:
    """What a verb did (flows/verbs.py Done): its document under --json, else its fields or lines; its note."""
    if ctx.out.json_mode:
        ctx.out.data(done.document)
    elif done.fields is not None:
        show_fields(ctx, done.fields)
    else:
        for line in done.lines:
            ctx.out.text(line)
    if done.note and not (ctx.out.json_mode and done.quiet_in_json):
        ctx.out.note(done.note)
