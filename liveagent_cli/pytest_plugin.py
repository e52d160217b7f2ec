"""The pytest plugin: a Live Agent / Enhanced Chat sandbox for the tests of your own integration.

Installing the package registers it (the `pytest11` entry point `liveagent`); nothing to import or configure.

Fixtures:
  liveagent_sandbox         the `liveagent_cli.Sandbox`: one server per test session (per xdist worker, on a free
                            port), reset before each test (no chat, request or agent setting leaks from one test to
                            the next) and with every fault rule cleared after it
  liveagent_api             the API a test targets, `liveagent` or `miaw`: a test that asks for it runs once per
                            API chosen (--liveagent-api, or the marker's `api`)
  liveagent_fault           `liveagent_fault("503:times=1")`: a fault rule for this test only
  liveagent_sandbox_config  the `SandboxConfig` the server starts with (session scope): override it in a
                            conftest.py for other settings (strict profile, seed, poll hold...)

Options (command line, or the ini key in brackets):
  --liveagent-agent NAME        [liveagent_agent] who answers: echo (default), manual, busy, script:FILE
  --liveagent-accept-after S    [liveagent_accept_after] seconds before the agent accepts (default 0)
  --liveagent-api API,...       [liveagent_api] the APIs `liveagent_api` runs over (default liveagent,miaw)

Marker: `@pytest.mark.liveagent(agent="manual", accept_after=2, api="miaw", faults=["503:times=1"])` sets them
for one test (`api` may be a list).

This module imports only pytest when pytest starts; the sandbox is loaded when a test first asks for it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from liveagent_cli.sandbox import InjectedFault, Sandbox, SandboxConfig

APIS = ("liveagent", "miaw")
MARKER = "liveagent"
MARKER_KEYS = ("agent", "accept_after", "api", "faults")
_HELP = {
    "agent": "who answers in the liveagent sandbox: echo (default), manual, busy, script:FILE",
    "accept_after": "seconds before the liveagent sandbox's agent accepts a chat (default 0)",
    "api": "the APIs the liveagent_api fixture runs tests over: liveagent, miaw, or both (default liveagent,miaw)",
}
_DEFAULTS = {"agent": "echo", "accept_after": "0", "api": ",".join(APIS)}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("liveagent", "Live Agent / Enhanced Chat sandbox (liveagent_sandbox)")
    for name in ("agent", "accept_after", "api"):
        flag = "--liveagent-" + name.replace("_", "-")
        group.addoption(flag, dest=f"liveagent_{name}", default=None, metavar=name.upper(), help=_HELP[name])
        parser.addini(f"liveagent_{name}", _HELP[name], default=_DEFAULTS[name])


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(agent=None, accept_after=None, api=None, faults=()): the liveagent_sandbox's agent, the APIs "
        "liveagent_api runs over, and fault rules, for this test",
    )
    _apis(str(_setting(config, "api")), "--liveagent-api")  # refused at start, not in the middle of a run
    _seconds(_setting(config, "accept_after"), "--liveagent-accept-after")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test that asks for `liveagent_api` runs once per chosen API (the marker's `api`, else the option)."""
    if "liveagent_api" not in metafunc.fixturenames:
        return
    for mark in metafunc.definition.iter_markers("parametrize"):
        names = mark.args[0] if mark.args else ""
        if "liveagent_api" in (names.replace(" ", "").split(",") if isinstance(names, str) else names):
            return  # the test chose its own
    chosen = _marker_value(metafunc.definition, "api")
    if chosen is None:
        apis = _apis(str(_setting(metafunc.config, "api")), "--liveagent-api")
    else:
        apis = _apis(chosen if isinstance(chosen, str) else ",".join(chosen), f"@pytest.mark.{MARKER}(api=...)")
    metafunc.parametrize("liveagent_api", apis, indirect=True, ids=apis)


@pytest.fixture(scope="session")
def liveagent_sandbox_config(pytestconfig: pytest.Config) -> SandboxConfig:
    """The settings the session's sandbox starts with: the agent and accept delay of the options, a free port.
    Override this fixture (session scope) in a conftest.py to change others."""
    from liveagent_cli.sandbox import SandboxConfig

    agent = str(_setting(pytestconfig, "agent"))
    accept_after = _seconds(_setting(pytestconfig, "accept_after"), "--liveagent-accept-after")
    return SandboxConfig(port=0, agent=agent, accept_after=accept_after)


@pytest.fixture(scope="session")
def _liveagent_server(liveagent_sandbox_config: SandboxConfig) -> Iterator[Sandbox]:
    from liveagent_cli.sandbox import Sandbox

    try:
        server = Sandbox(liveagent_sandbox_config)
    except ValueError as exc:
        raise pytest.UsageError(f"liveagent_sandbox: {exc}") from None
    with server:
        yield server


@pytest.fixture
def liveagent_sandbox(_liveagent_server: Sandbox, request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    """The sandbox, serving the Live Agent Chat API (`.pod_url`) and Enhanced Chat (`.messaging_url`) on one port
    (`.url`). Reset before the test; its fault rules are cleared after it."""
    server, config = _liveagent_server, _liveagent_server.config
    server.reset()
    server.clear_faults()
    try:  # a marker's mistake fails its own test, in one line
        agent = _marker_value(request.node, "agent")
        accept_after = _marker_value(request.node, "accept_after")
        server.set_agent(
            config.agent if agent is None else str(agent),
            accept_after=config.accept_after if accept_after is None else _seconds(accept_after, "accept_after"),
        )
        for spec in _marker_value(request.node, "faults") or ():
            server.fault(spec)
    except (ValueError, pytest.UsageError) as exc:
        server.clear_faults()
        pytest.fail(f"@pytest.mark.{MARKER}: {exc}", pytrace=False)
    try:
        yield server
    finally:
        server.clear_faults()


@pytest.fixture
def liveagent_api(request: pytest.FixtureRequest) -> str:
    """`liveagent` or `miaw`: the test runs once for each API chosen (--liveagent-api, or the marker's `api`).
    `liveagent_sandbox.url_for(liveagent_api)` is the URL its client takes."""
    chosen: str = getattr(request, "param", APIS[0])
    return chosen


@pytest.fixture
def liveagent_fault(liveagent_sandbox: Sandbox) -> Iterator[Callable[[str], InjectedFault]]:
    """Add a fault rule (`--fault` syntax: `503:times=1`, `delay:ms=800`, `status:code=500,path=message`...)
    that lasts until the end of this test; returns its handle (`.fired`, `.remove()`)."""
    added: list[InjectedFault] = []

    def add(spec: str) -> InjectedFault:
        fault = liveagent_sandbox.fault(spec)
        added.append(fault)
        return fault

    yield add
    for fault in added:
        fault.remove()


def _setting(config: pytest.Config, name: str) -> Any:
    given = config.getoption(f"liveagent_{name}")
    return given if given is not None else config.getini(f"liveagent_{name}")


def _marker_value(node: Any, key: str) -> Any:
    """The value of `key` on the closest `liveagent` marker that sets it (a test's over its class's or module's)."""
    for mark in node.iter_markers(MARKER):
        unknown = set(mark.kwargs) - set(MARKER_KEYS)
        if mark.args or unknown:
            got = mark.args or sorted(unknown)
            raise pytest.UsageError(f"@pytest.mark.{MARKER} takes only keywords: {', '.join(MARKER_KEYS)} (got {got})")
        if key in mark.kwargs:
            return mark.kwargs[key]
    return None


def _apis(value: str, where: str) -> list[str]:
    chosen = [part.strip() for part in value.split(",") if part.strip()]
    if chosen == ["both"]:
        chosen = list(APIS)
    wrong = [part for part in chosen if part not in APIS]
    if wrong or not chosen:
        raise pytest.UsageError(f"{where}: {value!r} is not a list of APIs; choose from liveagent, miaw, both")
    return list(dict.fromkeys(chosen))


def _seconds(value: Any, where: str) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = -1.0
    if not 0 <= seconds < float("inf") or isinstance(value, bool):
        raise pytest.UsageError(f"{where}: {value!r} is not a number of seconds, 0 or more")
    return seconds
