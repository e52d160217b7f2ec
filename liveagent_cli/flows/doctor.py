"""`doctor`: is this deployment's configuration sound, and does the pod answer for it?

Each check says ok, warn, fail or info; a failure carries the error whose exit code the command ends with
(4 when the pod cannot be reached, 3 for settings that are wrong). Its two requests are retried as every
step's are (flows/retry.py): a blip is not a verdict, and a dead pod is reported within the same budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from liveagent_cli.core.errors import ConfigError, LiveAgentError, NetworkError
from liveagent_cli.core.messages import AvailabilityResult
from liveagent_cli.core.render import wait_phrase
from liveagent_cli.core.settings import is_loopback
from liveagent_cli.flows.context import Context
from liveagent_cli.flows.deadline import Deadline, give_up_seconds
from liveagent_cli.flows.retry import retrying

RETIREMENT = (
    "Salesforce scheduled legacy Chat (this API) for retirement on 2026-02-14; a production pod may no longer "
    "answer, and Messaging for In-App and Web (Enhanced Chat) is its successor"
)


@dataclass
class Check:
    name: str
    status: str  # ok, warn, fail, info
    detail: str
    error: LiveAgentError | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"check": self.name, "status": self.status, "detail": self.detail}
        if self.error is not None:
            out["exit_code"] = int(self.error.code)
        return out


def verdict(checks: list[Check]) -> LiveAgentError | None:
    """The error doctor ends with: the first failed check's (4 unreachable, 3 wrong settings), else None."""
    failed = next((c for c in checks if c.status == "fail"), None)
    if failed is None:
        return None
    return failed.error or ConfigError(failed.detail)


def run_doctor(ctx: Context, prechat_file: Path | None) -> list[Check]:
    checks: list[Check] = [Check("retirement", "warn", RETIREMENT)]
    settings = ctx.settings

    def source(name: str) -> str:
        return f" ({settings.sources[name]})" if name in settings.sources else ""

    pod = None
    try:
        pod = settings.require("pod")
        host = urlsplit(pod).hostname or ""
        if pod.startswith("http://"):
            note = "plain http: fine for a loopback pod such as the sandbox" if is_loopback(host) else "plain http"
            checks.append(Check("pod", "warn", f"{pod}{source('pod')}: {note}"))
        else:
            checks.append(Check("pod", "ok", f"{pod}{source('pod')}"))
    except ConfigError as exc:
        checks.append(Check("pod", "fail", exc.message, exc))
    ids: dict[str, str] = {}
    for name in ("org_id", "deployment_id", "button_id"):
        try:
            ids[name] = settings.require(name)
            checks.append(Check(name.replace("_", " "), "ok", f"{ids[name]}{source(name)}"))
        except ConfigError as exc:
            checks.append(Check(name.replace("_", " "), "fail", exc.message, exc))
    try:
        api_version = settings.require("api_version")
        checks.append(Check("api version", "ok", f"{api_version}{source('api_version')}"))
    except ConfigError as exc:
        checks.append(Check("api version", "fail", exc.message, exc))
        api_version = ""
    try:
        named = settings.value("prechat_file")
    except ConfigError as exc:
        checks.append(Check("pre-chat file", "fail", exc.message, exc))
        named = None
    file = prechat_file or (Path(named) if named else None)
    if file is not None:
        from liveagent_cli.core.prechat import load_file

        try:
            details, entities = load_file(file.expanduser())
            checks.append(Check("pre-chat file", "ok", f"{file}: {len(details)} details, {len(entities)} entities"))
        except LiveAgentError as exc:
            checks.append(Check("pre-chat file", "fail", exc.message, exc))
    if pod is None or not api_version or len(ids) < 3:
        checks.append(Check("pod answers", "info", "not tried: fix the settings above first"))
        return checks
    checks.extend(_network_checks(ctx, pod, api_version, ids))
    return checks


def _network_checks(ctx: Context, pod: str, api_version: str, ids: dict[str, str]) -> list[Check]:
    from liveagent_cli.core.client import SwitchServerError

    client = ctx.client(pod, api_version)
    org, deployment, button = ids["org_id"], ids["deployment_id"], ids["button_id"]
    checks: list[Check] = []
    try:
        settings = retrying(
            lambda timeout: client.visitor_settings(org, deployment, [button], timeout=timeout),
            Deadline(give_up_seconds(ctx.environ)),
            ctx.out.note,
        )
    except SwitchServerError as exc:
        return [Check("switch server", "fail", f"{exc.message}", ConfigError(exc.message, hint=exc.hint))]
    except NetworkError as exc:
        return [Check("reachable", "fail", exc.message, exc)]
    except LiveAgentError as exc:  # the pod answered, but not as the Chat API: the settings are wrong (exit 3)
        status = getattr(exc, "status", None)
        if status == 400:
            message = f"the pod refused the request (400): {exc.message}"
            return [Check("api version", "fail", message, ConfigError(message, hint="check --api-version"))]
        return [Check("reachable", "fail", exc.message, ConfigError(exc.message, hint=exc.hint))]
    scheme = "TLS" if pod.startswith("https://") else "plain http"
    checks.append(Check("reachable", "ok", f"the pod answers over {scheme} and accepts API version {api_version}"))
    checks.append(Check("switch server", "ok", "no SwitchServer: the org lives on this pod"))
    buttons = [b for b in settings.get("buttons") or [] if isinstance(b, dict)]
    if any(b.get("id") == button for b in buttons):
        checks.append(Check("settings", "ok", f"Visitor/Settings knows button {button}"))
    else:
        checks.append(Check("settings", "warn", f"Visitor/Settings does not list button {button}: check the id"))
    try:
        results = retrying(
            lambda timeout: client.availability(org, deployment, [button], timeout=timeout),
            Deadline(give_up_seconds(ctx.environ)),
            ctx.out.note,
        )
    except LiveAgentError as exc:
        checks.append(Check("availability", "fail", exc.message, exc))
        return checks
    line = AvailabilityResult.read(results).of(button)
    if line is not None and line.available:
        checks.append(Check("availability", "ok", f"an agent is online for {button}{wait_phrase(line.estimated_wait)}"))
    else:
        checks.append(Check("availability", "warn", f"no agent is online for {button} right now"))
    return checks
