"""The state store: one TOML file per named session, so separate processes can carry one chat.

Files are 0600 in a 0700 folder and written atomically (temporary file in the same folder, fsync, replace),
so a Ctrl-C or kill -9 never leaves a torn file. Locks are `fcntl.flock` on a side file: the kernel drops
them when a process dies, even by kill -9, and they cost nothing at start-up (the `filelock` package was
measured at ~55 ms of imports here, more than the rest of `liveagent status`). A session's side files go
with it: the holder of a lock removes the file once the state file is gone (see `StateStore.lock`).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import time
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from pathlib import Path
from typing import Any

from liveagent_cli.core.atomic import atomic_write, fsync_dir
from liveagent_cli.core.errors import SessionGoneError, StateError, UsageError

SCHEMA = 1
LOCK_KINDS = ("state", "poll")  # NAME.state.lock: read-change-write of the file; NAME.poll.lock: the long poll
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_HEADER = "# liveagent session state. Holds a live session key: do not share or commit this file.\n"


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

    def to_toml(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_toml(cls, data: Mapping[str, Any], path: Path) -> SessionState:
        known = {f.name: f for f in fields(cls)}
        try:
            kwargs = {k: v for k, v in data.items() if k in known}
            phase = kwargs.get("chat")
            if isinstance(phase, str) and phase in ChatPhase.__members__.values():  # else malformed, below
                kwargs["chat"] = ChatPhase(phase)
            state = cls(**kwargs)
        except TypeError as exc:
            raise StateError(f"state file {path} is incomplete: {exc}", hint=_RESET_HINT) from None
        for f in fields(cls):
            value = getattr(state, f.name)
            if not _fits(value, str(f.type)):
                raise StateError(f"state file {path} has a malformed {f.name}", hint=_RESET_HINT)
        return state


_KINDS: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "list[str]": (list,),
    "dict[str, str]": (dict,),
    "ChatPhase": (ChatPhase,),
}


def _fits(value: Any, annotation: str) -> bool:
    """Does a value read from TOML fit the field's annotation (a string such as `int | None`)?"""
    for part in (p.strip() for p in annotation.split("|")):
        if part == "None":
            if value is None:
                return True
            continue
        if not isinstance(value, _KINDS.get(part, ())) or (isinstance(value, bool) and part != "bool"):
            continue
        if isinstance(value, list) and not all(isinstance(v, str) for v in value):
            continue
        if isinstance(value, dict) and not all(isinstance(v, str) for v in value.values()):
            continue
        return True
    return False


_RESET_HINT = "remove it (the chat is lost) and start again with `liveagent session`"


class StateStore:
    """Reads and writes one named session's state file under a folder, with locks beside it."""

    def __init__(self, directory: Path, name: str) -> None:
        self.directory = directory
        self.name = check_session_name(name)
        self.path = directory / f"{name}.toml"

    # -- locking -------------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self, kind: str = "state", *, blocking: bool = True) -> Iterator[bool]:
        """Hold an exclusive advisory lock; `kind` (LOCK_KINDS) separates the short state lock from the long poll
        lock. Yields False (holding nothing) when `blocking` is false and another process has it.

        Once the session's state file is gone (after `end`), the holder removes the lock file before letting go,
        so lock files do not pile up; a process that was waiting on the removed file sees that and locks the
        file now at that path instead (`_locked`). Removing a lock file is safe only so: by its holder, and
        with every taker checking that what it locked is still the file at the path.
        """
        self._ensure_dir()
        lock_path = self.directory / f"{self.name}.{kind}.lock"
        fd = self._locked(lock_path, blocking)
        if fd is None:
            yield False
            return
        try:
            yield True
        finally:
            if not self.path.exists():
                with contextlib.suppress(OSError):
                    os.unlink(lock_path)
            os.close(fd)  # closing the descriptor releases the lock

    def _locked(self, lock_path: Path, blocking: bool) -> int | None:
        """The descriptor of the lock file at `lock_path`, locked; None when `blocking` is false and it is held."""
        while True:
            try:
                fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as exc:
                raise self._unwritable(exc) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
                held, now = os.fstat(fd), os.stat(lock_path)
                if (held.st_dev, held.st_ino) == (now.st_dev, now.st_ino):
                    return fd
            except BlockingIOError:
                os.close(fd)
                return None
            except FileNotFoundError:
                pass  # removed by the holder we waited for: lock the file that is there now
            except BaseException:
                os.close(fd)
                raise
            os.close(fd)

    # -- reading and writing -----------------------------------------------------------------------------
    def exists(self) -> bool:
        return self.path.exists()

    def load(self) -> SessionState:
        """The stored session, or SessionGoneError when there is none."""
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

    def _ensure_dir(self) -> None:
        """Create the folder 0700; a folder the user made already is theirs and is left as it is."""
        if self.directory.is_dir():
            return
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            os.chmod(self.directory, 0o700)
        except OSError as exc:
            raise StateError(f"cannot create state folder {self.directory}: {exc.strerror}") from None

