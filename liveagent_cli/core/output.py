"""The one output object: data to stdout, everything else (notes, progress, warnings, errors) to stderr.

Colour comes from Rich, imported only when a stream is a terminal and NO_COLOR is unset (or FORCE_COLOR
is set): piped output never pays for Rich and never carries escape codes. Every string passes through the
redactor, so the session key cannot leak by accident. The command layer passes the streams, whether each is a
terminal and the environment variables (NO_COLOR, FORCE_COLOR, TERM); nothing here reads the process's own.

Text from the pod or an agent is not trusted to reach a terminal: every human line passes through `printable`,
which shows escape and control characters as visible escapes (`\\x1b`), so an agent cannot clear the screen,
retitle the window or overwrite a line with `\\r`. `--json` keeps them, JSON-escaped.
"""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Iterator, Mapping
from typing import IO, Any

from liveagent_cli.core.redact import Redactor

# C0 controls but tab and newline, DEL, C1 controls, and the bidi marks, embeddings, overrides and isolates
# (and the Unicode line/paragraph separators) that can make a line read other than it is
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# what json.dumps(ensure_ascii=False) leaves raw although a terminal may act on it (C0 it escapes itself)
_JSON_RAW = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """`text` safe for a terminal: control, escape and bidi-override characters shown as `\\x1b`, `\\u202e`;
    newlines and tabs kept. For every human line that may carry the pod's or an agent's text."""
    return _UNPRINTABLE.sub(_visible, text)


def json_line(obj: Any) -> str:
    """One JSON document on one line, with the characters a terminal acts on escaped as `\\u009b`."""
    import json

    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(obj, ensure_ascii=False))


def wants_colour(environ: Mapping[str, str], isatty: bool) -> bool:
    """NO_COLOR wins, then FORCE_COLOR; otherwise colour only on a terminal that is not TERM=dumb."""
    if environ.get("NO_COLOR"):
        return False
    if environ.get("FORCE_COLOR"):
        return True
    return isatty and environ.get("TERM") != "dumb"


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class Output:
    def __init__(
        self,
        *,
        json_mode: bool = False,
        quiet: bool = False,
        redactor: Redactor | None = None,
        stdout: IO[str] | None = None,
        stderr: IO[str] | None = None,
        environ: Mapping[str, str] | None = None,
        stdout_isatty: bool | None = None,
        stderr_isatty: bool | None = None,
    ) -> None:
        self.json_mode = json_mode
        self.quiet = quiet
        self.redactor = redactor or Redactor()
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.stdout_isatty = _isatty(self.stdout) if stdout_isatty is None else stdout_isatty
        self.stderr_isatty = _isatty(self.stderr) if stderr_isatty is None else stderr_isatty
        environ = {} if environ is None else environ
        self._colour = {
            id(self.stdout): wants_colour(environ, self.stdout_isatty),
            id(self.stderr): wants_colour(environ, self.stderr_isatty),
        }
        self._no_color = bool(environ.get("NO_COLOR"))
        self._force_color = bool(environ.get("FORCE_COLOR"))
        self._consoles: dict[int, Any] = {}

    # -- stdout: data ------------------------------------------------------------------------------------
    def data(self, obj: Any) -> None:
        """One JSON document (or NDJSON line) on stdout, flushed at once."""
        self._write(self.stdout, json_line(obj) + "\n")

    def text(self, line: str, style: str = "") -> None:
        self._styled(self.stdout, line, style)

    def message(self, item: dict[str, Any], agent: str = "agent") -> None:
        """A pod message: the item exactly as sent under --json, a readable line otherwise."""
        if self.json_mode:
            self.data(item)
        else:
            from liveagent_cli.core.render import describe  # what a message means: only steps that show one

            style, line = describe(item, agent)
            self.text(line, style)

    # -- stderr: everything else --------------------------------------------------------------------------
    def note(self, line: str) -> None:
        if not self.quiet:
            self._styled(self.stderr, line, "dim")

    def warn(self, line: str) -> None:
        self._styled(self.stderr, f"warning: {line}", "yellow")

    def error(self, message: str, hint: str | None = None) -> None:
        self._styled(self.stderr, f"error: {message}", "bold red")
        if hint:
            self.hint(hint)

    def hint(self, line: str) -> None:
        """What to do next about an error; printed alone when the output already stated the failure."""
        self._styled(self.stderr, f"hint: {line}", "")

    def wire(self, line: str) -> None:
        self._styled(self.stderr, line, "blue")

    # -- plumbing ----------------------------------------------------------------------------------------
    def _styled(self, stream: IO[str], line: str, style: str) -> None:
        line = printable(self.redactor.text(line))
        if style and self._colour.get(id(stream), False):
            console = self._console(stream)
            console.print(line, style=style, markup=False, highlight=False, soft_wrap=True)
            stream.flush()
        else:
            self._write(stream, line + "\n", redact=False)

    def _write(self, stream: IO[str], text: str, *, redact: bool = True) -> None:
        stream.write(self.redactor.text(text) if redact else text)
        stream.flush()

    @contextlib.contextmanager
    def redirected(self, *, stdout: IO[str] | None = None, stderr: IO[str] | None = None) -> Iterator[None]:
        """Write to other streams for a while (None keeps one), deciding colour as for the streams they stand
        for: the interactive chat hands its terminal streams to the line editor, which prints above the prompt."""
        saved = (self.stdout, self.stderr, self._colour, self._consoles)
        colour_out, colour_err = self._colour[id(self.stdout)], self._colour[id(self.stderr)]
        self.stdout, self.stderr = stdout or self.stdout, stderr or self.stderr
        self._colour = {id(self.stdout): colour_out, id(self.stderr): colour_err}
        self._consoles = {}
        try:
            yield
        finally:
            self.stdout, self.stderr, self._colour, self._consoles = saved

    def stderr_console(self) -> Any:
        """The Rich console on stderr, for progress bars and spinners (only used on a terminal)."""
        return self._console(self.stderr)

    def _console(self, stream: IO[str]) -> Any:
        console = self._consoles.get(id(stream))
        if console is None:
            from rich.console import Console

            # Rich is told the facts rather than left to read the process's environment and streams
            terminal = self._force_color or (self.stderr_isatty if stream is self.stderr else self.stdout_isatty)
            console = Console(file=stream, force_terminal=terminal, no_color=self._no_color)
            self._consoles[id(stream)] = console
        return console
