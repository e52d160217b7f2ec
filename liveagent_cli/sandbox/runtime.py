"""Running the sandbox: in a background thread (`Sandbox`: tests, `sandbox exec`) or in the foreground
(`serve_forever`: `sandbox serve`). Both run the same `_Runtime` on one event loop, so every chat, long poll
and timer shares one thread and nothing blocks.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import gc
import ipaddress
import logging
import math
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import urlsplit

from liveagent_cli import __version__
from liveagent_cli.sandbox.agents.behaviours import agent_spec
from liveagent_cli.sandbox.control.routes import ControlAPI, LiveAgentDirectory, all_chats, perform_agent_action
from liveagent_cli.sandbox.defaults import (
    BUTTON_ID,
    CHAT_API_PREFIX,
    CONTROL_PREFIX,
    DEFAULT_CONNECTION_TIMEOUT,
    DEPLOYMENT_ID,
    DEPLOYMENT_NAME,
    ORG_ID,
    SECOND_POD_PREFIX,
    UPLOAD_MAX_BODY,
    UPLOAD_PREFIX,
)
from liveagent_cli.sandbox.faults import FaultRule, Faults, parse_fault
from liveagent_cli.sandbox.gateway import Gateway, segments_below
from liveagent_cli.sandbox.http.server import DEFAULT_MAX_BODY, HTTPServer, Request, Response, error_response
from liveagent_cli.sandbox.keys import redact_path, redact_text
from liveagent_cli.sandbox.liveagent.agentchat import LiveAgentChat
from liveagent_cli.sandbox.liveagent.pod import BREADCRUMB_KEY_CHOICES, PROFILES, Pod, PodSettings
from liveagent_cli.sandbox.miaw.agentchat import MiawAgentChat
from liveagent_cli.sandbox.miaw.directory import MiawDirectory
from liveagent_cli.sandbox.miaw.messaging import Messaging
from liveagent_cli.sandbox.miaw.profiles import PROFILES as MIAW_PROFILES
from liveagent_cli.sandbox.miaw.profiles import MiawSettings
from liveagent_cli.sandbox.miaw.restapi import MiawAPI
from liveagent_cli.sandbox.model.directory import ChatDirectory
from liveagent_cli.sandbox.model.refusals import BadRequest
from liveagent_cli.sandbox.wirelog import WireLog

log = logging.getLogger("liveagent_cli.sandbox")

_T = TypeVar("_T")
GC_THRESHOLDS = (5000, 20, 100)  # `sandbox serve` only: the process is the sandbox's alone
# Enhanced Chat's paths (miaw/restapi.py): its REST API, its event stream, its deployment configuration
MIAW_PREFIXES = ("/iamessage/", "/eventrouter/", "/embeddedservice/")
_MULTIPART_SLACK = 64 * 1024


def is_loopback(host: str) -> bool:
    """Loopback addresses and `localhost`; any other name counts as remote (it may resolve anywhere)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class SandboxConfig:
    host: str = "127.0.0.1"
    port: int = 0  # 0 picks a free port
    agent: str = "echo"  # echo, manual, busy, script:FILE
    accept_after: float = 1.0  # seconds before the echo agent accepts
    poll_hold: float = 30.0  # seconds an idle long poll is held before 204
    # the clientPollTimeout SessionId hands out (None: the hold rounded up, plus 10, as a real pod's 40 to its
    # 30): how long a client waits out a poll it cut off; tests of that wait make it short
    client_poll_timeout: int | None = None
    allow_remote: bool = False  # the sandbox has no authentication: loopback unless asked
    seed: int | None = None  # makes ids, keys, tokens and `p=` faults reproducible
    connection_timeout: float = DEFAULT_CONNECTION_TIMEOUT  # seconds without polls before a session expires
    max_body: int = DEFAULT_MAX_BODY  # request bodies over this many bytes get 413 (uploads: 25 MiB)
    faults: tuple[str, ...] = ()  # fault specs, KIND[:key=value,...]
    log_file: str | None = None  # one JSON line per exchange, keys redacted
    public_url: str | None = None  # the sandbox's URL as clients reach it (behind a proxy): the URLs it hands out
    # Where the reference is unsure how a pod behaves: `strict` takes the least forgiving choice of each
    # (liveagent/pod.py PROFILES); a knob given here (not None) overrides the profile's choice.
    strict: bool = False
    redeliver: bool | None = None  # re-send un-acked messages until acked (forgiving: yes, strict: no)
    duplicate_grace: float | None = None  # seconds to notice a held poll's client left (0.05; strict: 0, never)
    breadcrumb_key: str | None = None  # a Breadcrumb's session key: "record" on that chat, or "ignore" (strict)
    # Enhanced Chat (miaw/profiles.py): the ids it accepts (None: any well-formed ones), its timings, and its
    # choices where the reference is unsure (None: the profile's; `--strict` takes the least forgiving)
    org_id: str | None = None
    deployment_name: str | None = None
    token_ttl: float = 7200.0  # seconds an access token lives
    sse_ping: float = 15.0  # seconds between two `event:ping`
    rate_limits: bool = True  # the Help page's limits; off for load tests
    replay: bool | None = None  # replay what came after Last-Event-Id (forgiving: yes, strict: no)
    second_stream: str | None = None  # a subject's second stream: "replace" the first (forgiving), "refuse" (409)
    last_event_id: str | None = None  # a missing or malformed Last-Event-Id: "lenient" (ignored), "strict" (400)
    retry_after: bool | None = None  # a 429 says when to try again (forgiving: yes, strict: no)
    ping_data: str = "zero"  # `event:ping` data: "zero" or "counter"
    entry_payload: str = "object"  # entryPayload in REST entries: "object" or "string"
    org_id_18: bool = False  # X-Org-Id may be the 18-character org id too
    identity_failure: str = "guest"  # an identity token that does not verify: "guest" token or "reject" (401)
    agent_receipts: bool = True  # the agent acknowledges each message: delivered on arrival, read on reply

    @property
    def profile(self) -> str:
        return "strict" if self.strict else "forgiving"

    def miaw_settings(self) -> MiawSettings:
        """Enhanced Chat's settings: the profile's choices with the knobs given here applied."""
        chosen = dict(MIAW_PROFILES[self.profile])
        for name in chosen:
            value = getattr(self, name)
            if value is not None:
                chosen[name] = value
        return MiawSettings(
            org_id=self.org_id,
            deployment_name=self.deployment_name,
            token_ttl=self.token_ttl,
            sse_ping=self.sse_ping,
            rate_limits=self.rate_limits,
            ping_data=self.ping_data,
            entry_payload=self.entry_payload,
            org_id_18=self.org_id_18,
            identity_failure=self.identity_failure,
            agent_receipts=self.agent_receipts,
            **chosen,
        )

    def choices(self) -> dict[str, Any]:
        """The profile's choices with the knobs given here applied: redeliver, duplicate_grace, breadcrumb_key."""
        chosen = dict(PROFILES[self.profile])
        for name in chosen:
            value = getattr(self, name)
            if value is not None:
                chosen[name] = value
        return chosen

    def validate(self) -> None:
        """ValueError with a message fit for a user; the CLI turns it into a usage or configuration error."""
        if not self.host:
            raise ValueError("the sandbox needs a host to bind")
        if not self.allow_remote and not is_loopback(self.host):
            raise ValueError(
                f"refusing to bind {self.host}: not a loopback address, and the sandbox has no authentication"
            )
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port {self.port} is out of range (0-65535)")
        for name in ("accept_after", "poll_hold"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number of seconds, 0 or more")
        given = self.client_poll_timeout
        if given is not None and (isinstance(given, bool) or not isinstance(given, int) or given < self.poll_hold):
            raise ValueError("client_poll_timeout must be a whole number of seconds, no less than poll_hold")
        if not math.isfinite(self.connection_timeout) or self.connection_timeout <= 0:
            raise ValueError("connection_timeout must be a positive number of seconds")
        if self.max_body < 0:
            raise ValueError("max_body must be 0 or more")
        grace = self.duplicate_grace
        if grace is not None and not (math.isfinite(grace) and 0 <= grace <= 10):
            raise ValueError("duplicate_grace must be a number of seconds from 0 to 10")
        if self.breadcrumb_key is not None and self.breadcrumb_key not in BREADCRUMB_KEY_CHOICES:
            raise ValueError(f"breadcrumb_key must be one of: {', '.join(BREADCRUMB_KEY_CHOICES)}")
        for spec in self.faults:
            parse_fault(spec)
        self.miaw_settings().validate()
        agent_spec(self.agent, accept_after=self.accept_after)
        if self.public_url is not None:
            check_public_url(self.public_url)


def check_public_url(url: str) -> None:
    """ValueError unless `url` is an http(s) URL with a host and no query: the base of the URLs handed out."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ValueError(
            f"the public URL {url!r} is not an http:// or https:// URL with a host (e.g. https://pod.example)"
        )


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(word.title() for word in rest)


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class _Runtime:
    """One pod, its APIs and its HTTP server; lives and dies on one event loop."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.agent = config.agent
        self.accept_after = config.accept_after
        spec = agent_spec(config.agent, accept_after=config.accept_after)
        settings = PodSettings(
            poll_hold=config.poll_hold,
            poll_timeout_given=config.client_poll_timeout,
            connection_timeout=config.connection_timeout,
            **config.choices(),
        )
        self.pod = Pod(settings, spec, LiveAgentChat, seed=config.seed)
        self.messaging = Messaging(config.miaw_settings(), spec, MiawAgentChat, seed=config.seed)
        self.directories: list[ChatDirectory] = [LiveAgentDirectory(self.pod), MiawDirectory(self.messaging)]
        self.faults = Faults(config.seed)
        for fault in config.faults:
            self.faults.add(parse_fault(fault))
        self.wirelog = WireLog(config.log_file) if config.log_file else None
        self.host = "127.0.0.1" if config.host.lower() == "localhost" else config.host
        self.port = config.port
        self.gateway = Gateway(self.pod, MiawAPI(self.messaging), self.faults, self.wirelog, self.public_url)
        self.control = ControlAPI(
            self.pod, self.directories, self.faults, self._info, self.journal_list, self.configure, self.reset
        )
        self.http = HTTPServer(
            self.handle,
            max_body=config.max_body,
            log_target=redact_path,
            log_text=redact_text,
            body_limit=self._body_limit,
        )
        self.started = time.monotonic()

    @property
    def url(self) -> str:
        return _url(self.host, self.port)

    @property
    def pod_url(self) -> str:
        return self.url + CHAT_API_PREFIX

    @property
    def public_url(self) -> str:
        """The base of the URLs the sandbox hands out: --public-url, else the address it is bound to."""
        return self.config.public_url.rstrip("/") if self.config.public_url else self.url

    def _body_limit(self, path: str) -> int:
        if path.startswith(UPLOAD_PREFIX):
            return max(UPLOAD_MAX_BODY, self.config.max_body)
        if path.startswith(MIAW_PREFIXES):  # Enhanced Chat answers 413 itself, over its 5 MB
            return max(self.messaging.settings.file_limit + 2 * _MULTIPART_SLACK, self.config.max_body)
        return self.config.max_body

    async def handle(self, request: Request) -> Response:
        path = request.path
        if path.startswith(CHAT_API_PREFIX):
            return await self.gateway.chat(request, CHAT_API_PREFIX)
        if path.startswith(SECOND_POD_PREFIX):
            return await self.gateway.chat(request, SECOND_POD_PREFIX)
        if path.startswith(CONTROL_PREFIX) or path == CONTROL_PREFIX.rstrip("/"):
            return await self.control.handle(request, segments_below(path, CONTROL_PREFIX))
        if path.startswith(UPLOAD_PREFIX):
            return await self.gateway.upload(request, segments_below(path, UPLOAD_PREFIX))
        if path.startswith(MIAW_PREFIXES):
            return await self.gateway.messaging(request)
        hint = (
            f"the Chat API is under {CHAT_API_PREFIX}, Enhanced Chat under /iamessage/api/v2/ and "
            f"/eventrouter/v1/sse, the control API under {CONTROL_PREFIX}"
        )
        return error_response(404, f"nothing at {path}", hint=hint)

    def reset(self) -> int:
        self.gateway.journal.clear()
        return self.pod.reset() + self.messaging.reset()

    def journal_list(self) -> list[dict[str, Any]]:
        return [dict(entry) for entry in self.gateway.journal]

    def configure(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Change the agent behaviour (and its accept delay) for chats initialised from now on."""
        agent = changes.get("agent", self.agent)
        accept_after = changes.get("acceptAfter", self.accept_after)
        if not isinstance(agent, str):
            raise BadRequest("`agent` must be a string")
        if (
            isinstance(accept_after, bool)
            or not isinstance(accept_after, int | float)
            or not (math.isfinite(accept_after) and accept_after >= 0)
        ):
            raise BadRequest("`acceptAfter` must be a number of seconds, 0 or more")
        try:
            spec = agent_spec(agent, accept_after=float(accept_after))
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
        self.pod.set_agent(spec)
        self.messaging.set_agent(spec)
        self.agent, self.accept_after = agent, float(accept_after)
        return {"agent": self.agent, "acceptAfter": self.accept_after}

    def add_fault(self, spec: str) -> dict[str, Any]:
        rule: FaultRule = self.faults.add(parse_fault(spec))
        return rule.view()

    def _info(self, request: Request) -> dict[str, Any]:
        url = self.public_url
        return {
            "service": "liveagent-sandbox",
            "version": __version__,
            "url": url,
            "podUrl": url + CHAT_API_PREFIX,
            "secondPodUrl": url + SECOND_POD_PREFIX,
            "agent": self.agent,
            "acceptAfter": self.accept_after,
            "pollHold": self.config.poll_hold,
            "connectionTimeout": self.config.connection_timeout,
            "profile": self.config.profile,
            "choices": {_camel(k): v for k, v in self.config.choices().items()},
            "seed": self.config.seed,
            "log": self.config.log_file,
            "uptime": round(time.monotonic() - self.started, 3),
            "ids": {"organizationId": ORG_ID, "deploymentId": DEPLOYMENT_ID, "buttonId": BUTTON_ID},
            "messaging": self._messaging_info(url),
        }

    def _messaging_info(self, url: str) -> dict[str, Any]:
        settings = self.messaging.settings
        return {
            "url": url,
            "orgId": settings.org_id15 or ORG_ID,
            "deploymentName": settings.deployment_name or DEPLOYMENT_NAME,
            "anyOrgId": settings.org_id is None,
            "anyDeploymentName": settings.deployment_name is None,
            "tokenTtl": settings.token_ttl,
            "ssePing": settings.sse_ping,
            "rateLimits": settings.rate_limits,
            "choices": {
                _camel(name): getattr(settings, name)
                for name in (
                    "replay",
                    "second_stream",
                    "last_event_id",
                    "retry_after",
                    "ping_data",
                    "entry_payload",
                    "org_id_18",
                    "identity_failure",
                    "agent_receipts",
                )
            },
        }

    async def run(self, on_ready: Callable[[], None], stop: asyncio.Event) -> None:
        """Bind, report ready, serve until `stop` is set, then close promptly (held polls answer 204)."""
        try:
            await self.http.start(self.host, self.config.port)
            self.host, self.port = self.http.address
            self.gateway.public_url = self.public_url
            sweepers = [
                asyncio.create_task(self.pod.run_sweeper()),
                asyncio.create_task(self.messaging.run_sweeper()),
            ]
            try:
                log.info("sandbox pod listening on %s (%s agent)", self.pod_url, self.config.agent)
                on_ready()
                await stop.wait()
            finally:
                for sweeper in sweepers:
                    sweeper.cancel()
                self.pod.close()
                self.messaging.close_all()
                await self.http.close(grace=2.0)
                await asyncio.wait(sweepers)
                log.info("sandbox pod stopped")
        finally:
            if self.wirelog is not None:
                self.wirelog.close()


class Sandbox:
    """A sandbox pod on its own daemon thread: `start()` returns once it listens, `stop()` once it is gone.

    >>> with Sandbox(SandboxConfig(accept_after=0)) as sandbox:
    ...     sandbox.pod_url  # doctest: +SKIP
    'http://127.0.0.1:40123/chat/rest/'
    """

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config if config is not None else SandboxConfig()
        self.config.validate()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop = asyncio.Event()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._runtime: _Runtime | None = None

    def start(self, timeout: float = 10.0) -> Sandbox:
        if self._thread is not None:
            raise RuntimeError("this sandbox was already started")
        self._thread = threading.Thread(target=self._thread_main, name="liveagent-sandbox", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            self.stop()
            raise RuntimeError(f"the sandbox did not start within {timeout} s")
        if self._error is not None:
            self._thread.join()
            raise self._error
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Release held polls, close every connection and join the thread; safe to call twice."""
        thread, loop = self._thread, self._loop
        if thread is None:
            return
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop already closed
                loop.call_soon_threadsafe(self._stop.set)
        thread.join(timeout)
        if thread.is_alive():
            log.warning("the sandbox thread did not stop within %s s", timeout)

    @property
    def running(self) -> bool:
        alive = self._thread is not None and self._thread.is_alive()
        return alive and self._ready.is_set() and self._error is None

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:PORT (the control API is under /_sandbox/)."""
        return self._started().url

    @property
    def pod_url(self) -> str:
        """The Chat API endpoint, e.g. http://127.0.0.1:PORT/chat/rest/."""
        return self._started().pod_url

    @property
    def port(self) -> int:
        return self._started().port

    # ---- in-process inspection and control (thread-safe; the same data as the control API) --------------

    @property
    def messaging_url(self) -> str:
        """Enhanced Chat's base URL (its "Salesforce Messaging URL"): the sandbox's own, e.g. http://127.0.0.1:PORT."""
        return self._started().public_url

    @property
    def org_id(self) -> str:
        """The org id Enhanced Chat clients should send (any well-formed one works unless `org_id` is set)."""
        return self.config.org_id or ORG_ID

    @property
    def deployment_name(self) -> str:
        """The deployment name (esDeveloperName) to send; any well-formed one unless `deployment_name` is set."""
        return self.config.deployment_name or DEPLOYMENT_NAME

    def chats(self) -> list[dict[str, Any]]:
        """Every chat as `GET /_sandbox/chats` shows it: Live Agent's, then Enhanced Chat's conversations; live
        ones, then ended ones, oldest first within each."""
        directories = self._started().directories
        return self._on_loop(lambda: all_chats(directories))

    def requests(self) -> list[dict[str, Any]]:
        """The Chat API requests received, in arrival order, as `GET /_sandbox/requests` shows them."""
        runtime = self._started()
        return self._on_loop(runtime.journal_list)

    def set_agent(self, agent: str, *, accept_after: float | None = None) -> None:
        """Switch the behaviour for chats initialised from now on; ValueError for an unknown one."""
        runtime = self._started()
        changes: dict[str, Any] = {"agent": agent}
        if accept_after is not None:
            changes["acceptAfter"] = accept_after
        try:
            self._on_loop(lambda: runtime.configure(changes))
        except BadRequest as exc:
            raise ValueError(exc.message) from None

    def agent_action(self, chat_id: str, action: str, **fields: Any) -> dict[str, Any]:
        """What `POST /_sandbox/chats/{id}/agent` does (fields: text, name, items, type, data, reason...);
        returns the chat; raises the pod's errors (each has `.status`)."""
        directories = self._started().directories

        def act() -> dict[str, Any]:
            given = {k: v for k, v in fields.items() if v is not None}
            directory, found, _ = perform_agent_action(directories, chat_id, action, given)
            return directory.view(found)

        return self._on_loop(act)

    def add_fault(self, spec: str) -> dict[str, Any]:
        """Add a fault rule at run time (`KIND[:key=value,...]`); FaultSpecError (a ValueError) if malformed."""
        return self._on_loop(lambda: self._started().add_fault(spec))

    def faults(self) -> list[dict[str, Any]]:
        """The fault rules in force, with how often each applied and fired."""
        faults = self._started().faults
        return self._on_loop(lambda: [r.view() for r in faults.rules()])

    def clear_faults(self) -> int:
        faults = self._started().faults
        return self._on_loop(faults.clear)

    def reset(self) -> int:
        """Forget every session, chat and journalled request; returns how many sessions were live."""
        return self._on_loop(self._started().reset)

    def issued_keys(self) -> list[str]:
        """Every session key this sandbox handed out (the latest 100,000): tests check none leaks."""
        runtime = self._runtime
        if runtime is None:
            return []
        pod, messaging = runtime.pod, runtime.messaging
        return self._on_loop(lambda: list(pod.issued_keys) + list(messaging.issued))

    def _on_loop(self, fn: Callable[[], _T]) -> _T:
        """Run `fn` on the sandbox's loop (its state is not thread-safe); directly once the loop is gone."""
        loop = self._loop
        if loop is None or not self.running:
            return fn()
        result: concurrent.futures.Future[_T] = concurrent.futures.Future()

        def run() -> None:
            try:
                result.set_result(fn())
            except BaseException as exc:  # handed to the caller
                result.set_exception(exc)

        try:
            loop.call_soon_threadsafe(run)
        except RuntimeError:  # the loop closed in between
            return fn()
        return result.result(timeout=10)

    def _started(self) -> _Runtime:
        if self._runtime is None or not self._ready.is_set() or self._error is not None:
            raise RuntimeError("the sandbox is not started")
        return self._runtime

    def __enter__(self) -> Sandbox:
        if self._thread is None:
            self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _thread_main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main())
        except BaseException as exc:  # reported to start() or logged, never lost
            if self._ready.is_set():
                log.exception("the sandbox stopped on an error")
            else:
                self._error = exc
        finally:
            try:
                _cancel_all(loop)
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()
                self._ready.set()

    async def _main(self) -> None:
        self._runtime = _Runtime(self.config)
        await self._runtime.run(self._ready.set, self._stop)


def _cancel_all(loop: asyncio.AbstractEventLoop) -> None:
    tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in tasks:
        task.cancel()
    if tasks:
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))


def serve_forever(config: SandboxConfig, on_ready: Callable[[str], None]) -> None:
    """Run the sandbox in the foreground until SIGINT (Ctrl-C) or SIGTERM, then return normally.

    `on_ready` gets the Chat API endpoint (`http://HOST:PORT/chat/rest/`) once the socket is bound.
    ValueError for a refused configuration (e.g. a non-loopback host without allow_remote); OSError when the
    address cannot be bound.
    """
    config.validate()
    runtime = _Runtime(config)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        installed: list[tuple[signal.Signals, Any]] = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                previous = signal.getsignal(sig)
                loop.add_signal_handler(sig, stop.set)
                installed.append((sig, previous))
            except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or Windows
                pass

        def ready() -> None:
            # This process is the sandbox's alone: move everything loaded so far out of the collector's
            # sight, so its full collections scan only the chats' own objects (shorter pauses under load).
            # Held polls live about a second, long enough for the default thresholds to promote them all and
            # run a full collection every few seconds; larger thresholds make those pauses rare (see bench/).
            gc.collect()
            gc.freeze()
            gc.set_threshold(*GC_THRESHOLDS)
            on_ready(runtime.pod_url)

        try:
            await runtime.run(ready, stop)
        finally:
            for sig, previous in installed:
                loop.remove_signal_handler(sig)
                with contextlib.suppress(TypeError, ValueError):
                    signal.signal(sig, previous)

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
