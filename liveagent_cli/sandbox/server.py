"""Running the sandbox: in a background thread (`Sandbox`: tests, `sandbox exec`) or in the foreground
(`serve_forever`: `sandbox serve`). Both run the same `_Runtime` on one event loop, so every chat, long poll
and timer shares one thread and nothing blocks.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import ipaddress
import logging
import math
import re
import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar

from liveagent_cli import __version__
from liveagent_cli.sandbox.agents import agent_factory
from liveagent_cli.sandbox.chatapi import ChatAPI
from liveagent_cli.sandbox.control import ControlAPI, chat_view, perform_agent_action
from liveagent_cli.sandbox.defaults import (
    BUTTON_ID,
    CHAT_API_PREFIX,
    CONTROL_PREFIX,
    DEFAULT_CONNECTION_TIMEOUT,
    DEPLOYMENT_ID,
    ORG_ID,
)
from liveagent_cli.sandbox.httpd import DEFAULT_MAX_BODY, HTTPServer, Request, Response, error_response
from liveagent_cli.sandbox.pod import BadRequest, Pod, PodSettings

log = logging.getLogger("liveagent_cli.sandbox")

_T = TypeVar("_T")
_KEY_IN_PATH = re.compile(r"(/SessionId/).+")
_REDACTED = "<redacted>"
JOURNAL_SIZE = 10_000


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
    agent: str = "echo"  # echo, manual, busy
    accept_after: float = 1.0  # seconds before the echo agent accepts
    poll_hold: float = 30.0  # seconds an idle long poll is held before 204
    allow_remote: bool = False  # the sandbox has no authentication: loopback unless asked
    seed: int | None = None  # makes ids, keys and tokens reproducible
    connection_timeout: float = DEFAULT_CONNECTION_TIMEOUT  # seconds without polls before a session expires
    max_body: int = DEFAULT_MAX_BODY  # request bodies over this many bytes get 413

    def validate(self) -> None:
        """ValueError with a message fit for a user; the CLI turns it into a configuration error."""
        if not self.host:
            raise ValueError("the sandbox needs a host to bind")
        if not self.allow_remote and not is_loopback(self.host):
            raise ValueError(f"refusing to bind {self.host}: not a loopback address, and the sandbox has no "
                             "authentication (allow it explicitly with allow_remote)")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port {self.port} is out of range (0-65535)")
        for name in ("accept_after", "poll_hold"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number of seconds, 0 or more")
        if not math.isfinite(self.connection_timeout) or self.connection_timeout <= 0:
            raise ValueError("connection_timeout must be a positive number of seconds")
        if self.max_body < 0:
            raise ValueError("max_body must be 0 or more")
        agent_factory(self.agent, accept_after=self.accept_after)


def _redact_path(path: str) -> str:
    return _KEY_IN_PATH.sub(r"\1" + _REDACTED, path)


def _segments(path: str, prefix: str) -> list[str]:
    """Path segments below a prefix; empty ones dropped, so `/chat/rest//System/Messages` works too."""
    return [p for p in path[len(prefix):].split("/") if p]


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class _Runtime:
    """One pod, its two APIs and its HTTP server; lives and dies on one event loop."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.agent = config.agent
        self.accept_after = config.accept_after
        factory = agent_factory(config.agent, accept_after=config.accept_after)
        settings = PodSettings(poll_hold=config.poll_hold, connection_timeout=config.connection_timeout)
        self.pod = Pod(settings, factory, config.agent, seed=config.seed)
        self.journal: deque[dict[str, Any]] = deque(maxlen=JOURNAL_SIZE)
        self.chat_api = ChatAPI(self.pod)
        self.control = ControlAPI(self.pod, self._info, self.journal_list, self.configure, self.reset)
        self.http = HTTPServer(self.handle, max_body=config.max_body, log_target=_redact_path)
        self.host = "127.0.0.1" if config.host.lower() == "localhost" else config.host
        self.port = config.port
        self.started = time.monotonic()

    @property
    def url(self) -> str:
        return _url(self.host, self.port)

    @property
    def pod_url(self) -> str:
        return self.url + CHAT_API_PREFIX

    async def handle(self, request: Request) -> Response:
        path = request.path
        if path.startswith(CHAT_API_PREFIX):
            entry = self._log_request(request)
            try:
                response = await self.chat_api.handle(request, _segments(path, CHAT_API_PREFIX))
            except Exception:
                entry["status"] = 500  # what the HTTP server answers for a handler bug
                raise
            entry["status"] = response.status
            return response
        if path.startswith(CONTROL_PREFIX) or path == CONTROL_PREFIX.rstrip("/"):
            return await self.control.handle(request, _segments(path, CONTROL_PREFIX))
        hint = f"the Chat API is under {CHAT_API_PREFIX}, the control API under {CONTROL_PREFIX}"
        return error_response(404, f"nothing at {path}", hint=hint)

    def _log_request(self, request: Request) -> dict[str, Any]:
        """Journal a Chat API request on arrival (its status is filled in when answered); keys redacted."""
        headers = dict(request.headers)
        if "x-liveagent-session-key" in headers:
            headers["x-liveagent-session-key"] = _REDACTED
        entry: dict[str, Any] = {
            "at": int(time.time() * 1000),
            "method": request.method,
            "path": _redact_path(request.path),
            "query": {name: values[-1] for name, values in request.query.items()},
            "headers": headers,
            "status": None,
        }
        self.journal.append(entry)
        return entry

    def reset(self) -> int:
        self.journal.clear()
        return self.pod.reset()

    def journal_list(self) -> list[dict[str, Any]]:
        return [dict(entry) for entry in self.journal]

    def configure(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Change the agent behaviour (and its accept delay) for chats initialised from now on."""
        agent = changes.get("agent", self.agent)
        accept_after = changes.get("acceptAfter", self.accept_after)
        if not isinstance(agent, str):
            raise BadRequest("`agent` must be a string")
        if isinstance(accept_after, bool) or not isinstance(accept_after, int | float) or not (
                math.isfinite(accept_after) and accept_after >= 0):
            raise BadRequest("`acceptAfter` must be a number of seconds, 0 or more")
        try:
            factory = agent_factory(agent, accept_after=float(accept_after))
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
        self.pod.set_agent(factory, agent)
        self.agent, self.accept_after = agent, float(accept_after)
        return {"agent": self.agent, "acceptAfter": self.accept_after}

    def _info(self, request: Request) -> dict[str, Any]:
        host_header = request.headers.get("host")
        url = f"http://{host_header}" if host_header else self.url
        return {
            "service": "liveagent-sandbox",
            "version": __version__,
            "url": url,
            "podUrl": url + CHAT_API_PREFIX,
            "agent": self.agent,
            "acceptAfter": self.accept_after,
            "pollHold": self.config.poll_hold,
            "connectionTimeout": self.config.connection_timeout,
            "uptime": round(time.monotonic() - self.started, 3),
            "ids": {"organizationId": ORG_ID, "deploymentId": DEPLOYMENT_ID, "buttonId": BUTTON_ID},
        }

    async def run(self, on_ready: Callable[[], None], stop: asyncio.Event) -> None:
        """Bind, report ready, serve until `stop` is set, then close promptly (held polls answer 204)."""
        await self.http.start(self.host, self.config.port)
        self.host, self.port = self.http.address
        sweeper = asyncio.create_task(self.pod.run_sweeper())
        try:
            log.info("sandbox pod listening on %s (%s agent)", self.pod_url, self.config.agent)
            on_ready()
            await stop.wait()
        finally:
            sweeper.cancel()
            self.pod.close()
            await self.http.close(grace=2.0)
            await asyncio.wait([sweeper])
            log.info("sandbox pod stopped")


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

    def chats(self) -> list[dict[str, Any]]:
        """Every chat as `GET /_sandbox/chats` shows it: live ones, then ended ones, oldest first."""
        pod = self._started().pod
        return self._on_loop(lambda: [chat_view(s) for s in pod.sessions()])

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

    def agent_action(self, chat_id: str, action: str, *, text: str | None = None,
                     reason: str = "agent") -> dict[str, Any]:
        """What `POST /_sandbox/chats/{id}/agent` does; raises the pod's errors (each has `.status`)."""
        pod = self._started().pod

        def act() -> dict[str, Any]:
            return chat_view(perform_agent_action(pod, chat_id, action, text=text, reason=reason))

        return self._on_loop(act)

    def reset(self) -> int:
        """Forget every session, chat and journalled request; returns how many sessions were live."""
        return self._on_loop(self._started().reset)

    def issued_keys(self) -> list[str]:
        """Every session key this sandbox handed out (the latest 100,000): tests check none leaks."""
        runtime = self._runtime
        if runtime is None:
            return []
        pod = runtime.pod
        return self._on_loop(lambda: list(pod.issued_keys))

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

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
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
        try:
            await runtime.run(lambda: on_ready(runtime.pod_url), stop)
        finally:
            for sig, previous in installed:
                loop.remove_signal_handler(sig)
                with contextlib.suppress(TypeError, ValueError):
                    signal.signal(sig, previous)

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
