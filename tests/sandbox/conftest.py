"""Fixtures for the sandbox pod's own tests: real HTTP on loopback with plain `requests`, never the client.

`shared_sandbox` (one per test session) serves tests that only touch their own chat; `make_sandbox` starts a
fresh pod with any settings, for tests where global state, timing or the agent matters.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from liveagent_cli.sandbox import Sandbox, SandboxConfig
from tests.sandbox.helpers import Control, Visitor


@pytest.fixture(scope="session")
def shared_sandbox() -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(port=0, accept_after=0.05, poll_hold=2)) as sandbox:
        yield sandbox


@pytest.fixture
def make_sandbox() -> Iterator[Callable[..., Sandbox]]:
    """Start a fresh pod with settings of the test's choosing; stopped after the test."""
    started: list[Sandbox] = []

    def make(**overrides: Any) -> Sandbox:
        settings: dict[str, Any] = {"port": 0, "accept_after": 0.05, "poll_hold": 2.0, **overrides}
        sandbox = Sandbox(SandboxConfig(**settings)).start()
        started.append(sandbox)
        return sandbox

    yield make
    for sandbox in started:
        sandbox.stop()


@pytest.fixture
def fresh_sandbox(make_sandbox: Callable[..., Sandbox]) -> Sandbox:
    return make_sandbox()


@pytest.fixture
def visitor_on() -> Iterator[Callable[[Sandbox], Visitor]]:
    opened: list[Visitor] = []

    def make(sandbox: Sandbox) -> Visitor:
        visitor = Visitor(sandbox)
        opened.append(visitor)
        return visitor

    yield make
    for visitor in opened:
        visitor.close()


@pytest.fixture
def visitor(shared_sandbox: Sandbox, visitor_on: Callable[[Sandbox], Visitor]) -> Visitor:
    return visitor_on(shared_sandbox)


@pytest.fixture
def control_on() -> Iterator[Callable[[Sandbox], Control]]:
    opened: list[Control] = []

    def make(sandbox: Sandbox) -> Control:
        control = Control(sandbox)
        opened.append(control)
        return control

    yield make
    for control in opened:
        control.close()


@pytest.fixture
def control(shared_sandbox: Sandbox, control_on: Callable[[Sandbox], Control]) -> Control:
    return control_on(shared_sandbox)
