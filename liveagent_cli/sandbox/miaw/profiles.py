"""What an Enhanced Chat sandbox is told at start (`sandbox serve` options), and its choices where the
reference (miaw-api.md) is unsure.

Where the reference is unsure how the server behaves, `PROFILES` holds the sandbox's choice ("forgiving",
the default) and the least forgiving one ("strict", `--strict`), which a client should survive too; each
can also be set on its own. docs/sandbox.md ("Enhanced Chat") gives the reason for every choice.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

ORG_ID_PATTERN = re.compile(r"00D[0-9A-Za-z]{12}(?:[0-9A-Za-z]{3})?\Z")
DEPLOYMENT_NAME_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,79}\Z")

SECOND_STREAM_CHOICES = ("replace", "refuse")
LAST_EVENT_ID_CHOICES = ("lenient", "malformed", "strict")
PING_DATA_CHOICES = ("zero", "counter")
ENTRY_PAYLOAD_CHOICES = ("object", "string")
IDENTITY_FAILURE_CHOICES = ("guest", "reject")

PROFILES: dict[str, dict[str, Any]] = {
    "forgiving": {"replay": True, "second_stream": "replace", "last_event_id": "lenient", "retry_after": True},
    # a missing Last-Event-Id stays allowed even here: production clients (Botpress's Salesforce integration)
    # open the stream without one, so a real server accepts it; only a malformed one is refused
    "strict": {"replay": False, "second_stream": "refuse", "last_event_id": "malformed", "retry_after": False},
}


@dataclass(frozen=True, slots=True)
class MiawSettings:
    org_id: str | None = None  # None: any well-formed org id is accepted (and each token keeps its own)
    deployment_name: str | None = None  # None: any well-formed deployment name
    token_ttl: float = 7200.0  # seconds an access token lives (the reference's local-dev test token: 2 h)
    sse_ping: float = 15.0  # seconds between two `event:ping` on an idle stream
    rate_limits: bool = True  # the limits of the Help page (miaw-api.md 6); off for load tests
    # the choices of PROFILES (defaults: forgiving)
    replay: bool = True  # a stream opened with Last-Event-Id gets what the subject missed since
    second_stream: str = "replace"  # a second stream of one subject: "replace" the first, or "refuse" it (409)
    # Last-Event-Id: "lenient" ignores a missing or malformed one, "malformed" 400s a malformed one (a missing one
    # starts from now), "strict" 400s both (F-AGENT's claim; breaks clients that real servers serve)
    last_event_id: str = "lenient"
    retry_after: bool = True  # a 429 says when to try again (Retry-After)
    # choices where clients (not strictness) differ
    ping_data: str = "zero"  # `event:ping` data: "zero" (0 every time) or "counter" (1, 2, 3...)
    entry_payload: str = "object"  # entryPayload in the REST entries list: "object" (SAMPLE) or "string" (as SSE)
    org_id_18: bool = False  # X-Org-Id on the stream may be the 18-character form too
    identity_failure: str = "guest"  # an identity token that fails: a "guest" token (as reported), or "reject" (401)
    agent_receipts: bool = True  # the agent acknowledges each message: delivered when it arrives, read on reply
    # sizes
    replay_limit: int = 1000  # events kept per subject for replay
    events_limit: int = 10_000  # lines of a conversation's record (the control API's inspection)
    history_limit: int = 1000  # closed conversations kept for inspection
    file_limit: int = 5 * 1024 * 1024  # bytes of one file (413 above) and of a message body
    accept_grace: float = 0.05  # seconds for a replaced stream's disconnect to be noticed ("refuse" only)

    def validate(self) -> None:
        """ValueError with a message fit for a user."""
        if self.org_id is not None and not ORG_ID_PATTERN.match(self.org_id):
            raise ValueError(f"org id {self.org_id!r} is not a Salesforce org id (00D + 12 or 15 letters and digits)")
        if self.deployment_name is not None and not DEPLOYMENT_NAME_PATTERN.match(self.deployment_name):
            raise ValueError(
                f"deployment name {self.deployment_name!r} is not an API name (a letter, then letters, digits, _)"
            )
        for name in ("token_ttl", "sse_ping"):
            value = getattr(self, name)
            if not math.isfinite(value) or value <= 0:
                raise ValueError(f"{name} must be a positive number of seconds")
        for name, choices in (
            ("second_stream", SECOND_STREAM_CHOICES),
            ("last_event_id", LAST_EVENT_ID_CHOICES),
            ("ping_data", PING_DATA_CHOICES),
            ("entry_payload", ENTRY_PAYLOAD_CHOICES),
            ("identity_failure", IDENTITY_FAILURE_CHOICES),
        ):
            if getattr(self, name) not in choices:
                raise ValueError(f"{name} must be one of: {', '.join(choices)}")

    @property
    def org_id15(self) -> str | None:
        return self.org_id[:15] if self.org_id else None
