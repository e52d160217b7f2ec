"""The Enhanced Chat verbs (flows/miaw/) against the sandbox on loopback: a whole conversation, and the
promises of issue 13 item 4 (nothing lost, nothing twice, across processes and faults)."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from liveagent_cli.core.chat_events import ChatEvent
from liveagent_cli.core.errors import ConfigError, NoAgentError, SessionGoneError, WaitTimeoutError
from liveagent_cli.core.miaw import state as records
from liveagent_cli.core.miaw.events import ConversationItem, json_line
from liveagent_cli.core.miaw.state import MiawState
from liveagent_cli.core.output import Output
from liveagent_cli.core.redact import Redactor
from liveagent_cli.core.settings import resolve
from liveagent_cli.core.state import ChatPhase, StateStore
from liveagent_cli.flows.context import Context
from liveagent_cli.flows.miaw import sending, steps, stream
from liveagent_cli.sandbox import Sandbox, SandboxConfig

MakeSandbox = Callable[..., Sandbox]


@pytest.fixture
def make_sandbox() -> Iterator[MakeSandbox]:
    started: list[Sandbox] = []

    def make(**overrides: Any) -> Sandbox:
        settings: dict[str, Any] = {"port": 0, "accept_after": 0.05, "sse_ping": 0.5, **overrides}
        sandbox = Sandbox(SandboxConfig(**settings)).start()
        started.append(sandbox)
        return sandbox

    yield make
    for sandbox in started:
        sandbox.stop()


@pytest.fixture
def sandbox(make_sandbox: MakeSandbox) -> Sandbox:
    return make_sandbox()


class Step:
    """One step's Context (as one process of the CLI would build it), its stderr kept."""

    def __init__(self, sandbox: Sandbox, state_dir: Path, environ: dict[str, str] | None = None) -> None:
        self.stderr = io.StringIO()
        self.stdout = io.StringIO()
        out = Output(
            stdout=self.stdout, stderr=self.stderr, redactor=Redactor(), stdout_isatty=False, stderr_isatty=False
        )
        env = {"LIVEAGENT_NETWORK_TIMEOUT": "20", **(environ or {})}
        flags = {"pod": sandbox.messaging_url, "org_id": sandbox.org_id, "deployment_name": sandbox.deployment_name}
        self.ctx = Context(
            settings=resolve(flags, None, env), store=StateStore(state_dir, "default"), out=out, environ=env
        )


@pytest.fixture
def step(sandbox: Sandbox, tmp_path: Path) -> Callable[..., Step]:
    def make(**environ: str) -> Step:
        return Step(sandbox, tmp_path / "state", environ)

    return make


Printed = list[dict[str, Any]]


def printer(lines: Printed) -> stream.OnItem:
    def show(item: ConversationItem, event: ChatEvent, state: MiawState) -> None:
        lines.append(json_line(item, event))

    return show


def poll(step: Step, lines: Printed | None = None, **options: Any) -> Printed:
    shown: Printed = [] if lines is None else lines
    stream.run_poll(step.ctx, printer(shown), **options)
    return shown


def texts(lines: Printed, kind: str = "message") -> list[str]:
    return [line["text"] for line in lines if line["kind"] == kind]


def opened(step: Callable[..., Step], **init: Any) -> None:
    steps.open_session(step().ctx)
    steps.init_conversation(step().ctx, {}, visitor_name="Ada", **init)
    poll(step(), until=["established"], timeout=10)


def test_a_whole_conversation_one_step_at_a_time(step: Callable[..., Step], sandbox: Sandbox) -> None:
    state = steps.open_session(step().ctx)
    assert state.chat == ChatPhase.SESSION and state.token_expires_at > 0
    steps.init_conversation(step().ctx, {}, visitor_name="Ada")
    established = poll(step(), until=["established"], timeout=10)
    assert established[-1]["kind"] == "established" and established[-1]["type"] == "CONVERSATION_PARTICIPANT_CHANGED"
    sending.send_text(step().ctx, "hello")
    replies = poll(step(), until=["message"], timeout=10)
    assert texts(replies) == ["hello"] and texts(replies, "echo") == ["hello"]
    assert all(line["id"] for line in replies)
    [chat] = [c for c in sandbox.chats() if c.get("id") == records.load(step().ctx.store).conversation_id]
    assert chat["visitorName"] == "Ada"
    _, was_open = steps.end(step().ctx)
    assert was_open and not step().ctx.store.exists()
    with pytest.raises(SessionGoneError, match="no session"):
        sending.send_text(step().ctx, "too late")


def test_the_last_event_id_is_stored_only_after_the_event_was_printed(step: Callable[..., Step]) -> None:
    steps.open_session(step().ctx)
    steps.init_conversation(step().ctx, {})
    first: Printed = []

    def dies_on_the_second(item: ConversationItem, event: ChatEvent, state: MiawState) -> None:
        if first:
            raise KeyboardInterrupt  # the process dies while printing its second event
        first.append(json_line(item, event))

    with pytest.raises(KeyboardInterrupt):
        stream.run_poll(step().ctx, dies_on_the_second, until=["established"], timeout=10)
    stored = records.load(step().ctx.store)
    assert stored.last_event_id == first[0]["id"]
    again = poll(step(), until=["established"], timeout=10)
    assert first[0]["message"] not in [line["message"] for line in again]
    assert again[0]["id"] != first[0]["id"]  # the one that was not printed comes again, first


def test_a_new_poll_resumes_where_the_last_one_stopped(step: Callable[..., Step]) -> None:
    opened(step)
    sending.send_text(step().ctx, "one")
    seen = poll(step(), until=["message"], timeout=10)
    sending.send_text(step().ctx, "two")
    later = poll(step(), until=["message"], timeout=10)
    assert texts(seen) == ["one"] and texts(later) == ["two"]
    assert not {line["id"] for line in seen} & {line["id"] for line in later}


@pytest.mark.parametrize("replay", [True, False], ids=["replay", "no-replay"])
def test_a_stream_cut_after_every_third_event_loses_nothing_and_repeats_nothing(
    make_sandbox: MakeSandbox, tmp_path: Path, replay: bool
) -> None:
    sandbox = make_sandbox(replay=replay, faults=("sse-drop:after=3",))

    def step() -> Step:
        return Step(sandbox, tmp_path / "state")

    opened(step)
    lines: Printed = []
    messages = [f"message {n}" for n in range(10)]
    follower = step()
    done = threading.Event()
    errors: list[BaseException] = []

    def follow() -> None:
        try:
            poll(follower, lines, follow=True, timeout=60)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        done.set()

    thread = threading.Thread(target=follow)
    thread.start()
    for text in messages:
        sending.send_text(step().ctx, text)
        wait_until(lambda t=text: t in texts(lines) or done.is_set())  # type: ignore[misc]
    sandbox.agent_action(records.load(step().ctx.store).conversation_id, "end")
    thread.join(30)
    assert not errors, errors
    assert texts(lines) == messages
    assert texts(lines, "echo") == messages
    ids = [line["message"]["conversationEntry"]["identifier"] for line in lines]
    assert len(ids) == len(set(ids))
    assert lines[-1]["kind"] == "ended"
    if not replay:
        assert any(line.get("recovered") for line in lines)


def wait_until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    import time

    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:  # a bound on the wait, never a verdict on speed
            raise AssertionError("the condition did not come true in time")
        time.sleep(0.01)


def test_a_lost_answer_is_retried_with_the_same_message_id(step: Callable[..., Step], sandbox: Sandbox) -> None:
    opened(step)
    sandbox.add_fault("drop:path=message,times=1")  # processed, its answer lost
    state = sending.send_text(step().ctx, "once only")
    assert state.pending_messages == [] and state.messages_sent == 1
    replies = poll(step(), until=["message"], timeout=10)
    assert texts(replies, "echo") == ["once only"] and texts(replies) == ["once only"]


def test_a_5xx_is_retried_with_the_same_message_id(step: Callable[..., Step], sandbox: Sandbox) -> None:
    opened(step)
    sandbox.add_fault("status:code=503,path=message,times=2")
    sending.send_text(step().ctx, "after two 503s")
    assert texts(poll(step(), until=["message"], timeout=10), "echo") == ["after two 503s"]


def test_429_backs_off_and_sends_once(step: Callable[..., Step], sandbox: Sandbox) -> None:
    opened(step)
    sandbox.add_fault("status:code=429,path=message,times=1")
    one = step()
    sending.send_text(one.ctx, "limited")
    assert "429" in one.stderr.getvalue()
    assert texts(poll(step(), until=["message"], timeout=10), "echo") == ["limited"]


def test_429_asking_longer_than_the_budget_fails_within_it(step: Callable[..., Step], sandbox: Sandbox) -> None:
    from liveagent_cli.core.errors import RateLimitedError

    opened(step)
    with pytest.raises(RateLimitedError) as limited:
        for n in range(30):  # 22 per minute per conversation: the 23rd waits most of a minute
            sending.send_text(step(LIVEAGENT_NETWORK_TIMEOUT="3").ctx, f"m{n}")
    assert "it asks to wait" in limited.value.message and "beyond the step's budget (3 s)" in limited.value.message


def test_417_after_the_agent_ended_starts_a_new_session_with_the_pre_chat_values(
    step: Callable[..., Step], sandbox: Sandbox
) -> None:
    opened(step)
    conversation = records.load(step().ctx.store).conversation_id
    sandbox.agent_action(conversation, "end")
    wait_until(lambda: any(c.get("state") == "ended" for c in sandbox.chats() if c.get("id") == conversation))
    # no poll saw the end: the state still thinks the session is open, so the server's 417 tells
    again = step()
    state = sending.send_text(again.ctx, "are you there?")
    assert "417" in again.stderr.getvalue() and "new messaging session" in again.stderr.getvalue()
    assert state.sessions_started == 2 and state.chat == ChatPhase.REQUESTED
    replies = poll(step(), until=["message"], timeout=10)
    assert texts(replies)[-1] == "are you there?"


def test_after_end_keep_conversation_the_next_send_says_it_starts_a_new_session(step: Callable[..., Step]) -> None:
    opened(step)
    state, was_open = steps.end(step().ctx, keep_conversation=True)
    assert was_open and state.chat == ChatPhase.ENDED and step().ctx.store.exists()
    again = step()
    sending.send_text(again.ctx, "back again")
    assert "starting a new messaging session" in again.stderr.getvalue()
    assert "417" not in again.stderr.getvalue()


def test_an_expired_token_is_exit_6_with_a_hint(step: Callable[..., Step], sandbox: Sandbox) -> None:
    opened(step)
    sandbox.add_fault("expire:path=message,times=1")
    with pytest.raises(SessionGoneError) as gone:
        sending.send_text(step().ctx, "late")
    assert gone.value.code == 6 and "401" in gone.value.message and gone.value.hint


def test_twenty_concurrent_sends_each_reach_the_server_once(step: Callable[..., Step], sandbox: Sandbox) -> None:
    opened(step)
    sandbox.add_fault("drop:path=message,every=4")  # a lost answer now and then: retried, never doubled
    failures: list[BaseException] = []

    def send(n: int) -> None:
        try:
            sending.send_text(step().ctx, f"concurrent {n}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not failures, failures
    state = records.load(step().ctx.store)
    assert state.messages_sent == 20 and state.pending_messages == []
    lines: Printed = []
    wait_until(lambda: len(texts(poll(step(), lines, timeout=2), "echo")) >= 20 or len(texts(lines, "echo")) >= 20)
    assert sorted(texts(lines, "echo")) == sorted(f"concurrent {n}" for n in range(20))


def test_pre_chat_values_are_checked_against_the_form_before_anything_is_created(
    step: Callable[..., Step], sandbox: Sandbox
) -> None:
    steps.open_session(step().ctx)
    with pytest.raises(ConfigError, match="'Favourite_Colour__c' is not in the deployment's pre-chat form") as bad:
        steps.init_conversation(step().ctx, {"Favourite_Colour__c": "blue"})
    assert bad.value.hint and "_firstName" in bad.value.hint
    with pytest.raises(ConfigError, match="at most 40 characters"):
        steps.init_conversation(step().ctx, {}, visitor_name="A" * 41)
    assert records.load(step().ctx.store).conversation_id == ""
    assert not [c for c in sandbox.chats() if c.get("api") == "miaw"]


def test_one_stream_per_session_a_second_poll_waits(step: Callable[..., Step]) -> None:
    opened(step)
    first = step()
    holding = threading.Event()

    def hold(item: ConversationItem, event: ChatEvent, state: MiawState) -> None:
        holding.set()

    def follow() -> None:
        with pytest.raises(WaitTimeoutError):
            stream.run_poll(first.ctx, hold, follow=True, timeout=3)

    thread = threading.Thread(target=follow)
    sending.send_text(step().ctx, "keep it busy")
    thread.start()
    wait_until(holding.is_set)
    second = step()
    with pytest.raises(WaitTimeoutError, match="another process's poll"):
        stream.run_poll(second.ctx, hold, timeout=0.5)
    thread.join(10)


def test_a_busy_deployment_fails_routing_with_exit_7(make_sandbox: MakeSandbox, tmp_path: Path) -> None:
    sandbox = make_sandbox(agent="busy")

    def step() -> Step:
        return Step(sandbox, tmp_path / "state")

    steps.open_session(step().ctx)
    steps.init_conversation(step().ctx, {})
    with pytest.raises(NoAgentError):
        poll(step(), until=["established"], timeout=10)
