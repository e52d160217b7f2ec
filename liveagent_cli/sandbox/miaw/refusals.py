"""Enhanced Chat's refusals, each with its HTTP status, error code and the texts the reference records.

The error body is `{"message": ..., "errorCode": ...}` (miaw-api.md 2.5: SAMPLE reads `.message`, CW's mocks
send `{"message"}`); the stream's 401 is Spring Boot's shape, and the configuration endpoint's 412 is
`{"text"}`, as field reports show them (restapi.py and sse.py write those two).
"""

from __future__ import annotations

# The texts real servers answer, as the reference quotes them.
BAD_CONVERSATION_ID = "Specify the conversationId in UUID format."
ORG_ID_REQUIRED = "OrgId is required"
ORG_ID_MISMATCH = "OrgId in the header and token must match"
JWT_EXPIRED = "Jwt is expired"
NOT_PUBLISHED = "Embedded Messaging Config is not Published"


class MiawError(Exception):
    status = 400
    code = "BAD_REQUEST"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def body(self) -> dict[str, str]:
        return {"message": self.message, "errorCode": self.code}


class BadRequest(MiawError):
    status = 400
    code = "BAD_REQUEST"


class Unauthorized(MiawError):
    status = 401
    code = "UNAUTHORIZED"


class Forbidden(MiawError):
    status = 403
    code = "FORBIDDEN"


class NotFound(MiawError):
    status = 404
    code = "NOT_FOUND"


class Conflict(MiawError):
    status = 409
    code = "CONFLICT"


class PayloadTooLarge(MiawError):
    status = 413
    code = "PAYLOAD_TOO_LARGE"


class UnsupportedMediaType(MiawError):
    status = 415
    code = "UNSUPPORTED_MEDIA_TYPE"


class NoMessagingSession(MiawError):
    """417: a message when no messaging session is active; the client resends with isNewMessagingSession."""

    status = 417
    code = "EXPECTATION_FAILED"


class TooManyRequests(MiawError):
    status = 429
    code = "TOO_MANY_REQUESTS"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
