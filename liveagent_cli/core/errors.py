"""One exception tree and one exit-code table for the whole tool.

    LiveAgentError                 exit 1  unexpected
    ├── UsageError                 exit 2  bad argument, empty message, text not UTF-8
    ├── ConfigError                exit 3  missing/malformed settings, unknown profile, insecure pod, no CA file
    │   └── StateError             exit 3  unreadable, corrupt or foreign state file, unwritable state folder
    ├── NetworkError               exit 4  unreachable pod, TLS failure, no answer after retries
    ├── ApiError                   exit 5  unexpected HTTP status or a reply the API does not send
    │   ├── PodMovedError          exit 5  503: the pod moved the session (affinity changed)
    │   ├── OutOfSyncError         exit 5  409 "Out of sync Ack. Expected N. Actual M" on a POST
    │   ├── DuplicatePollError     exit 6  409 on a poll: a second long poll made the pod end the chat
    │   ├── NoMessagingSessionError exit 5 417 (Enhanced Chat): the conversation has no messaging session
    │   └── RateLimitedError       exit 5  429: too many requests; `retry_after` when the server said
    ├── SessionGoneError           exit 6  no session, or it expired or ended (403)
    ├── NoAgentError               exit 7  ChatRequestFail, or no agent online
    └── WaitTimeoutError           exit 8  --until / --timeout ran out, or a lock another process held

Each error is one line of message and an optional hint; the CLI prints them and exits with `code`.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class ExitCode(IntEnum):
    """The contract's exit codes (CONTRACT.md, "Exit codes")."""

    OK = 0
    INTERNAL = 1
    USAGE = 2
    CONFIG = 3
    NETWORK = 4
    API = 5
    NO_SESSION = 6
    NO_AGENT = 7
    TIMEOUT = 8
    HANGUP = 129  # 128 + SIGHUP, the shell's number for it
    INTERRUPTED = 130
    BROKEN_PIPE = 141  # 128 + SIGPIPE: the reader of stdout went away (`| head -1`)
    TERMINATED = 143  # 128 + SIGTERM


EXIT_CODE_MEANINGS: dict[ExitCode, str] = {
    ExitCode.OK: "success",
    ExitCode.INTERNAL: "unexpected internal error",
    ExitCode.USAGE: "usage error: unknown option, missing argument, an empty message, text that is not valid UTF-8",
    ExitCode.CONFIG: "configuration error: missing or malformed settings or ids, unknown profile, "
    "refused insecure pod, unreadable or corrupt state, a state folder that cannot be written, a CA bundle that "
    "does not exist",
    ExitCode.NETWORK: "network error: unreachable pod, TLS failure, no answer after retries",
    ExitCode.API: "API error: an unexpected HTTP status or a reply that is not what the API sends",
    ExitCode.NO_SESSION: "no session, or the session expired or ended (403)",
    ExitCode.NO_AGENT: "no agent: ChatRequestFail, or `availability` found none online",
    ExitCode.TIMEOUT: "timed out waiting (`--until`, `--timeout`, or for another process using the session)",
    ExitCode.HANGUP: "the terminal hung up (SIGHUP), handled like Ctrl-C",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C)",
    ExitCode.BROKEN_PIPE: "stdout was closed by its reader (`| head`): a quiet stop",
    ExitCode.TERMINATED: "terminated (SIGTERM), handled like Ctrl-C",
}


class LiveAgentError(Exception):
    """Base of every error the tool reports; `code` is the process exit status."""

    code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(LiveAgentError):
    code = ExitCode.USAGE


class ConfigError(LiveAgentError):
    code = ExitCode.CONFIG


class StateError(ConfigError):
    pass


class NetworkFailure(StrEnum):
    """What went wrong on the way to the pod: the flows' retry policy decides from this (flows/retry.py)."""

    NAME_UNKNOWN = "name-unknown"  # the host name does not resolve: asking again will not change that
    NAME_LOOKUP = "name-lookup"  # a lookup that failed for now (no network yet, DNS server down)
    REFUSED = "refused"  # nothing listens on that port (yet)
    TIMED_OUT = "timed-out"  # no answer within the request's timeout
    DROPPED = "dropped"  # the connection closed before a whole answer came
    RESET = "reset"  # the peer reset the connection: once is a blip, twice a port that does not speak HTTP
    NOT_HTTP = "not-http"  # the port answered, but not in HTTP (an SSH banner, say)
    PLAIN_HTTP = "plain-http"  # https:// to a port that answers in plain HTTP
    TLS_VERIFY = "tls-verify"  # the pod's certificate was refused
    TLS = "tls"  # another TLS failure
    OTHER = "other"


class NetworkError(LiveAgentError):
    """The pod could not be reached or gave no answer; `failure` says how, `host` where."""

    code = ExitCode.NETWORK

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        *,
        failure: NetworkFailure = NetworkFailure.OTHER,
        host: str = "",
    ) -> None:
        super().__init__(message, hint)
        self.failure = failure
        self.host = host


class ApiError(LiveAgentError):
    """The pod answered something the API does not send (or a status we cannot act on)."""

    code = ExitCode.API

    def __init__(self, message: str, hint: str | None = None, *, status: int | None = None, body: str = "") -> None:
        super().__init__(message, hint)
        self.status = status
        self.body = body


class PodMovedError(ApiError):
    """503: the session now lives on another pod server; ReconnectSession recovers it."""


class OutOfSyncError(ApiError):
    """409 on a POST: the pod's last accepted sequence (`actual`) is not the one before ours (`sent`)."""

    def __init__(self, message: str, *, sent: int, actual: int, body: str = "") -> None:
        super().__init__(message, status=409, body=body)
        self.sent = sent
        self.actual = actual


class DuplicatePollError(ApiError):
    """409 on a poll: the pod saw two long polls for the session and ended the chat."""

    code = ExitCode.NO_SESSION
    reason = "409: two long polls at once"


class NoMessagingSessionError(ApiError):
    """417 on an Enhanced Chat message: its messaging session ended; a new one starts with the next message."""


class RateLimitedError(ApiError):
    """429: the server limits this client for now; `retry_after` is how long it asked to wait (seconds)."""

    def __init__(self, message: str, hint: str | None = None, *, retry_after: float | None, body: str = "") -> None:
        super().__init__(message, hint, status=429, body=body)
        self.retry_after = retry_after


class SessionGoneError(LiveAgentError):
    """No session, or the pod no longer knows it; `reason` is the short why the state file keeps."""

    code = ExitCode.NO_SESSION

    def __init__(self, message: str, hint: str | None = None, *, reason: str = "") -> None:
        super().__init__(message, hint)
        self.reason = reason or message


class NoAgentError(LiveAgentError):
    code = ExitCode.NO_AGENT


class WaitTimeoutError(LiveAgentError):
    code = ExitCode.TIMEOUT
