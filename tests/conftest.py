"""Shared fixtures: an isolated environment for every test, a sandbox pod on loopback, and the real CLI.

`cli` runs each step in this process through `run(argv, env)` (tests/cli.py); in a test marked `process` it
runs the installed console script instead, each step its own process as for users (for state carried between
concurrent processes, locks, signals, kill -9). Either way it checks after every run that no session key the
sandbox ever issued appears in what it printed, nor any access token it minted or identity token a test made.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pytest

from liveagent_cli.sandbox import BUTTON_ID, DEPLOYMENT_ID, ORG_ID, Sandbox, SandboxConfig
from tests.cli import Run, check_in_process, invoke

LIVEAGENT = str(Path(sys.executable).with_name("liveagent"))

# Every byte the CLI printed during the run, and every secret: each session key and Enhanced Chat access token a
# sandbox issued (gathered after every run, so a later reset cannot hide one) and each identity token a test
# handed the CLI (`secret`). Checked at the end.
EVERY_OUTPUT: list[str] = []
EVERY_KEY: set[str] = set()


def secret(value: str) -> str:
    """A secret a test gives the CLI (an identity token), registered for the run-wide leak check."""
    EVERY_KEY.add(value)
    return value


def fragments(key: str) -> list[str]:
    """What of a secret must never be printed, the least that gives it away: a session key's secret part
    (`id!time!secret`), a JWT's claims and signature (its header is the same for many tokens and no secret)."""
    if key.count(".") == 2:
        return [part for part in key.split(".")[1:] if part]
    return [key.split("!")[-1]]


def leaks(keys: Iterable[str], outputs: Iterable[str]) -> set[str]:
    """The secrets of which some fragment appears in the outputs."""
    printed = "\n".join(set(outputs))
    return {key for key in keys if any(part in printed for part in fragments(key))}


@pytest.fixture(scope="session", autouse=True)
def no_session_key_ever_printed() -> Iterator[None]:
    """Fails the run if any secret of any test appears in anything the CLI printed in any test."""
    yield
    found = leaks(EVERY_KEY, EVERY_OUTPUT)
    assert not found, f"{len(found)} secret(s) (session keys, access or identity tokens) appeared in the CLI's output"


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test sees the developer's config, state or colour settings."""
    for name in list(os.environ):
        if name.startswith("LIVEAGENT_") or name in ("FORCE_COLOR", "XDG_STATE_HOME", "XDG_CONFIG_HOME"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("LIVEAGENT_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("LIVEAGENT_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("NO_COLOR", "1")
    return tmp_path


@pytest.fixture
def sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    """A fresh sandbox pod per test: quick to accept, short poll hold. Parametrized indirectly (`PROFILES`),
    "strict" is the least forgiving pod where the reference is unsure (review D1); a dict sets other fields."""
    param = getattr(request, "param", "forgiving")
    overrides = {"strict": param == "strict"} if isinstance(param, str) else dict(param)
    with Sandbox(SandboxConfig(**{"port": 0, "accept_after": 0.05, "poll_hold": 2.0, **overrides})) as pod:
        yield pod


# the client's promise holds against the usual sandbox and against its strict profile
PROFILES = pytest.mark.parametrize("sandbox", ["forgiving", "strict"], indirect=True)


class Cli:
    """Runs `liveagent` as a separate process pointed at the sandbox, and guards against leaked keys."""

    def __init__(self, sandbox: Sandbox | None) -> None:
        self.sandbox = sandbox
        self.outputs: list[str] = []
        self.cleanups: list[Callable[[], None]] = []  # run by the `cli` fixture when the test ends (stop_all)

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        if self.sandbox is not None:
            env.update(
                LIVEAGENT_POD=self.sandbox.pod_url,
                LIVEAGENT_ORG_ID=ORG_ID,
                LIVEAGENT_DEPLOYMENT_ID=DEPLOYMENT_ID,
                LIVEAGENT_BUTTON_ID=BUTTON_ID,
            )
        env.update(extra)
        return env

    def __call__(self, *args: str, input: str | bytes | None = None, timeout: float = 60, **env: str) -> Run:
        data = input.encode() if isinstance(input, str) else input
        proc = subprocess.run([LIVEAGENT, *args], input=data, capture_output=True, timeout=timeout, env=self.env(**env))
        run = Run(proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace"))
        return self.record(run, args)

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        """`liveagent ARGS` in the background, stdout and stderr piped; killed if it still runs, and its pipes
        closed, when the test ends, failed or not."""
        proc = subprocess.Popen([LIVEAGENT, *args], env=self.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.cleanups.append(lambda: reap(proc))
        return proc

    def stop_all(self) -> None:
        """What a test left running goes now: its pipes, collected in a later test, would fail that one
        (PytestUnraisableExceptionWarning: unclosed file)."""
        while self.cleanups:
            self.cleanups.pop()()

    def record(self, run: Run, args: tuple[str, ...]) -> Run:
        """Keep what a run printed for the leak checks (a --show-secrets run may print the key)."""
        if "--show-secrets" not in args:
            self.outputs.append(run.stdout + run.stderr)
            EVERY_OUTPUT.append(run.stdout + run.stderr)
        if self.sandbox is not None:
            EVERY_KEY.update(self.sandbox.issued_keys())
        return run

    def established(self, *init: str) -> None:
        """session, init and wait for the agent, each as its own process."""
        assert self("session").code == 0
        run = self("init", *init)
        assert run.code == 0, run.stderr
        assert self("poll", "--until", "ChatEstablished").code == 0

    def leaked(self) -> list[str]:
        keys = self.sandbox.issued_keys() if self.sandbox is not None else []
        return sorted(leaks(keys, self.outputs))


class InProcessCli(Cli):
    """The same steps through `run(argv, env)` in this process (tests/cli.py), with the same environment."""

    def __call__(self, *args: str, input: str | bytes | None = None, timeout: float = 60, **env: str) -> Run:
        check_in_process(env)
        return self.record(invoke(*args, environ=self.env(**env), stdin=input, timeout=timeout), args)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "process: `cli` runs every step as its own process (the console script)")


@pytest.fixture
def cli(sandbox: Sandbox, request: pytest.FixtureRequest) -> Iterator[Cli]:
    runner = Cli(sandbox) if request.node.get_closest_marker("process") else InProcessCli(sandbox)
    yield runner
    runner.stop_all()
    EVERY_KEY.update(sandbox.issued_keys())
    assert runner.leaked() == [], "a session key appeared in the CLI's output"


def reap(proc: subprocess.Popen[bytes]) -> None:
    """Kill `proc` if it still runs, wait for it, close its pipes."""
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=30)
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait for an observable event (a held poll, a queued message); fails the test if it never happens."""
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError("the awaited condition never came true")
        time.sleep(0.01)
