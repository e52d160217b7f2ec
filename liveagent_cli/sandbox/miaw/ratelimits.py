"""The rate limits of Salesforce's Help page "Rate Limits for Enhanced Chat" (miaw-api.md 6), as sliding windows.

- access tokens (guest, verified, continuation): 200 per minute per org;
- conversations started: 3 per 30 seconds per end user (the page says "per page (or app)");
- messages (and files) from the end user: 22 per minute per conversation.

A request over a limit gets 429 (with `Retry-After`, the seconds until the window frees, unless the strict
profile leaves it out) and is not processed. `rate_limits` off (load tests) disables all three.
"""

from __future__ import annotations

import math
import time
from collections import deque

from liveagent_cli.sandbox.miaw.refusals import TooManyRequests

TOKENS_PER_ORG = (200, 60.0)
CONVERSATIONS_PER_USER = (3, 30.0)
MESSAGES_PER_CONVERSATION = (22, 60.0)
_TEXT = "Too many requests. Try again in sometime."  # SAMPLE's words for a 429


class Window:
    """At most `limit` events per `seconds`, sliding."""

    __slots__ = ("limit", "seconds", "times")

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit = limit
        self.seconds = seconds
        self.times: deque[float] = deque()

    def take(self, what: str, now: float | None = None) -> None:
        """Count one event, or raise TooManyRequests (not counted) when the window is full."""
        now = time.monotonic() if now is None else now
        times = self.times
        while times and now - times[0] >= self.seconds:
            times.popleft()
        if len(times) >= self.limit:
            wait = max(1, math.ceil(self.seconds - (now - times[0])))
            raise TooManyRequests(f"{_TEXT} ({what}: at most {self.limit} per {self.seconds:g} s)", wait)
        times.append(now)


class OrgWindows:
    """The per-org token windows, made on first use."""

    def __init__(self) -> None:
        self._windows: dict[str, Window] = {}

    def take(self, org15: str) -> None:
        window = self._windows.get(org15)
        if window is None:
            window = self._windows[org15] = Window(*TOKENS_PER_ORG)
        window.take("access tokens of one org")

    def clear(self) -> None:
        self._windows.clear()
