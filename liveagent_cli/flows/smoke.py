"""`smoke`: the CI check. Availability, session, init, wait for an agent, send a probe, optionally expect a
reply, end; each step timed, the first failure decides the exit code, later steps are reported as skipped.

The steps drive the verbs (`ChatApi`, flows/verbs.py), so one smoke checks either API: Live Agent
(Visitor/Availability, a session, ChasitorInit, ...) or Enhanced Chat (the deployment's business hours, an
access token, a conversation, the event stream, ...), with the same steps, report and exit codes.

The chat lives in a state folder of the smoke's own (unless `--session` names a slot), removed at the end,
so a run leaves nothing behind in the user's state folder, lock files included. After a failure the `end`
step still runs when this run opened a session: the chat it asked for is ended, and the report says so.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from liveagent_cli.core.chat_events import EventKind
from liveagent_cli.core.errors import (
    ApiError,
    ConfigError,
    LiveAgentError,
    NetworkError,
    NoAgentError,
    StateError,
    UsageError,
    WaitTimeoutError,
)
from liveagent_cli.core.state import StateStore
from liveagent_cli.flows.context import Context
from liveagent_cli.flows.verbs import ChatApi, IdentityToken, InitOptions, Shown

SLOT = "smoke"  # the session's name inside the smoke's own state folder


@dataclass
class SmokeOptions:
    probe: str
    expect: str | None = None
    accept_timeout: float = 120.0
    reply_timeout: float = 30.0
    init: InitOptions = field(default_factory=lambda: InitOptions({}))
    check_availability: bool = True
    identity: IdentityToken | None = None  # Enhanced Chat: a verified user's session instead of a guest's


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

    @property
    def infrastructure(self) -> bool:
        """The step could not be tried (pod unreachable, an answer the API does not send), as opposed to a
        check that ran and failed (no agent, no reply in time): JUnit's <error> against <failure>."""
        return isinstance(self.error, (NetworkError, ApiError))


@dataclass
class SmokeRun:
    """What the steps share: the API, where the chat lives, the options, and everything the polls printed."""

    api: ChatApi
    ctx: Context
    options: SmokeOptions
    pattern: re.Pattern[str] | None
    seen: list[Shown] = field(default_factory=list)
    opened: bool = False  # this run stored a session: `end` runs even after a failure

    def collect(self, shown: Shown) -> None:
        self.seen.append(shown)

    def poll(self, until: str, timeout: float) -> None:
        self.api.poll(self.ctx, self.collect, follow=False, until=[until], timeout=timeout)


# -- the steps, in order: each returns its one-line detail or raises ------------------------------------------
def _availability(run: SmokeRun) -> str:
    result = run.api.availability(run.ctx, [])
    if not result.available:
        raise NoAgentError(result.refusal)
    return "; ".join(" ".join(line.split()) for line in result.lines) or "available"


def _session(run: SmokeRun) -> str:
    done = run.api.open_session(run.ctx, replace=False, identity=run.options.identity)
    run.opened = True
    return done.summary


def _init(run: SmokeRun) -> str:
    return run.api.init(run.ctx, run.options.init).summary


def _agent(run: SmokeRun) -> str:
    run.poll(str(EventKind.ESTABLISHED), run.options.accept_timeout)
    names = [s.event.agent for s in run.seen if s.event.kind is EventKind.ESTABLISHED]
    return f"{names[-1] if names and names[-1] else 'an agent'} accepted"


def _probe(run: SmokeRun) -> str:
    return run.api.send(run.ctx, run.options.probe).summary


def _reply(run: SmokeRun) -> str:
    """Poll until an agent message matches --expect; messages that arrived earlier count too."""
    assert run.pattern is not None
    timed_out = WaitTimeoutError(f"no reply matching {run.options.expect!r} within {run.options.reply_timeout:g} s")
    deadline = time.monotonic() + run.options.reply_timeout
    start = 0
    while True:
        for shown in run.seen[start:]:
            if shown.event.kind is EventKind.MESSAGE and run.pattern.search(shown.event.text):
                return f"reply {shown.event.text!r} matches"
        start = len(run.seen)
        left = deadline - time.monotonic()
        if left <= 0:
            raise timed_out
        try:
            run.poll(str(EventKind.MESSAGE), left)
        except WaitTimeoutError:
            raise timed_out from None


def _end(run: SmokeRun) -> str:
    return run.api.end(run.ctx, reason="client", local=False, keep_conversation=False).summary


Step = Callable[[SmokeRun], str]
PLAN: tuple[tuple[str, Step], ...] = (
    ("availability", _availability),
    ("session", _session),
    ("init", _init),
    ("agent", _agent),
    ("probe", _probe),
    ("reply", _reply),
    ("end", _end),
)
STEPS = tuple(name for name, _ in PLAN)


def planned(options: SmokeOptions) -> list[tuple[str, Step]]:
    """The steps this run takes: availability unless skipped, reply only with --expect."""
    left_out = {"availability"} if not options.check_availability else set()
    if options.expect is None:
        left_out.add("reply")
    return [(name, step) for name, step in PLAN if name not in left_out]


# -- the run ---------------------------------------------------------------------------------------------------
def run_smoke(
    ctx: Context, api: ChatApi, options: SmokeOptions, on_step: Callable[[StepResult], None]
) -> list[StepResult]:
    """Run the steps in order against `api`; never raises for a failed step (the results say), only for bad
    options."""
    pattern = _compile(options.expect)
    with own_slot(ctx) as slot:
        run = SmokeRun(api, slot, options, pattern)
        results: list[StepResult] = []
        try:
            for name, step in planned(options):
                result = _take(name, step, run, after_failure=any(r.status == "failed" for r in results))
                results.append(result)
                on_step(result)
        finally:
            _forget(run)
    return results


def _take(name: str, step: Step, run: SmokeRun, *, after_failure: bool) -> StepResult:
    """Run one step and time it; after a failure only `end` runs, and only for a session this run opened."""
    cleaning_up = after_failure and name == "end" and run.opened and run.ctx.store.exists()
    if after_failure and not cleaning_up:
        return StepResult(name, "skipped", detail="not run: an earlier step failed")
    started = time.monotonic()
    try:
        detail = step(run)
        result = StepResult(name, "passed", detail=f"{detail} (after the failure)" if cleaning_up else detail)
    except LiveAgentError as exc:
        result = StepResult(name, "failed", detail=exc.message, error=exc)
    result.seconds = time.monotonic() - started
    return result


def _forget(run: SmokeRun) -> None:
    """A chat this run opened and could not end is forgotten all the same: nothing is left behind."""
    if run.opened and run.ctx.store.exists():
        run.ctx.store.delete()


@contextlib.contextmanager
def own_slot(ctx: Context) -> Iterator[Context]:
    """The Context the smoke's chat uses: the named slot when --session was given (the user chose it), else a
    private state folder made for this run and removed afterwards (no other process knows it, so its lock files
    go with it)."""
    if ctx.session_named:
        yield ctx
        return
    try:
        folder = Path(tempfile.mkdtemp(prefix="liveagent-smoke-", dir=ctx.environ.get("TMPDIR") or None))
    except OSError as exc:
        raise StateError(f"cannot make a state folder for the smoke: {exc.strerror}") from None
    slot = dataclasses.replace(ctx, store=StateStore(folder, SLOT), _http=None)
    try:
        yield slot
    finally:
        slot.close()
        shutil.rmtree(folder, ignore_errors=True)


def _compile(expect: str | None) -> re.Pattern[str] | None:
    try:
        return re.compile(expect) if expect else None
    except re.error as exc:
        raise UsageError(f"--expect is not a valid regular expression: {exc}") from None


# -- the JUnit report ------------------------------------------------------------------------------------------
def report_target(ctx: Context, api: ChatApi) -> str:
    """The pod the report names: the URL the steps talk to (normalised by the API's rules: a Chat API endpoint
    or a Messaging URL), else the setting as given."""
    from liveagent_cli.flows.verbs import MIAW

    raw = str(ctx.settings.get("pod") or "")
    try:
        return str(ctx.settings.require("pod_messaging" if api.name == MIAW else "pod")) if raw else ""
    except ConfigError:
        return raw


def check_report_path(path: Path) -> None:
    """Refuse a --junit path that cannot be written, before anything is sent (a file made here is removed)."""
    existed = path.exists()
    try:
        with open(path, "a", encoding="utf-8"):
            pass
    except OSError as exc:
        raise UsageError(f"cannot write the JUnit report {path}: {exc.strerror}") from None
    if not existed:
        with contextlib.suppress(OSError):
            path.unlink()


def write_junit(path: Path, results: list[StepResult], target: str, api: str = "") -> None:
    """One testcase per step: a check that failed is <failure>, one that could not be tried <error>, steps not
    run <skipped>; the properties name the pod and the API."""
    from junitparser import Error, Failure, JUnitXml, Skipped, TestCase, TestSuite

    suite = TestSuite("liveagent smoke")
    suite.add_property("pod", target)
    if api:
        suite.add_property("api", api)
    for result in results:
        case = TestCase(result.name, classname="liveagent.smoke", time=round(result.seconds, 3))
        if result.status == "failed":
            kind = type(result.error).__name__ if result.error else "Failure"
            case.result = [(Error if result.infrastructure else Failure)(result.detail, kind)]
        elif result.status == "skipped":
            case.result = [Skipped(result.detail)]
        suite.add_testcase(case)
    document = JUnitXml()
    document.add_testsuite(suite)
    try:
        document.write(str(path), pretty=True)
    except OSError as exc:
        raise UsageError(f"cannot write the JUnit report {path}: {exc.strerror}") from None
