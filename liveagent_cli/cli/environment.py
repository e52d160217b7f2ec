"""The process as the command layer sees it: arguments, environment variables, streams and their TTY facts.

httpie's idea (`httpie.context.Environment`): no command reads `os.environ`, `sys.stdin`, `sys.stdout` or
`isatty()` itself. `run` takes one Environment (the real one from `Environment.from_process()`, or one a test
builds with captured streams) and the commands ask `current()` for it, then hand plain values (a mapping, a
stream, a flag) to core and flows, which never see this class. That is what lets most CLI tests run
in-process while behaving as the console script does.

Imports nothing heavy: the console script builds one before it knows which command runs.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import IO


@dataclass(frozen=True)
class Environment:
    argv: list[str]  # the arguments after the program's name
    environ: Mapping[str, str]
    stdin: IO[bytes]  # bytes: `send -` and the piped chat decode UTF-8 themselves, naming a bad byte
    stdout: IO[str]
    stderr: IO[str]
    stdin_isatty: bool = False
    stdout_isatty: bool = False
    stderr_isatty: bool = False

    @classmethod
    def from_process(cls) -> Environment:
        """This process's arguments, variables and standard streams (a closed stdin reads as empty)."""
        stdin = sys.stdin.buffer if sys.stdin is not None else io.BytesIO()
        return cls(
            argv=sys.argv[1:],
            environ=os.environ,
            stdin=stdin,
            stdout=sys.stdout,
            stderr=sys.stderr,
            stdin_isatty=_isatty(sys.stdin),
            stdout_isatty=_isatty(sys.stdout),
            stderr_isatty=_isatty(sys.stderr),
        )


def _isatty(stream: IO[str] | None) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError):  # no such method, or a closed stream
        return False


_CURRENT: ContextVar[Environment | None] = ContextVar("liveagent_environment", default=None)


@contextlib.contextmanager
def using(env: Environment) -> Iterator[Environment]:
    """Make `env` the one `current()` returns while a command runs."""
    token = _CURRENT.set(env)
    try:
        yield env
    finally:
        _CURRENT.reset(token)


def current() -> Environment:
    """The Environment `run` was given; the real process when the app is driven some other way."""
    env = _CURRENT.get()
    return env if env is not None else Environment.from_process()
