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

from liveagent_cli.sandbox.http.server import Request, Response, error_response, json_response
from liveagent_cli.sandbox.liveagent.pod import Pod
from liveagent_cli.sandbox.model.agent_port import ChatState
from liveagent_cli.sandbox.model.refusals import BadRequest, Forbidden, PodError
from liveagent_cli.sandbox.multipart import MultipartError, boundary_of, parse_multipart


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
    except (PodError, MultipartError) as exc:
        return error_response(exc.status, exc.message), chat_id
    return json_response(
        200, {"name": upload.name, "contentType": upload.content_type, "size": upload.size, "sha256": upload.sha256}
    ), chat_id
