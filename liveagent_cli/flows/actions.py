"""The rest of the visitor surface: typing, sneak peek, custom events, menus, breadcrumbs, uploads,
availability, deployment settings and a reconnect by hand."""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from liveagent_cli.core.errors import ConfigError, UsageError
from liveagent_cli.core.messages import AvailabilityResult
from liveagent_cli.core.settings import check_api_version, check_id, normalize_pod
from liveagent_cli.core.state import SessionState
from liveagent_cli.flows.channel import POST_TIMEOUT, Channel
from liveagent_cli.flows.context import Context
from liveagent_cli.flows.deadline import Deadline

MAX_UPLOAD_BYTES = 25 * 1024 * 1024  # Salesforce's limit for chat file transfer
ALLOWED_TYPES = (
    "image/",
    "text/plain",
    "text/csv",
    "application/pdf",
    "application/zip",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/rtf",
    "application/json",
    "application/xml",
    "text/xml",
)


def typing(ctx: Context, on: bool) -> SessionState:
    return Channel(ctx).post(lambda client, seq, timeout: client.typing(on, seq, timeout))


def sneak_peek(ctx: Context, text: str, position: int | None) -> SessionState:
    pos = len(text) if position is None else position
    return Channel(ctx).post(lambda client, seq, timeout: client.sneak_peek(text, pos, seq, timeout))


def custom_event(ctx: Context, kind: str, data: str) -> SessionState:
    if not kind.strip():
        raise UsageError("the event TYPE is empty", hint="e.g. liveagent event PromptForCreditCard Visa")
    return Channel(ctx).post(lambda client, seq, timeout: client.custom_event(kind, data, seq, timeout))


def choose(ctx: Context, number: int) -> tuple[SessionState, str]:
    """Answer the last rich menu with item `number` (1-based, as `poll` and `chat` show it)."""
    channel = Channel(ctx)
    state = channel.state
    if not state.menu_items:
        raise UsageError("no menu to answer", hint="wait for the agent's RichMessage with `liveagent poll`")
    if not 1 <= number <= len(state.menu_items):
        raise UsageError(f"choose 1 to {len(state.menu_items)}, not {number}")
    action: dict[str, Any] = {"type": state.menu_type or "ChatWindowMenu", "index": number - 1}
    if state.menu_dialog:
        action["dialogId"] = state.menu_dialog
    chosen = state.menu_items[number - 1]

    def done(s: SessionState) -> None:
        s.menu_type, s.menu_items, s.menu_dialog = "", [], ""

    final = channel.post(lambda client, seq, timeout: client.rich_message([action], seq, timeout), done=done)
    return final, chosen


def breadcrumb(ctx: Context, location: str) -> None:
    """Visitor/Breadcrumb: with the stored session's key when there is one, else as a bare visitor call."""
    if not location.strip():
        raise UsageError("the URL is empty", hint="liveagent breadcrumb https://example.com/pricing")
    if ctx.store.exists():
        channel = Channel(ctx)
        channel.client.breadcrumb(location, timeout=POST_TIMEOUT)
        return
    pod, api_version = _pod(ctx)
    ctx.client(pod, api_version).breadcrumb(location, timeout=POST_TIMEOUT)


def availability(ctx: Context, extra_ids: list[str]) -> AvailabilityResult:
    """Visitor/Availability for the button (or the given button and agent ids)."""
    pod, api_version = _pod(ctx)
    org, deployment = _org_and_deployment(ctx)
    ids = [check_button_or_agent(i) for i in extra_ids] or [
        check_id("button_id", str(ctx.settings.require("button_id")))
    ]
    return AvailabilityResult.read(
        ctx.client(pod, api_version).availability(org, deployment, ids, timeout=POST_TIMEOUT)
    )


def visitor_settings(ctx: Context, extra_ids: list[str]) -> dict[str, Any]:
    pod, api_version = _pod(ctx)
    org, deployment = _org_and_deployment(ctx)
    ids = [check_button_or_agent(i) for i in extra_ids]
    if not ids and ctx.settings.get("button_id"):
        ids = [check_id("button_id", str(ctx.settings.get("button_id")))]
    return ctx.client(pod, api_version).visitor_settings(org, deployment, ids, timeout=POST_TIMEOUT)


def check_button_or_agent(value: str) -> str:
    """Availability takes button ids (573…) and agent user ids (005…)."""
    if value.startswith("005"):
        if len(value) not in (15, 18) or not value.isalnum():
            raise ConfigError(f"agent id {value!r} is not a valid Salesforce id")
        return value
    return check_id("button_id", value)


@dataclass
class UploadPlan:
    path: Path
    size: int
    content_type: str


def plan_upload(path: Path, *, any_type: bool = False, max_bytes: int = MAX_UPLOAD_BYTES) -> UploadPlan:
    """Check the file before a byte is sent: it exists, is a regular file, not empty, not too big, a known type."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise UsageError(f"no such file: {path}") from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    if not path.is_file():
        raise UsageError(f"{path} is not a regular file")
    if info.st_size == 0:
        raise UsageError(f"{path} is empty")
    if info.st_size > max_bytes:
        raise UsageError(
            f"{path} is {info.st_size / 1048576:.1f} MiB; the limit is {max_bytes / 1048576:.0f} MiB",
            hint="send a smaller file",
        )
    guessed = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if not any_type and not guessed.startswith(ALLOWED_TYPES):
        raise UsageError(
            f"{path.name} is {guessed}, which the agent console is unlikely to accept",
            hint="send a document, image or archive, or pass --any-type",
        )
    return UploadPlan(path, info.st_size, guessed)


def upload(ctx: Context, plan: UploadPlan, on_progress: Any = None) -> SessionState:
    """Multipart POST to the upload servlet the agent's FileTransfer request named."""
    channel = Channel(ctx)
    state = channel.state
    if not state.upload_url or not state.file_token:
        raise UsageError(
            "the agent has not asked for a file",
            hint="wait for a FileTransfer request with `liveagent poll --until FileTransfer`",
        )
    from urllib.parse import urlsplit

    from liveagent_cli.core.settings import is_loopback

    target = urlsplit(state.upload_url)
    if target.scheme != "https" and not (target.scheme == "http" and is_loopback(target.hostname or "")):
        if not ctx.settings.get("insecure"):
            raise ConfigError(
                f"refusing to upload over {target.scheme or 'an unknown scheme'} to {target.hostname}",
                hint="the upload URL came from the pod; pass --insecure if you really mean it",
            )
    with plan.path.open("rb") as stream:
        from liveagent_cli.core.client import MultipartBody

        body = MultipartBody(plan.path.name, plan.content_type, stream, plan.size)
        body.on_progress = on_progress
        channel.client.upload_body(
            state.upload_url,
            org_id=state.org_id,
            chat_key=state.id,
            file_token=state.file_token,
            body=body,
            timeout=Deadline(None).cap(max(POST_TIMEOUT, plan.size / (256 * 1024))),
        )

    def spent(s: SessionState) -> None:  # a file token works once
        s.upload_url = s.file_token = ""

    return ctx.store.update(spent)


def reconnect(ctx: Context) -> SessionState:
    """The 503 recovery by hand: ReconnectSession, then ChasitorResyncState once ChasitorSessionData is in."""
    channel = Channel(ctx)
    deadline = Deadline(channel.give_up)
    with ctx.store.lock():
        state = ctx.store.load()
        channel.adopt(state)
        channel.client.affinity = state.affinity  # force: this is a reconnect by request
        channel.reconnect_locked(state, deadline, force=True)
    channel.await_resync(deadline)
    return ctx.store.load()


def _pod(ctx: Context) -> tuple[str, str]:
    pod = normalize_pod(str(ctx.settings.require("pod")), insecure=bool(ctx.settings.get("insecure")))
    return pod, check_api_version(str(ctx.settings.require("api_version")))


def _org_and_deployment(ctx: Context) -> tuple[str, str]:
    return (
        check_id("org_id", str(ctx.settings.require("org_id"))),
        check_id("deployment_id", str(ctx.settings.require("deployment_id"))),
    )
