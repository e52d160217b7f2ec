"""Fixtures of the Enhanced Chat conformance suite: end users and the control API over plain HTTP.

The sandbox itself comes from tests/sandbox/conftest.py: `shared_sandbox` (default settings, one per worker)
for tests that only touch their own conversation, `make_sandbox(**SandboxConfig fields)` for the rest.
Every end user has an org id of its own, so per-org limits never couple two tests on the shared sandbox.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from liveagent_cli.sandbox import Sandbox
from tests.sandbox.miaw.helpers import Control, EndUser

MakeSandbox = Callable[..., Sandbox]
UserOn = Callable[..., EndUser]
ControlOn = Callable[[Sandbox], Control]
KEY_SEED = 20261201


@pytest.fixture
def make_sandbox(make_sandbox: MakeSandbox) -> MakeSandbox:
    """The parent's `make_sandbox` with a fixed `seed` unless one is given: the sandbox's RSA key for that seed
    is made once per process, not once per test."""

    def make(**overrides: Any) -> Sandbox:
        overrides.setdefault("seed", KEY_SEED)
        return make_sandbox(**overrides)

    return make


@pytest.fixture
def user_on() -> Iterator[UserOn]:
    """`user_on(sandbox, org_id=..., deployment=...)`: a new end user, closed after the test."""
    opened: list[EndUser] = []

    def make(sandbox: Sandbox, **options: str) -> EndUser:
        user = EndUser(sandbox, **options)
        opened.append(user)
        return user

    yield make
    for user in opened:
        user.close()


@pytest.fixture
def user(shared_sandbox: Sandbox, user_on: UserOn) -> EndUser:
    return user_on(shared_sandbox)


@pytest.fixture
def control_on() -> Iterator[ControlOn]:
    opened: list[Control] = []

    def make(sandbox: Sandbox) -> Control:
        control = Control(sandbox)
        opened.append(control)
        return control

    yield make
    for control in opened:
        control.close()


@pytest.fixture
def control(shared_sandbox: Sandbox, control_on: ControlOn) -> Control:
    return control_on(shared_sandbox)
