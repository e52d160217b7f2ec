"""The pytest plugin, loaded by its entry point as for users: the fixtures, their isolation between tests, the
options and the marker. Each case is a small test file run by pytest in this process (pytester)."""

from __future__ import annotations

import subprocess
import sys

import pytest
import requests  # noqa: F401  # imported here, so pytester's runs (which drop what they imported) share one copy

import liveagent_cli.sandbox  # noqa: F401
import liveagent_cli.visitor_chat  # noqa: F401

pytest_plugins = ["pytester"]

LEAK_CHECK = """
from liveagent_cli import VisitorChat


def test_one_leaves_a_chat_a_fault_and_an_agent_behind(liveagent_sandbox):
    chat = VisitorChat.to_sandbox(liveagent_sandbox).start()
    chat.wait_for("established")
    liveagent_sandbox.fault("delay:ms=1")
    liveagent_sandbox.set_agent("busy")
    assert len(liveagent_sandbox.chats()) == 1


def test_two_starts_clean(liveagent_sandbox):
    assert liveagent_sandbox.chats() == [] and liveagent_sandbox.faults() == []
    with VisitorChat.to_sandbox(liveagent_sandbox, api="miaw") as chat:
        chat.wait_for("established")  # the echo agent again, not busy
"""


def test_one_server_per_session_reset_before_each_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_leak=LEAK_CHECK)
    pytester.makeconftest(
        """
import pytest

PORTS = set()

@pytest.fixture(autouse=True)
def port(request):
    if "liveagent_sandbox" in request.fixturenames:
        PORTS.add(request.getfixturevalue("liveagent_sandbox").port)
    yield

def pytest_sessionfinish(session):
    print("ports", len(PORTS))
"""
    )
    result = pytester.runpytest("-p", "no:randomly", "-s")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*ports 1*"])


def test_liveagent_api_runs_a_test_once_per_api_chosen(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
import pytest

def test_each(liveagent_sandbox, liveagent_api):
    assert liveagent_sandbox.url_for(liveagent_api).startswith(liveagent_sandbox.url)

@pytest.mark.liveagent(api="miaw")
def test_marked(liveagent_api):
    assert liveagent_api == "miaw"

@pytest.mark.parametrize("liveagent_api", ["liveagent"])
def test_own_choice(liveagent_api):
    assert liveagent_api == "liveagent"
"""
    )
    both = pytester.runpytest("-v")
    both.assert_outcomes(passed=4)
    both.stdout.fnmatch_lines(["*test_each?liveagent? PASSED*", "*test_each?miaw? PASSED*"])
    one = pytester.runpytest("-v", "--liveagent-api", "miaw")
    one.assert_outcomes(passed=3)
    assert "test_each[liveagent]" not in one.stdout.str()
    pytester.makeini("[pytest]\nliveagent_api = liveagent\n")
    ini = pytester.runpytest("-v")
    ini.assert_outcomes(passed=3)
    assert "test_each[miaw]" not in ini.stdout.str()


def test_the_agent_is_chosen_by_option_ini_or_marker(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
import pytest
from liveagent_cli import VisitorChat

def test_default(liveagent_sandbox, pytestconfig):
    with VisitorChat.to_sandbox(liveagent_sandbox):
        assert liveagent_sandbox.chat()["agent"] == (pytestconfig.getoption("liveagent_agent") or "echo")

@pytest.mark.liveagent(agent="manual")
def test_manual(liveagent_sandbox):
    with VisitorChat.to_sandbox(liveagent_sandbox) as chat:
        assert liveagent_sandbox.chat().state == "queued"
        liveagent_sandbox.accept()
        chat.wait_for("established")
        liveagent_sandbox.say("hello, human here")
        assert chat.wait_for("message").text == "hello, human here"

@pytest.mark.liveagent(faults=["status:code=503,path=SessionId"])
def test_marked_fault(liveagent_sandbox):
    import requests
    answer = requests.get(liveagent_sandbox.pod_url + "System/SessionId", timeout=5,
                          headers={"X-LIVEAGENT-API-VERSION": "58", "X-LIVEAGENT-AFFINITY": "null"})
    assert answer.status_code == 503 and liveagent_sandbox.faults()[0]["fired"] == 1
"""
    )
    pytester.runpytest().assert_outcomes(passed=3)
    pytester.runpytest("--liveagent-agent", "busy", "-k", "default or manual").assert_outcomes(passed=2)


def test_the_fault_helper_lasts_one_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
def test_adds(liveagent_sandbox, liveagent_fault):
    fault = liveagent_fault("delay:ms=1")
    with liveagent_sandbox.fault("drop:times=1") as scoped:
        assert scoped.active
    assert not scoped.active and fault.active and len(liveagent_sandbox.faults()) == 1

def test_after(liveagent_sandbox):
    assert liveagent_sandbox.faults() == []
"""
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=2)


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--liveagent-api", "xmpp"], "--liveagent-api: 'xmpp' is not a list of APIs"),
        (["--liveagent-accept-after", "soon"], "--liveagent-accept-after: 'soon' is not a number of seconds"),
        (["--liveagent-agent", "robot"], "liveagent_sandbox: unknown agent"),
    ],
)
def test_a_bad_option_is_refused_in_one_line(pytester: pytest.Pytester, args: list[str], said: str) -> None:
    pytester.makepyfile("def test_it(liveagent_sandbox):\n    pass\n")
    result = pytester.runpytest(*args)
    assert result.ret != 0
    assert said in result.stdout.str() + result.stderr.str()


def test_a_bad_marker_fails_the_test_that_carries_it(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
import pytest

@pytest.mark.liveagent(agnet="manual")
def test_typo(liveagent_sandbox):
    pass

@pytest.mark.liveagent(agent="robot")
def test_unknown(liveagent_sandbox):
    pass

@pytest.mark.liveagent(faults=["503:every=zero"])
def test_bad_fault(liveagent_sandbox):
    pass

def test_fine(liveagent_sandbox):
    pass
"""
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=1, errors=3)
    result.stdout.fnmatch_lines(["*takes only keywords*agnet*", "*unknown agent*", "*every*"])


def test_pytest_starts_without_loading_the_sandbox_or_the_client() -> None:
    """Every pytest run of a project that installed the package loads the plugin: it costs pytest an import of one
    small module, nothing of the sandbox, the client, Typer or Rich until a test asks for a fixture."""
    code = (
        "import sys, pytest\n"
        "pytest.main(['-q', '--co', '-p', 'no:cacheprovider', '-p', 'no:randomly', '--rootdir', '/', '/dev/null'])\n"
        "assert 'liveagent_cli.pytest_plugin' in sys.modules, 'the entry point loaded the plugin'\n"
        "print(sorted(m for m in sys.modules if m.startswith(('liveagent_cli.', 'typer', 'rich', 'requests'))))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[-1] == "['liveagent_cli.pytest_plugin']"
