"""The one retry policy, for every request that is safe to send again and for the loops of channel.py.

- The first retry goes at once (a dropped connection is usually just that), then 0.25 s doubling up to 4 s.
- Never past the step's deadline (60 s, LIVEAGENT_NETWORK_TIMEOUT): when the next wait would end after it,
  the step gives up now rather than sleep and try once more too late.
- A definite answer is not asked again: a name that does not resolve, a refused certificate, plain HTTP on
  an https:// URL, a port that does not speak HTTP. A reset counts as that the second time in a row (once
  can be a load balancer dropping a pooled connection).
- Once retrying has gone on a while (three failures in a row, or 5 s), one note on stderr says why and for
  how long (not under --quiet); the rest of the wait is silent.
- When the budget runs out on a request that got no answer in time, the error names the budget ("no answer
  from HOST in 60 s"), not the last attempt's shortened timeout.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from liveagent_cli.core.errors import LiveAgentError, NetworkError, NetworkFailure
from liveagent_cli.core.network_errors import timed_out_message
from liveagent_cli.flows.deadline import Deadline

POST_TIMEOUT = 30.0
NOTE_AFTER_FAILURES = 3
NOTE_AFTER_SECONDS = 5.0
RESETS_THAT_MEAN_NOT_HTTP = 2
DEFINITE = frozenset(
    {
        NetworkFailure.NAME_UNKNOWN,
        NetworkFailure.PLAIN_HTTP,
        NetworkFailure.NOT_HTTP,
        NetworkFailure.TLS_VERIFY,
        NetworkFailure.TLS,
    }
)

T = TypeVar("T")
Note = Callable[[str], None]


def backoff(attempt: int) -> float:
    """Seconds before retry number `attempt` (0-based): 0, then 0.25 s doubling up to 4 s."""
    return 0.0 if attempt == 0 else float(min(0.25 * 2 ** (attempt - 1), 4.0))


class Retries:
    """The failures of one request so far; `after(error)` waits for the next attempt or raises."""

    def __init__(self, deadline: Deadline, note: Note | None = None) -> None:
        self.deadline = deadline
        self.note = note
        self.failures = 0
        self.resets = 0
        self.started = time.monotonic()
        self.noted = False

    def after(self, error: LiveAgentError) -> None:
        """Sleep before the next attempt, or raise `error` (or the budget's own timeout) when there is none."""
        self.failures += 1
        failure = error.failure if isinstance(error, NetworkError) else NetworkFailure.OTHER
        self.resets = self.resets + 1 if failure is NetworkFailure.RESET else 0
        if failure in DEFINITE or self.resets >= RESETS_THAT_MEAN_NOT_HTTP:
            raise error
        wait = backoff(self.failures - 1)
        left = self.deadline.remaining()
        if left is not None and left <= wait:
            raise self.gave_up(error)
        if not self.noted and self.note is not None and self.going_on_a_while():
            self.noted = True
            budget = f"; retrying for up to {self.budget_text()}" if self.deadline.seconds is not None else ""
            self.note(f"{error.message}{budget}")
        time.sleep(wait)

    def going_on_a_while(self) -> bool:
        return self.failures >= NOTE_AFTER_FAILURES or time.monotonic() - self.started >= NOTE_AFTER_SECONDS

    def budget_text(self) -> str:
        return f"{max(1, round(self.deadline.seconds or 0))} s"

    def gave_up(self, error: LiveAgentError) -> LiveAgentError:
        """The error the step ends with: a timeout names the whole budget."""
        if isinstance(error, NetworkError) and error.failure is NetworkFailure.TIMED_OUT and self.deadline.seconds:
            return NetworkError(
                timed_out_message(error.host, self.deadline.seconds),
                error.hint,
                failure=NetworkFailure.TIMED_OUT,
                host=error.host,
            )
        return error


def retrying(
    call: Callable[[float], T],
    deadline: Deadline,
    note: Note | None = None,
    retry_on: tuple[type[LiveAgentError], ...] = (NetworkError,),
) -> T:
    """`call(timeout)` until it answers, under the policy above.

    For requests that are safe to repeat (SessionId, ReconnectSession, ChasitorResyncState, the Visitor
    resources); the POSTs that carry a sequence number and the long poll use `Retries` in loops of their own.
    """
    retries = Retries(deadline, note)
    while True:
        try:
            return call(deadline.cap(POST_TIMEOUT))
        except retry_on as error:
            retries.after(error)
