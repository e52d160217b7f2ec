"""One exception tree and one exit-code table for the whole tool.

    LiveAgentError                 exit 1  unexpected
    ├── UsageError                 exit 2  bad argument, empty message, text not UTF-8
    ├── ConfigError                exit 3  missing/malformed settings, unknown profile, insecure pod
    │   └── StateError             exit 3  unreadable, corrupt or foreign state file
    ├── NetworkError               exit 4  unreachable pod, TLS failure, no answer after retries
    ├── ApiError                   exit 5  unexpected HTTP status or a reply the API does not send
    │   ├── PodMovedError          exit 5  503: the pod moved the session (affinity changed)
    │   ├── OutOfSyncError         exit 5  409 "Out of sync Ack. Expected N. Actual M" on a POST
    │   └── DuplicatePollError     exit 6  409 on a poll: a second long poll made the pod end the chat
    ├── SessionGoneError           exit 6  no session, or it expired or ended (403)
    ├── NoAgentError               exit 7  ChatRequestFail, or no agent online
    └── WaitTimeoutError           exit 8  --until / --timeout ran out

Each error is one line of message and an optional hint; the CLI prints them and exits with `code`.
"""

from __future__ import annotations

from enum import IntEnum


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
    INTERRUPTED = 130


EXIT_CODE_MEANINGS: dict[ExitCode, str] = {
    ExitCode.OK: "success",
    ExitCode.INTERNAL: "unexpected internal error",
    ExitCode.USAGE: "usage error: unknown option, missing argument, an empty message, text that is not valid UTF-8",
    ExitCode.CONFIG: "configuration error: missing or malformed settings or ids, unknown profile, "
    "refused insecure pod, unreadable or corrupt state",
    ExitCode.NETWORK: "network error: unreachable pod, TLS failure, no answer after retries",
    ExitCode.API: "API error: an unexpected HTTP status or a reply that is not what the API sends",
    ExitCode.NO_SESSION: "no session, or the session expired or ended (403)",
    ExitCode.NO_AGENT: "no agent: ChatRequestFail, or `availability` found none online",
    ExitCode.TIMEOUT: "timed out waiting (`--until`, `--timeout`)",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C)",
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


class NetworkError(LiveAgentError):
    code = ExitCode.NETWORK


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


class SessionGoneError(LiveAgentError):
    code = ExitCode.NO_SESSION


class NoAgentError(LiveAgentError):
    code = ExitCode.NO_AGENT


class WaitTimeoutError(LiveAgentError):
    code = ExitCode.TIMEOUT
