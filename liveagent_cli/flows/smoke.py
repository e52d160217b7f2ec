"""`smoke`: the CI check. Availability, session, init, wait for an agent, send a probe, optionally expect a
reply, end; each step timed, the first failure decides the exit code, later steps are reported as skipped.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from liveagent_cli.core.errors import LiveAgentError, NoAgentError, UsageError, WaitTimeoutError
from liveagent_cli.core.events import EventKind
from liveagent_cli.core.messages import MessageType, interpret
from liveagent_cli.core.render import wait_phrase
from liveagent_cli.flows.context import Context


@dataclass
class SmokeOptions:
    probe: str
    expect: str | None = None
    accept_timeout: float = 120.0
    reply_timeout: float = 30.0
    init: dict[str, Any] = field(default_factory=dict)
    check_availability: bool = True


@dataclass
class StepResult:
    name: str
    status: str  # passed, failed, skipped
    seconds: float = 0.0
    detail: str = ""
    error: LiveAgentError | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"step": self.name, "status": self.status, "seconds": round(self.seconds, 3)}
        if self.detail:
            out["detail"] = self.detail
        if self.error is not None:
            out["exit_code"] = int(self.error.code)
        return out


STEPS = ("availability", "session", "init", "agent", "probe", "reply", "end")


def run_smoke(ctx: Context, options: SmokeOptions, on_step: Callable[[StepResult], None]) -> list[StepResult]:
    """Run the steps in order; never raises for a failed step (the results say), only for bad options."""
    from liveagent_cli.flows import poll, steps, visitor_resources

    try:
        pattern = re.compile(options.expect) if options.expect else None
    except re.error as exc:
        raise UsageError(f"--expect is not a valid regular expression: {exc}") from None
    seen: list[dict[str, Any]] = []

    def collect(item: dict[str, Any], _state: Any) -> None:
        seen.append(item)

    def availability() -> str:
        result = visitor_resources.availability(ctx, [])
        if not result.available:
            raise NoAgentError("no agent is online for the button")
        return "available" + wait_phrase(result.estimated_wait)

    def session() -> str:
        return f"session {steps.open_session(ctx).id}"

    def init() -> str:
        state = steps.init_chat(ctx, options.init)
        return f"ChasitorInit sent (sequence {state.sequence})"

    def agent() -> str:
        poll.run_poll(ctx, collect, until=[MessageType.CHAT_ESTABLISHED], timeout=options.accept_timeout)
        names = [e.agent for e in map(interpret, seen) if e.kind is EventKind.ESTABLISHED]
        return f"{names[-1] if names and names[-1] else 'an agent'} accepted"

    def probe() -> str:
        steps.send_text(ctx, options.probe)
        return f"sent {options.probe!r}"

    def reply() -> str:
        assert pattern is not None
        deadline = time.monotonic() + options.reply_timeout
        start = len(seen)
        while True:
            for event in map(interpret, seen[start:]):
                if event.kind is EventKind.MESSAGE and pattern.search(event.text):
                    return f"reply {event.text!r} matches"
            start = len(seen)
            left = deadline - time.monotonic()
            if left <= 0:
                raise WaitTimeoutError(f"no reply matching {options.expect!r} within {options.reply_timeout:g} s")
            try:
                poll.run_poll(ctx, collect, until=[MessageType.CHAT_MESSAGE], timeout=left)
            except WaitTimeoutError:
                raise WaitTimeoutError(
                    f"no reply matching {options.expect!r} within {options.reply_timeout:g} s"
                ) from None

    def end() -> str:
        _, was_open = steps.end_chat(ctx, "client")
        return "ChatEnd sent" if was_open else "the chat had already ended"

    plan: list[tuple[str, Callable[[], str]]] = [
        ("availability", availability),
        ("session", session),
        ("init", init),
        ("agent", agent),
        ("probe", probe),
        ("reply", reply),
        ("end", end),
    ]
    if not options.check_availability:
        plan = plan[1:]
    if pattern is None:
        plan = [p for p in plan if p[0] != "reply"]
    results: list[StepResult] = []
    failed = False
    for name, step in plan:
        if failed:
            result = StepResult(name, "skipped", detail="not run: an earlier step failed")
        else:
            started = time.monotonic()
            try:
                result = StepResult(name, "passed", detail=step())
            except LiveAgentError as exc:
                result = StepResult(name, "failed", detail=exc.message, error=exc)
                failed = True
            result.seconds = time.monotonic() - started
        results.append(result)
        on_step(result)
    opened = any(r.name == "session" and r.status == "passed" for r in results)
    if failed and opened and ctx.store.exists():  # leave nothing behind: end the chat this run opened
        try:
            steps.end_chat(ctx, "client")
        except LiveAgentError:
            ctx.store.delete()
    return results


def write_junit(path: Path, results: list[StepResult], target: str) -> None:
    """One testcase per step, the failure's reason in <failure>, steps not run as <skipped>."""
    from junitparser import Failure, JUnitXml, Skipped, TestCase, TestSuite

    suite = TestSuite("liveagent smoke")
    suite.add_property("pod", target)
    for result in results:
        case = TestCase(result.name, classname="liveagent.smoke", time=round(result.seconds, 3))
        if result.status == "failed":
            kind = type(result.error).__name__ if result.error else "Failure"
            case.result = [Failure(result.detail, kind)]
        elif result.status == "skipped":
            case.result = [Skipped(result.detail)]
        suite.add_testcase(case)
    document = JUnitXml()
    document.add_testsuite(suite)
    try:
        document.write(str(path), pretty=True)
    except OSError as exc:
        raise UsageError(f"cannot write the JUnit report {path}: {exc.strerror}") from None
