"""The file-upload servlet (`POST /_upload/file`): where a visitor sends the file an agent asked for.

Salesforce's SDK posts `multipart/form-data` (field `file`) to the `uploadServletUrl` of a FileTransfer
`Requested` message, with `?orgId=&chatKey=<SessionId id>&fileToken=&encoding=UTF-8` and none of the Live
Agent headers. The sandbox checks the chat and the token, reads the multipart body itself, records the
file (name, content type, size, sha256; not its bytes) and queues FileTransfer `Success`.

Answers: 400 for missing parameters or a malformed body (no `file` field), 403 for an unknown or closed
chat, an `orgId` other than the chat's, or a token that was not issued (or was used or cancelled), 413 over
25 MiB (this path only), 415 for a body that is not multipart/form-data, 200 `{name, contentType, size,
sha256}` on success.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser

from liveagent_cli.sandbox.http.server import Request, Response, error_response, json_response
from liveagent_cli.sandbox.liveagent.pod import Pod
from liveagent_cli.sandbox.model.chat import ChatState
from liveagent_cli.sandbox.model.errors import BadRequest, Forbidden, PodError, UnsupportedMediaType

MAX_PARTS = 20
# HTML's form-data encoding (browsers, urllib3 and so requests) writes `"`, CR and LF in a name as %22, %0D
# and %0A, and nothing else; `filename*=` (RFC 5987) is percent-decoded by the header parser instead.
_FORM_DATA_ESCAPE = re.compile(r"%(22|0[dD]|0[aA])")


@dataclass(frozen=True, slots=True)
class Part:
    name: str | None
    filename: str | None
    content_type: str
    data: bytes


def boundary_of(content_type: str | None) -> str:
    """The multipart boundary of a Content-Type; 415 when it is not multipart/form-data."""
    if not content_type:
        raise UnsupportedMediaType("the upload must be multipart/form-data (no Content-Type was sent)")
    header = Message()
    header["content-type"] = content_type
    if header.get_content_type() != "multipart/form-data":
        raise UnsupportedMediaType(f"the upload must be multipart/form-data, not {header.get_content_type()}")
    boundary = header.get_param("boundary")
    if not isinstance(boundary, str) or not 0 < len(boundary) <= 200:
        raise BadRequest("multipart/form-data without a usable boundary parameter")
    return boundary


def parse_multipart(body: bytes, boundary: str) -> list[Part]:
    """RFC 7578 parts, split on the boundary; the bytes of each part are kept exactly."""
    delimiter = b"--" + boundary.encode("latin-1")
    start = body.find(delimiter)
    if start < 0:
        raise BadRequest("the multipart body does not contain its boundary")
    parts: list[Part] = []
    pos = start + len(delimiter)
    while not body.startswith(b"--", pos):
        line_end = body.find(b"\r\n", pos)
        if line_end < 0 or len(parts) >= MAX_PARTS:
            raise BadRequest("malformed multipart body")
        pos = line_end + 2
        end = body.find(b"\r\n" + delimiter, pos)
        if end < 0:
            raise BadRequest("the multipart body ends before its closing boundary")
        raw = body[pos:end]
        if raw.startswith(b"\r\n"):
            head, content = b"", raw[2:]
        else:
            split = raw.find(b"\r\n\r\n")
            if split < 0:
                raise BadRequest("a multipart part has no blank line after its headers")
            head, content = raw[:split], raw[split + 4 :]
        parts.append(_part(head, content))
        pos = end + 2 + len(delimiter)
    return parts


def _part(head: bytes, content: bytes) -> Part:
    headers = BytesHeaderParser(policy=policy.HTTP).parsebytes(head + b"\r\n\r\n")
    assert isinstance(headers, EmailMessage)
    name = headers.get_param("name", header="content-disposition")
    filename = headers.get_filename()
    if filename is not None and b"filename*" not in head.lower():
        filename = _FORM_DATA_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), filename)
    content_type = headers.get_content_type() if "content-type" in headers else "application/octet-stream"
    return Part(name if isinstance(name, str) else None, filename, content_type, content)


async def handle_upload(pod: Pod, request: Request, segments: list[str]) -> tuple[Response, str | None]:
    """Answer one upload; also returns the chat id it named (for the log)."""
    if segments != ["file"]:
        return error_response(404, f"nothing at {request.path}; the upload servlet is /_upload/file"), None
    if request.method != "POST":
        response = error_response(405, f"{request.method} is not allowed here; use POST")
        response.headers.append(("Allow", "POST"))
        return response, None
    missing = [n for n in ("orgId", "chatKey", "fileToken") if not request.query_value(n)]
    if missing:
        return error_response(400, f"missing query parameter {', '.join(missing)}"), None
    chat_id = request.query_value("chatKey") or ""
    try:
        session = pod.find_live(chat_id)
        if session is None or session.state is not ChatState.ESTABLISHED:
            raise Forbidden("no open chat with this chatKey")
        org = (session.init or {}).get("organizationId")
        if isinstance(org, str) and org and org != request.query_value("orgId"):
            raise Forbidden("orgId is not the chat's organization")
        if session.file_token is None or request.query_value("fileToken") != session.file_token:
            raise Forbidden("no file was requested with this fileToken (it may have been used or cancelled)")
        parts = parse_multipart(request.body, boundary_of(request.headers.get("content-type")))
        part = next((p for p in parts if p.name == "file"), None)
        if part is None:
            raise BadRequest("the multipart body has no `file` field")
        upload = pod.upload(session, session.file_token, part.filename or "file", part.content_type, part.data)
    except PodError as exc:
        return error_response(exc.status, exc.message), chat_id
    return json_response(
        200, {"name": upload.name, "contentType": upload.content_type, "size": upload.size, "sha256": upload.sha256}
    ), chat_id
