"""The pod's protocol errors, each carrying the HTTP status the real pod answers it with.

They are raised by the protocol layer (which knows nothing of HTTP) and turned into answers by the API
layers: JSON `{"error": ...}` bodies, except where a real pod is known to answer plain text (the 409s).
"""

from __future__ import annotations

from typing import Any


class PodError(Exception):
    """A refused request; `status` is the HTTP status, `plain` asks for a text/plain body.

    `problem`, when set, is a stable word for what is wrong (for example `not-accepted`), so the control
    API and the command line can each say what to do next (the control API's PROBLEM_HINTS).
    """

    status = 400
    plain = False

    def __init__(self, message: str, *, problem: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.problem = problem


class BadRequest(PodError):
    status = 400


class SessionInvalid(PodError):
    """Unknown, expired or ended session key: the chat is over for the client."""

    status = 403


class Forbidden(PodError):
    """A request that names a real chat but is not allowed (a wrong file token, for instance)."""

    status = 403


class NotFound(PodError):
    status = 404


class NotAllowed(PodError):
    """405: IBM saw it on a ReconnectSession that no 503 preceded."""

    status = 405


class InvalidState(PodError):
    """An agent action the chat's state does not allow (control API: 409)."""

    status = 409


class OutOfSync(PodError):
    """409 on a Chasitor POST whose X-LIVEAGENT-SEQUENCE is neither the next number nor a repeat of the last."""

    status = 409
    plain = True

    def __init__(self, sent: int, last: int) -> None:
        # The exact text IBM observed on real pods: Expected = what the client sent, Actual = last accepted.
        super().__init__(f"Out of sync Ack. Expected {sent}. Actual {last}")


class DuplicatePoll(PodError):
    """409 to both long polls when a second one arrives for a session: the pod ends the chat (the guide)."""

    status = 409
    plain = True

    def __init__(self) -> None:
        super().__init__(
            "Duplicate long poll: another Messages request for this session was already waiting; the chat has ended"
        )


class PayloadTooLarge(PodError):
    status = 413


class UnsupportedMediaType(PodError):
    status = 415


class NotEstablished(PodError):
    """The guide: requests before ChatEstablished make the server throw and answer 500."""

    status = 500


class AffinityMismatch(PodError):
    """503: the session lives on another server (a wrong token, or the pod moved it): ReconnectSession."""

    status = 503
    plain = True

    def __init__(self, message: str = "Invalid Affinity Token") -> None:
        super().__init__(message)


def string_field(
    body: dict[str, Any], name: str, what: str, *, default: str | None = None, non_empty: bool = False
) -> str:
    """A string field of a request's JSON object; 400 naming `what` needs it, and whether it was empty."""
    value = body.get(name, default)
    if not isinstance(value, str):
        raise BadRequest(f"{what} needs a string `{name}`")
    if non_empty and not value:
        raise BadRequest(f"{what} needs a non-empty `{name}`")
    return value
