"""`upload`: answer the agent's file request, checking the file before a byte is sent.

The agent's FileTransfer Requested (stored by the poll loop) names the upload servlet and a one-use token;
the file goes there as one multipart POST, outside the Chasitor sequence.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from liveagent_cli.core.errors import ConfigError, UsageError
from liveagent_cli.core.state import SessionState
from liveagent_cli.flows.channel import Channel
from liveagent_cli.flows.context import Context
from liveagent_cli.flows.retry import POST_TIMEOUT

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
        if not ctx.settings.insecure():
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
            timeout=max(POST_TIMEOUT, plan.size / (256 * 1024)),
        )

    def spent(s: SessionState) -> None:  # a file token works once
        s.upload_url = s.file_token = ""

    return ctx.store.update(spent)
