"""Time budgets: a step that gets no answer gives up within 60 s unless told otherwise."""

from __future__ import annotations

import time
from collections.abc import Mapping

from liveagent_cli.core.errors import ConfigError

DEFAULT_GIVE_UP = 60.0
MAX_GIVE_UP = 3600.0


def give_up_seconds(environ: Mapping[str, str]) -> float:
    """How long a step keeps retrying without any answer: $LIVEAGENT_NETWORK_TIMEOUT, default 60 s."""
    raw = environ.get("LIVEAGENT_NETWORK_TIMEOUT", "")
    if not raw:
        return DEFAULT_GIVE_UP
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value <= MAX_GIVE_UP:  # also refuses nan and inf
        raise ConfigError(
            f"LIVEAGENT_NETWORK_TIMEOUT={raw!r}: it must be a number of seconds above 0 and at most {MAX_GIVE_UP:g}",
            hint=f"for example LIVEAGENT_NETWORK_TIMEOUT=30, or unset it for the default {DEFAULT_GIVE_UP:g} s",
        )
    return value


class Deadline:
    """A point in time (or none); `cap` shortens a per-request timeout so the whole step keeps its budget."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds  # the whole budget, for messages such as "no answer in 60 s"
        self.end = None if seconds is None else time.monotonic() + seconds

    def remaining(self) -> float | None:
        return None if self.end is None else self.end - time.monotonic()

    def expired(self) -> bool:
        return self.end is not None and time.monotonic() >= self.end

    def cap(self, seconds: float) -> float:
        left = self.remaining()
        return seconds if left is None else max(0.05, min(seconds, left))

    def earliest(self, other: Deadline) -> Deadline:
        if other.end is None or (self.end is not None and self.end <= other.end):
            return self
        return other
