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
    with pytest.raises(StateError, match=f"is corrupt: {field_name} is "):
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


def _rewrite(store: StateStore, name: str, toml_value: str | None) -> bytes:
    """The stored file with `name = toml_value` (None: the line removed); returns the bytes now on disk."""
    lines = [line for line in store.path.read_text().splitlines() if not line.startswith(f"{name} =")]
    if toml_value is not None:
        lines.insert(lines.index("[session]") + 1, f"{name} = {toml_value}")
    store.path.write_text("\n".join(lines) + "\n")
    return store.path.read_bytes()


def test_a_state_file_without_its_key_says_so(tmp_path: Path) -> None:
    """QA2-38: the error was Python's own `SessionState.__init__() missing 1 required positional argument`."""
    store = StateStore(tmp_path, "default")
    store.save(_state())
    before = _rewrite(store, "key", None)
    with pytest.raises(StateError) as info:
        store.load()
    assert info.value.message == f"state file {store.path} has no session key"
    assert "__init__" not in info.value.message and store.path.read_bytes() == before


@pytest.mark.parametrize(
    ("name", "toml_value", "says"),
    [
        ("sequence", "-5", "sequence is -5, not between 0 and 2**63-1"),
        ("ack", "-2", "ack is -2, not between -1 and 2**63-1"),
        ("ack", str(2**64), f"ack is {2**64}, not between -1 and 2**63-1"),
        ("chat", '"bogus"', "chat is 'bogus', not one of session, requested, queued, established, ended"),
        ("created_at", "nan", "created_at is nan, not a time"),
        ("messages_sent", "-1", "messages_sent is -1, not between 0 and 2**63-1"),
    ],
)
def test_a_value_out_of_range_is_a_corrupt_state_left_untouched(
    tmp_path: Path, name: str, toml_value: str, says: str
) -> None:
    """QA2-30: `sequence = -5` showed `next_sequence -4`, `chat = "bogus"` was shown as a phase."""
    store = StateStore(tmp_path, "default")
    store.save(_state())
    before = _rewrite(store, name, toml_value)
    with pytest.raises(StateError) as info:
        store.load()
    assert info.value.message == f"state file {store.path} is corrupt: {says}"
    assert store.path.read_bytes() == before, "nothing is written over a file that cannot be trusted"


def test_status_refuses_a_corrupt_state_with_exit_3(tmp_path: Path) -> None:
    import os

    from tests.cli import invoke

    store = StateStore(tmp_path / "state", "default")
    store.save(_state())
    before = _rewrite(store, "sequence", "-5")
    for command in ("status", "send", "end"):
        run = invoke(command, *(["hi"] if command == "send" else []), environ=dict(os.environ))
        assert run.code == 3 and run.stderr.startswith(f"error: state file {store.path} is corrupt: sequence"), run
    assert store.path.read_bytes() == before


def test_the_state_folder_is_made_private_in_one_step(tmp_path: Path) -> None:
    import os

    old = os.umask(0o022)
    try:
        store = StateStore(tmp_path / "a" / "state", "default")
        store.save(_state())
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a" / "state").stat().st_mode) == 0o700


def test_a_folder_or_file_others_can_write_is_warned_about(tmp_path: Path) -> None:
    """QA2-31: a world-writable state folder was used silently; another user could swap the file."""
    warnings: list[str] = []
    folder = tmp_path / "state"
    StateStore(folder, "default").save(_state())
    assert StateStore(folder, "default").trust_problems() == []
    folder.chmod(0o777)
    (folder / "default.toml").chmod(0o666)
    store = StateStore(folder, "default", warn=warnings.append)
    store.load()
    store.load()
    assert warnings == [
        f"state folder {folder} can be written by anybody (chmod 700 it): another local user could swap the session "
        "and collect its key",
        f"state file {folder / 'default.toml'} can be written by anybody (chmod 600 it): another local user could "
        "swap the session and collect its key",
    ], "each is said once"
    folder.chmod(0o770)
    assert StateStore(folder, "other").trust_problems() == [], "a group-writable folder (umask 002) is not reported"


def test_a_world_writable_state_folder_is_warned_about_by_the_cli(tmp_path: Path) -> None:
    import os

    from tests.cli import invoke

    folder = tmp_path / "state"
    StateStore(folder, "default").save(_state())
    folder.chmod(0o777)
    run = invoke("status", environ=dict(os.environ))
    assert run.code == 0 and f"warning: state folder {folder} can be written by anybody" in run.stderr


def test_a_platform_without_fcntl_is_refused_in_one_line(tmp_path: Path) -> None:
    """Review 2.3: on Windows `import fcntl` killed every command with a traceback at import."""
    import subprocess
    import sys

    script = (
        "import sys; sys.modules['fcntl'] = None\n"
        "from liveagent_cli.cli.app import run\n"
        "sys.exit(run(sys.argv[1:]))"
    )
    for argv in (["status"], ["send", "hi"], ["session", "--pod", "http://127.0.0.1:9"]):
        proc = subprocess.run([sys.executable, "-c", script, *argv], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 3, (argv, proc.stderr)
        assert proc.stderr.splitlines() == [
            "error: liveagent runs on POSIX systems (Linux, macOS):"
            " this Python has no fcntl module for its state locks",
            "hint: on Windows, run it under WSL",
        ]
    version = subprocess.run([sys.executable, "-c", script, "--version"], capture_output=True, text=True, timeout=60)
    assert version.returncode == 0, "what needs no state still works"


def test_the_package_declares_the_platforms_it_runs_on() -> None:
    import tomllib

    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]
    assert {"Operating System :: POSIX", "Operating System :: MacOS"} <= set(project["classifiers"])


@pytest.mark.process
def test_a_lock_another_process_holds_is_waited_for_within_the_budget_and_names_it(tmp_path: Path) -> None:
    """Review D2: a wait for a lock ends (exit 8), says once whom it waits for, and says so again at the end."""
    import subprocess
    import sys

    from liveagent_cli.core.errors import WaitTimeoutError

    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(tmp_path), "s", "send"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
    store = StateStore(tmp_path, "s")
    notes: list[str] = []
    store.note = notes.append
    try:
        with pytest.raises(WaitTimeoutError) as raised, store.lock("send", within=1.5):
            pass
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=10)
        holder.stdout.close()
    assert f"sending on session 's' (pid {holder.pid}: -c " in raised.value.message
    assert raised.value.hint is not None and f"kill -CONT {holder.pid}" in raised.value.hint
    assert len(notes) == 1 and f"pid {holder.pid}" in notes[0]
    with store.lock("send", within=5) as got:
        assert got, "taken once the holder let go"
        assert (tmp_path / "s.send.lock").read_text().startswith(f"{os.getpid()} "), "signed by its holder"


_HOLDER = """
import sys
from pathlib import Path
from liveagent_cli.core.state import StateStore
with StateStore(Path(sys.argv[1]), sys.argv[2]).lock(sys.argv[3]):
    print("holding", flush=True)
    sys.stdin.read()
"""
