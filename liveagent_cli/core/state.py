"""The state store: one TOML file per named session, so separate processes can carry one chat.

Files are 0600 in a 0700 folder and written atomically (temporary file in the same folder, fsync, replace),
so a Ctrl-C or kill -9 never leaves a torn file. Locks are `fcntl.flock` on a side file: the kernel drops
them when a process dies, even by kill -9, and they cost nothing at start-up (the `filelock` package was
measured at ~55 ms of imports here, more than the rest of `liveagent status`). A session's side files go
with it: the holder of a lock removes the file once the state file is gone (see `StateStore.lock`).
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import re
import stat
import sys
import time
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import MISSING, asdict, dataclass, field, fields
from enum import StrEnum
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

from liveagent_cli.core.atomic import atomic_write, fsync_dir
from liveagent_cli.core.errors import ConfigError, SessionGoneError, StateError, UsageError, WaitTimeoutError

try:
    import fcntl
except ModuleNotFoundError:  # Windows: no flock, so no safe way to share a session between processes
    fcntl = None  # type: ignore[assignment]

SCHEMA = 1
# NAME.state.lock: read-change-write of the file, never held across a request; NAME.send.lock: one sequenced
# POST (or ReconnectSession) at a time, in number order; NAME.poll.lock: the one long poll
LOCK_KINDS = ("state", "send", "poll")
LOCK_DOING = {"state": "updating", "send": "sending on", "poll": "polling"}
DEFAULT_LOCK_WAIT = 60.0  # seconds; the CLI sets the step's budget (LIVEAGENT_NETWORK_TIMEOUT)
LOCK_NOTE_AFTER = 1.0  # seconds of waiting before the one note that names the holder
LOCK_PAUSE_FIRST, LOCK_PAUSE_MAX = 0.001, 0.02
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_HEADER = "# liveagent session state. Holds a live session key: do not share or commit this file.\n"


def _try_flock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _sign(fd: int) -> None:
    """Write this process's pid and command line into a lock file it now holds."""
    words = " ".join([Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python", *sys.argv[1:]])
    words = "".join(c if c.isprintable() else " " for c in words)[:120]
    with contextlib.suppress(OSError):
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {words}\n".encode(errors="replace"), 0)


def _holder(fd: int) -> str:
    """What the holder of a lock file signed ("PID COMMAND"), or "" when it has not (yet)."""
    try:
        return os.pread(fd, 256, 0).decode("utf-8", "replace").strip()
    except OSError:
        return ""


def _holder_words(signed: str) -> str:
    pid, _, command = signed.partition(" ")
    if not pid.isdigit():
        return "holder unknown"
    return f"pid {pid}: {command}" if command else f"pid {pid}"


def state_dir(environ: Mapping[str, str]) -> Path:
    """$LIVEAGENT_STATE_DIR, else $XDG_STATE_HOME/liveagent (~/.local/state/liveagent)."""
    if environ.get("LIVEAGENT_STATE_DIR"):
        return Path(environ["LIVEAGENT_STATE_DIR"]).expanduser()
    base = environ.get("XDG_STATE_HOME") or str(Path(environ.get("HOME") or Path.home()) / ".local" / "state")
    return Path(base) / "liveagent"


def check_session_name(name: str) -> str:
    if not _NAME_RE.match(name):
        raise UsageError(
            f"invalid session name {name!r}",
            hint="use up to 64 letters, digits, '.', '_' or '-', starting with a letter or digit",
        )
    return name


class ChatPhase(StrEnum):
    """Where the chat stands; stored as its string, so state files keep the words they always had."""

    SESSION = "session"  # a session, no chat asked for yet
    REQUESTED = "requested"  # ChasitorInit sent
    QUEUED = "queued"  # the pod routes the request (ChatRequestSuccess, QueueUpdate)
    ESTABLISHED = "established"  # an agent took it
    ENDED = "ended"  # over: ended by either side, refused, or the pod forgot it


@dataclass
class SessionState:
    """Everything the next step needs: where the pod is, who we are to it, and the counters."""

    pod: str
    api_version: str
    id: str
    key: str
    affinity: str
    client_poll_timeout: int
    created_at: float
    updated_at: float
    ack: int = -1
    sequence: int = 0  # the last X-LIVEAGENT-SEQUENCE used; the next POST sends sequence + 1
    offset: int | None = None
    chat: ChatPhase = ChatPhase.SESSION
    org_id: str = ""
    deployment_id: str = ""
    button_id: str = ""
    visitor_name: str = ""
    agent_name: str = ""
    connection_timeout_ms: int | None = None
    ended_reason: str = ""
    resync_pending: bool = False  # ReconnectSession done, ChasitorSessionData not yet processed
    reconnects: int = 0
    upload_url: str = ""  # from the agent's last FileTransfer Requested
    file_token: str = ""
    menu_type: str = ""  # the last RichMessage menu: its type, items and dialog id
    menu_items: list[str] = field(default_factory=list)
    menu_dialog: str = ""
    sources: dict[str, str] = field(default_factory=dict)  # where pod, ids, ... came from when stored
    messages_sent: int = 0  # ChatMessages the pod confirmed
    pod_chasitor_count: int = -1  # visitor entries in the last ChasitorSessionData; -1: none since the move
    undelivered: list[str] = field(default_factory=list)  # what a `send`'s resync poll got (JSON), acked, unshown
    poll_held_until: float | None = None  # a long poll went out; the pod may hold it until then (epoch seconds)

    def to_toml(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_toml(cls, data: Mapping[str, Any], path: Path) -> SessionState:
        """The state a file holds, or a StateError naming the first value that cannot be trusted."""
        kinds = _field_types()
        for f in fields(cls):
            if f.name not in data:
                if f.default is MISSING and f.default_factory is MISSING:
                    what = "session key" if f.name == "key" else f.name
                    raise StateError(f"state file {path} has no {what}", hint=_RESET_HINT)
                continue
            problem = _problem(f.name, data[f.name], kinds[f.name])
            if problem:
                raise StateError(f"state file {path} is corrupt: {f.name} {problem}", hint=_RESET_HINT)
        kwargs = {k: v for k, v in data.items() if k in kinds}  # keys a later version adds are ignored
        if "chat" in kwargs:
            kwargs["chat"] = ChatPhase(kwargs["chat"])
        return cls(**kwargs)


INT64_MAX = 2**63 - 1  # TOML's integers are 64-bit: a larger count cannot be written back
_FLOORS = {"ack": -1, "pod_chasitor_count": -1}  # -1 means "none yet"; every other integer counts from 0


@functools.cache
def _field_types() -> dict[str, Any]:
    return get_type_hints(SessionState)


def _problem(name: str, value: Any, kind: Any) -> str | None:
    """What is wrong with a stored value for a field of type `kind`, in words; None when it fits."""
    options = get_args(kind)
    if type(None) in options:  # `int | None`: None, or the other type
        if value is None:
            return None
        kind = next(k for k in options if k is not type(None))
    if kind is bool:
        return None if isinstance(value, bool) else f"is {value!r}, not true or false"
    if kind is int:
        if not isinstance(value, int) or isinstance(value, bool):
            return f"is {value!r}, not a whole number"
        floor = _FLOORS.get(name, 0)
        return None if floor <= value <= INT64_MAX else f"is {value}, not between {floor} and 2**63-1"
    if kind is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        return None if ok else f"is {value!r}, not a time"
    if kind is str:
        return None if isinstance(value, str) else f"is {value!r}, not a string"
    if kind is ChatPhase:
        phases = [p.value for p in ChatPhase]
        return None if value in phases else f"is {value!r}, not one of {', '.join(phases)}"
    if get_origin(kind) is list:
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        return None if ok else "is not a list of strings"
    if get_origin(kind) is dict:
        ok = isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
        return None if ok else "is not a table of strings"
    raise TypeError(f"SessionState.{name}: no check for {kind}")  # a new field's type: add its check here


_RESET_HINT = "remove it (the chat is lost) and start again with `liveagent session`"
_GROUP_OR_OTHERS = stat.S_IWGRP | stat.S_IWOTH


def require_posix() -> None:
    """Refuse, in one line, a platform without `fcntl` (Windows): the state's locks need `flock`."""
    if fcntl is None:
        raise ConfigError(
            "liveagent runs on POSIX systems (Linux, macOS): this Python has no fcntl module for its state locks",
            hint="on Windows, run it under WSL",
        )


class StateStore:
    """Reads and writes one named session's state file under a folder, with locks beside it.

    `warn` hears (once) about a folder or file another local user could change: one anybody may write, or one
    that belongs to someone else. Like ssh's checks, but a warning, not a refusal (see `trust_problems`).
    """

    def __init__(self, directory: Path, name: str, *, warn: Callable[[str], None] | None = None) -> None:
        require_posix()
        self.directory = directory
        self.name = check_session_name(name)
        self.path = directory / f"{name}.toml"
        self._warn = warn
        self._trust_checked = False
        self.lock_wait = DEFAULT_LOCK_WAIT  # how long a blocking lock is waited for before WaitTimeoutError
        self.note: Callable[[str], None] | None = None  # hears, once per wait, who holds a lock we wait for

    # -- locking -------------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self, kind: str = "state", *, blocking: bool = True, within: float | None = None) -> Iterator[bool]:
        """Hold an exclusive advisory lock of `kind` (LOCK_KINDS). Yields False (holding nothing) when `blocking`
        is false and another process has it.

        A blocking wait is bounded: `within` seconds, else `lock_wait` (the step's budget); then
        WaitTimeoutError (exit 8) naming the holder. The holder's pid and command line are written into the
        lock file while it holds it, so a waiter can say who it waits for (a note after LOCK_NOTE_AFTER s).

        Once the session's state file is gone (after `end`), the holder removes the lock file before letting go,
        so lock files do not pile up; a process that was waiting on the removed file sees that and locks the
        file now at that path instead (`_locked`). Removing a lock file is safe only so: by its holder, and
        with every taker checking that what it locked is still the file at the path.
        """
        self._ensure_dir()
        lock_path = self.directory / f"{self.name}.{kind}.lock"
        fd = self._locked(lock_path, kind, blocking, self.lock_wait if within is None else within)
        if fd is None:
            yield False
            return
        try:
            yield True
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)  # no longer the holder
            if not self.path.exists():
                with contextlib.suppress(OSError):
                    os.unlink(lock_path)
            os.close(fd)  # closing the descriptor releases the lock

    def _locked(self, lock_path: Path, kind: str, blocking: bool, wait: float) -> int | None:
        """The descriptor of the lock file at `lock_path`, locked and signed; None when `blocking` is false and
        it is held. Tries without blocking, pausing 1 ms doubling to 20 ms, so the wait can end (flock cannot)."""
        started = time.monotonic()
        pause, noted = LOCK_PAUSE_FIRST, False
        while True:
            try:
                fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as exc:
                raise self._unwritable(exc) from None
            try:
                while not _try_flock(fd):
                    if not blocking:
                        os.close(fd)
                        return None
                    waited = time.monotonic() - started
                    if waited >= wait:
                        raise self._lock_timeout(kind, wait, _holder(fd))
                    if not noted and waited >= LOCK_NOTE_AFTER and self.note is not None:
                        noted = True
                        self.note(
                            f"another process is {LOCK_DOING.get(kind, 'using')} session {self.name!r} "
                            f"({_holder_words(_holder(fd))}); waiting up to {wait:.3g} s for it"
                        )
                    time.sleep(min(pause, max(0.0, wait - waited)))
                    pause = min(pause * 2, LOCK_PAUSE_MAX)
                held, now = os.fstat(fd), os.stat(lock_path)
                if (held.st_dev, held.st_ino) == (now.st_dev, now.st_ino):
                    _sign(fd)
                    return fd
            except FileNotFoundError:
                pass  # removed by the holder we waited for: lock the file that is there now
            except BaseException:
                os.close(fd)
                raise
            os.close(fd)

    def holder(self, kind: str) -> str:
        """Who holds the lock of `kind` now, in words ("pid 123: liveagent poll --follow"), as it signed it."""
        try:
            fd = os.open(self.directory / f"{self.name}.{kind}.lock", os.O_RDONLY)
        except OSError:
            return _holder_words("")
        try:
            return _holder_words(_holder(fd))
        finally:
            os.close(fd)

    def _lock_timeout(self, kind: str, wait: float, holder: str) -> WaitTimeoutError:
        pid = holder.split(" ", 1)[0] if holder[:1].isdigit() else "PID"
        return WaitTimeoutError(
            f"gave up after {wait:.3g} s waiting for another process {LOCK_DOING.get(kind, 'using')} session "
            f"{self.name!r} ({_holder_words(holder)})",
            hint=f"it may be stopped (Ctrl-Z) or hung: resume it (`fg`, or `kill -CONT {pid}`) or end it; "
            "LIVEAGENT_NETWORK_TIMEOUT sets how long a step waits",
        )

    # -- reading and writing -----------------------------------------------------------------------------
    def exists(self) -> bool:
        return self.path.exists()

    def load(self) -> SessionState:
        """The stored session, or SessionGoneError when there is none."""
        self._check_trust()
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            raise SessionGoneError(
                f"no session named {self.name!r}" if self.name != "default" else "no session",
                hint="start one with `liveagent session`"
                + (f" --session {self.name}" if self.name != "default" else ""),
            ) from None
        except OSError as exc:
            raise StateError(f"cannot read state file {self.path}: {exc.strerror}") from None
        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError):
            raise StateError(f"state file {self.path} is corrupt (not TOML)", hint=_RESET_HINT) from None
        if data.get("schema") != SCHEMA or not isinstance(data.get("session"), dict):
            raise StateError(
                f"state file {self.path} is not a liveagent state file of schema {SCHEMA}",
                hint=_RESET_HINT,
            )
        return SessionState.from_toml(data["session"], self.path)

    def save(self, state: SessionState) -> None:
        """Atomically replace the file: a reader sees the old state or the new one, never a mix."""
        import tomli_w  # only writers pay for it

        self._ensure_dir()
        self._check_trust()
        state.updated_at = time.time()
        payload = _HEADER + tomli_w.dumps({"schema": SCHEMA, "session": state.to_toml()})
        try:
            atomic_write(self.path, payload.encode("utf-8"))
        except OSError as exc:
            raise self._unwritable(exc) from None

    def update(self, change: Callable[[SessionState], None]) -> SessionState:
        """Read, change and write under the state lock, so concurrent steps never overwrite each other."""
        with self.lock():
            state = self.load()
            change(state)
            self.save(state)
            return state

    def delete(self) -> None:
        """Forget the session: its state file, and the lock files nobody holds (a holder removes its own)."""
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise self._unwritable(exc) from None
        for kind in LOCK_KINDS:
            if (self.directory / f"{self.name}.{kind}.lock").exists():
                with self.lock(kind, blocking=False):
                    pass  # taken: removed on the way out, as the state file is gone
        fsync_dir(self.directory)

    def _unwritable(self, exc: OSError) -> StateError:
        """A lock or state file the folder will not take (read-only, not ours, full): a configuration error."""
        words = exc.strerror or str(exc)
        return StateError(
            f"state folder {self.directory} is not writable: {words[:1].lower()}{words[1:]}",
            hint="point LIVEAGENT_STATE_DIR at a folder you can write",
        )

    def trust_problems(self) -> list[str]:
        """Why another local user could change this session: the folder or the file is writable by anybody, or
        belongs to someone else. They could then point `pod` elsewhere and collect the key with the next step.

        A group-writable folder is not reported: with a per-user group (the usual umask 002) it is harmless.
        """
        problems = []
        me = os.geteuid()
        for path, what, loose in ((self.directory, "folder", stat.S_IWOTH), (self.path, "file", _GROUP_OR_OTHERS)):
            try:
                info = path.stat()
            except OSError:
                continue
            if info.st_uid != me:
                problems.append(f"state {what} {path} belongs to another user (uid {info.st_uid})")
            elif info.st_mode & loose:
                who = "anybody" if info.st_mode & stat.S_IWOTH else "its group"
                fix = "chmod 700" if what == "folder" else "chmod 600"
                problems.append(f"state {what} {path} can be written by {who} ({fix} it)")
        return problems

    def _check_trust(self) -> None:
        if self._trust_checked or self._warn is None:
            return
        self._trust_checked = True
        for problem in self.trust_problems():
            self._warn(f"{problem}: another local user could swap the session and collect its key")

    def _ensure_dir(self) -> None:
        """Create the folder 0700 in one step (never readable by others, not even for a moment); a folder the
        user made already is theirs and is left as it is."""
        if self.directory.is_dir():
            return
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise StateError(f"cannot create state folder {self.directory}: {exc.strerror}") from None

