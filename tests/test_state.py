"""The state store: atomic, private, versioned, and loud about anything it cannot trust."""

import os
import stat
import threading
import time
from pathlib import Path

import pytest

from liveagent_cli.core.errors import SessionGoneError, StateError, UsageError
from liveagent_cli.core.state import SessionState, StateStore
from liveagent_cli.sandbox import Sandbox
from tests.conftest import Cli, wait_until


def _state() -> SessionState:
    now = time.time()
    return SessionState(
        pod="http://127.0.0.1:1/chat/rest/",
        api_version="58",
        id="abc",
        key="abc!123!c2VjcmV0c2VjcmV0",
        affinity="0a1b2c3d",
        client_poll_timeout=40,
        created_at=now,
        updated_at=now,
    )


def test_round_trip_with_private_modes(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state", "default")
    store.save(_state())
    assert stat.S_IMODE((tmp_path / "state").stat().st_mode) == 0o700
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    loaded = store.load()
    assert loaded.key == "abc!123!c2VjcmV0c2VjcmV0" and loaded.ack == -1 and loaded.offset is None
    assert not list((tmp_path / "state").glob("*.tmp")), "no temporary file is left behind"


def test_update_is_read_modify_write(tmp_path: Path) -> None:
    store = StateStore(tmp_path, "s1")
    store.save(_state())
    store.update(lambda s: setattr(s, "sequence", s.sequence + 1))
    store.update(lambda s: setattr(s, "sequence", s.sequence + 1))
    assert store.load().sequence == 2


def test_missing_state_means_no_session(tmp_path: Path) -> None:
    with pytest.raises(SessionGoneError, match="no session"):
        StateStore(tmp_path, "default").load()


@pytest.mark.parametrize(
    "content",
    [
        b"\x00\xff garbage",
        b"schema = 99\n[session]\n",
        b'name = "something else"\n',
        b'schema = 1\n[session]\npod = "x"\n',
        b'schema = 1\n[session]\npod = 1\napi_version = "58"\nid = "a"\n'
        b'key = "k"\naffinity = "a"\nclient_poll_timeout = 40\ncreated_at = 1.0\nupdated_at = 1.0\n',
    ],
)
def test_corrupt_or_foreign_state_is_a_state_error(tmp_path: Path, content: bytes) -> None:
    store = StateStore(tmp_path, "default")
    store.path.write_bytes(content)
    with pytest.raises(StateError):
        store.load()
    assert store.path.read_bytes() == content, "nothing already stored is lost"


@pytest.mark.parametrize("name", ["", "../etc", "a/b", "-x", "x" * 65])
def test_session_names_are_checked(tmp_path: Path, name: str) -> None:
    with pytest.raises(UsageError):
        StateStore(tmp_path, name)


def test_non_blocking_lock_reports_contention(tmp_path: Path) -> None:
    store = StateStore(tmp_path, "default")
    with store.lock("poll") as first:
        assert first
        with store.lock("poll", blocking=False) as second:
            assert second is False
    with store.lock("poll", blocking=False) as again:
        assert again


@pytest.mark.parametrize(
    ("field_name", "bad"),
    [
        ("created_at", '"x"'),
        ("connection_timeout_ms", '"x"'),
        ("menu_items", "[1]"),
        ("resync_pending", "1"),
        ("ack", "true"),
    ],
)
def test_every_field_is_type_checked(tmp_path: Path, field_name: str, bad: str) -> None:
    store = StateStore(tmp_path, "default")
    store.save(_state())
    lines = [line for line in store.path.read_text().splitlines() if not line.startswith(f"{field_name} =")]
    at = lines.index("[session]") + 1
    store.path.write_text("\n".join([*lines[:at], f"{field_name} = {bad}", *lines[at:]]) + "\n")
    with pytest.raises(StateError, match=f"malformed {field_name}"):
        store.load()


def test_a_session_leaves_no_lock_file_behind(cli: Cli, sandbox: Sandbox, tmp_path: Path) -> None:
    """QA2-17: after `end`, the state folder holds nothing of the session, NAME.poll.lock and NAME.state.lock
    included, whichever way it ended."""
    state = tmp_path / "state"
    cli.established()
    assert cli("send", "hi").code == 0 and cli("poll", "--until", "ChatMessage").code == 0
    assert {p.name for p in state.iterdir()} >= {"default.toml", "default.poll.lock", "default.state.lock"}
    assert cli("end").code == 0
    assert list(state.iterdir()) == []
    assert cli("session", "--session", "other").code == 0 and cli("end", "--session", "other").code == 0
    assert list(state.iterdir()) == [], "a session ended before init too"


def test_a_lock_file_held_elsewhere_is_removed_by_its_holder(tmp_path: Path) -> None:
    """`delete` leaves a lock someone holds; the holder removes the file when it lets go."""
    store = StateStore(tmp_path, "s")
    poll_lock = tmp_path / "s.poll.lock"
    with store.lock("poll") as held:
        assert held
        store.delete()
        assert poll_lock.exists(), "never removed under another holder"
    assert not poll_lock.exists()


def _opened(path: Path) -> int:
    """How many descriptors of this process are open on `path` (Linux /proc)."""
    fds = Path("/proc/self/fd")
    return sum(1 for fd in fds.iterdir() if os.path.realpath(fd) == str(path))


def test_a_waiter_on_a_removed_lock_file_takes_the_one_at_the_path(tmp_path: Path) -> None:
    """Removing a lock file is safe only if a process that was waiting on it does not count the removed file
    as the lock: it must lock the file now at the path, so nobody else can take that one too."""
    store = StateStore(tmp_path, "s")
    lock_file = tmp_path / "s.state.lock"
    inside, release = threading.Event(), threading.Event()

    def waiter() -> None:
        with store.lock():
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=waiter)
    with store.lock():  # no state file: this holder removes the lock file as it lets go
        thread.start()
        wait_until(lambda: _opened(lock_file) == 2)  # the waiter has the same file open, and waits on it
    wait_until(inside.is_set)
    try:
        with store.lock(blocking=False) as got:
            assert not got, "the waiter holds the lock file at the path, not the removed one"
        assert lock_file.exists()
    finally:
        release.set()
        thread.join()
    assert not lock_file.exists()
