"""The state store: atomic, private, versioned, and loud about anything it cannot trust."""

import stat
import time
from pathlib import Path

import pytest

from liveagent_cli.core.errors import SessionGoneError, StateError, UsageError
from liveagent_cli.core.state import SessionState, StateStore


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
