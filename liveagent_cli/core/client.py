"""The Live Agent visitor-side REST client: one method per resource over one `requests.Session`.

It sends exactly the headers each resource needs (liveagent-api.md §1-2), puts an explicit timeout on every
call, and turns every failure into the tool's own errors. It does not retry and keeps no state beyond the
session's key, affinity and the connection pool: flows decide what to do with a failure.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from liveagent_cli.core.errors import (
    ApiError,
    DuplicatePollError,
    OutOfSyncError,
    PodMovedError,
    SessionGoneError,
)
from liveagent_cli.core.exchange import CONNECT_TIMEOUT, POST_TIMEOUT, Exchanger, WireRecord, new_http_session
from liveagent_cli.core.messages import check_counter, check_item

if TYPE_CHECKING:
    import requests

@dataclass
class SessionInfo:
    id: str
    key: str
    affinity: str
    client_poll_timeout: int


@dataclass
class Batch:
    """A 200 answer of System/Messages: the messages as the pod sent them, its sequence and offset."""

    messages: list[dict[str, Any]]
    sequence: int
    offset: int | None


class SwitchServerError(ApiError):
    """A Visitor resource answered SwitchServer: the org moved to another pod (`new_url`)."""

    def __init__(self, message: str, hint: str, *, new_url: str) -> None:
        super().__init__(message, hint)
        self.new_url = new_url


class MultipartBody:
    """A multipart/form-data body with one `file` field, read in chunks so large files stream with a
    Content-Length (the servlet need not accept chunked encoding) and `on_progress` can follow it."""

    CHUNK = 64 * 1024

    def __init__(self, filename: str, content_type: str, stream: Any, size: int) -> None:
        import uuid

        boundary = f"liveagent-{uuid.uuid4().hex}"
        self.content_type = f"multipart/form-data; boundary={boundary}"
        safe_name = filename.replace('"', "%22").replace("\r", "").replace("\n", "")
        self._head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{safe_name}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        ).encode()
        self._tail = f"\r\n--{boundary}--\r\n".encode()
        self._stream = stream
        self.size = size
        self.len = len(self._head) + size + len(self._tail)
        self.sent = 0
        self.on_progress: Any = None
        self._parts = [self._head]

    def __len__(self) -> int:
        return self.len

    def read(self, n: int = -1) -> bytes:
        if self._parts:
            chunk = self._parts.pop()
        else:
            chunk = self._stream.read(self.CHUNK) if self._stream is not None else b""
            if not chunk and self._stream is not None:
                self._stream = None
                chunk = self._tail
            elif self._stream is not None and self.on_progress:
                self.on_progress(len(chunk))
        self.sent += len(chunk)
        return chunk


class LiveAgentClient(Exchanger):
    """Talks to one pod as one session (key + affinity); cheap to create over a shared `requests.Session`."""

    def __init__(
        self,
        pod: str,
        api_version: str,
        *,
        key: str | None = None,
        affinity: str | None = None,
        on_exchange: Callable[[WireRecord], None] | None = None,
        http: requests.Session | None = None,
    ) -> None:
        self.pod = pod if pod.endswith("/") else pod + "/"
        self.api_version = api_version
        self.key = key
        self.affinity = affinity
        self.on_exchange = on_exchange
        self._http = http if http is not None else new_http_session()
        self._ca_checked = False
        self.too_large, self.too_large_hint = "the pod's reply", _POD_HINT

    def close(self) -> None:
        self._http.close()

    # -- resources -------------------------------------------------------------------------------------
    def session_id(self, timeout: float = POST_TIMEOUT) -> SessionInfo:
        """GET System/SessionId with affinity `null`: opens a session on the pod."""
        body = self._json(self._request("GET", "System/SessionId", affinity="null", key=False, read_timeout=timeout))
        try:
            info = SessionInfo(
                id=_str(body, "id"),
                key=_str(body, "key"),
                affinity=_str(body, "affinityToken"),
                client_poll_timeout=int(body.get("clientPollTimeout", 40)),
            )
        except (TypeError, ValueError):
            raise ApiError("the SessionId reply lacks id, key or affinityToken", hint=_POD_HINT) from None
        self.key, self.affinity = info.key, info.affinity
        return info

    def chasitor_init(self, body: Mapping[str, Any], sequence: int, timeout: float = POST_TIMEOUT) -> None:
        self._request("POST", "Chasitor/ChasitorInit", body=body, sequence=sequence, read_timeout=timeout)

    def messages(self, ack: int | None, timeout: float) -> Batch | None:
        """One long poll of System/Messages; None when the pod answered 204 (nothing arrived)."""
        params = {"ack": str(ack)} if ack is not None else None
        response = self._request("GET", "System/Messages", params=params, read_timeout=timeout)
        if response.status_code == 204:
            return None
        body = self._json(response)
        messages = body.get("messages")
        if not isinstance(messages, list) or "sequence" not in body:
            raise ApiError("the Messages reply has no messages list or sequence number", hint=_POD_HINT)
        sequence = check_counter("sequence", body["sequence"])  # never an ack the state file cannot hold
        for item in messages:
            check_item(item)
        offset = body.get("offset")
        if not isinstance(offset, int) or isinstance(offset, bool):  # it only tunes a reconnect: dropped if no number
            return Batch(messages, sequence, None)
        return Batch(messages, sequence, check_counter("offset", offset))

    def chat_message(self, text: str, sequence: int, timeout: float = POST_TIMEOUT) -> None:
        self._request("POST", "Chasitor/ChatMessage", body={"text": text}, sequence=sequence, read_timeout=timeout)

    def chat_end(self, reason: str, sequence: int, timeout: float = POST_TIMEOUT) -> None:
        self._request("POST", "Chasitor/ChatEnd", body={"reason": reason}, sequence=sequence, read_timeout=timeout)

    def delete_session(self, timeout: float = POST_TIMEOUT) -> None:
        """DELETE System/SessionId/{key}: tears the session down without a chat."""
        from urllib.parse import quote

        # real keys are `<id>!<epoch>!<base64>`: a `/` in the base64 must not split the path
        self._request("DELETE", f"System/SessionId/{quote(self.key or '', safe='')}", read_timeout=timeout)

    def typing(self, on: bool, sequence: int, timeout: float = POST_TIMEOUT) -> None:
        noun = "Chasitor/ChasitorTyping" if on else "Chasitor/ChasitorNotTyping"
        self._request("POST", noun, body={}, sequence=sequence, read_timeout=timeout)

    def sneak_peek(self, text: str, position: int, sequence: int, timeout: float = POST_TIMEOUT) -> None:
        body = {"position": position, "text": text}
        self._request("POST", "Chasitor/ChasitorSneakPeek", body=body, sequence=sequence, read_timeout=timeout)

    def custom_event(self, kind: str, data: str, sequence: int, timeout: float = POST_TIMEOUT) -> None:
        body = {"type": kind, "data": data}
        self._request("POST", "Chasitor/CustomEvent", body=body, sequence=sequence, read_timeout=timeout)

    def rich_message(self, actions: list[dict[str, Any]], sequence: int, timeout: float = POST_TIMEOUT) -> None:
        """POST Chasitor/RichMessage: the visitor's choice in a bot menu (undocumented, liveagent-api.md §3.8)."""
        body = {"actions": actions}
        self._request("POST", "Chasitor/RichMessage", body=body, sequence=sequence, read_timeout=timeout)

    def breadcrumb(self, location: str, timeout: float = POST_TIMEOUT) -> None:
        """POST Visitor/Breadcrumb, with the API version alone (never the session key: a Visitor resource).

        A pod answers a recorded breadcrumb with a short non-JSON body; a JSON answer may be SwitchServer,
        which records nothing and is an error like Availability's.
        """
        response = self._request(
            "POST",
            "Visitor/Breadcrumb",
            body={"location": location},
            key=False,
            visitor=True,
            read_timeout=timeout,
        )
        try:
            body = json.loads(response.content)
        except (ValueError, UnicodeDecodeError):
            return
        if isinstance(body, dict):
            _refuse_switch_server(body)

    def availability(
        self, org_id: str, deployment_id: str, ids: list[str], timeout: float = POST_TIMEOUT
    ) -> list[dict[str, Any]]:
        """GET Visitor/Availability: one result per id; `isAvailable` is simply absent when false."""
        params = {
            "org_id": org_id,
            "deployment_id": deployment_id,
            "Availability.ids": ",".join(ids),
            "Availability.needEstimatedWaitTime": "1",
        }
        body = self._visitor_get("Visitor/Availability", params, timeout)
        for item in body.get("messages") or []:
            if isinstance(item, dict) and item.get("type") == "Availability":
                results = (item.get("message") or {}).get("results")
                if isinstance(results, list):
                    return [r for r in results if isinstance(r, dict)]
        raise ApiError("the Availability reply carries no Availability results", hint=_POD_HINT)

    def visitor_settings(
        self, org_id: str, deployment_id: str, button_ids: list[str], timeout: float = POST_TIMEOUT
    ) -> dict[str, Any]:
        """GET Visitor/Settings: ping rate, content server and the buttons with their availability."""
        params = {
            "org_id": org_id,
            "deployment_id": deployment_id,
            "Settings.buttonIds": ",".join(button_ids),
            "Settings.updateBreadcrumb": "1",
            "Settings.needEstimatedWaitTime": "1",
        }
        body = self._visitor_get("Visitor/Settings", params, timeout)
        for item in body.get("messages") or []:
            if isinstance(item, dict) and item.get("type") == "VisitorSettings":
                msg = item.get("message")
                return msg if isinstance(msg, dict) else {}
        return body

    def _visitor_get(self, path: str, params: Mapping[str, str], timeout: float) -> dict[str, Any]:
        response = self._request("GET", path, params=params, key=False, visitor=True, read_timeout=timeout)
        body = self._json(response)
        _refuse_switch_server(body)
        return body

    def upload_body(
        self,
        url: str,
        *,
        org_id: str,
        chat_key: str,
        file_token: str,
        body: MultipartBody,
        timeout: float = POST_TIMEOUT,
    ) -> None:
        """Multipart POST of one file to the upload servlet; none of the Live Agent headers go along."""
        params = {"orgId": org_id, "chatKey": chat_key, "fileToken": file_token, "encoding": "UTF-8"}
        response = self._send_raw(
            "POST", url, params=params, data=body, headers={"Content-Type": body.content_type}, read_timeout=timeout
        )
        if response.status_code in (400, 403, 404, 410):
            raise ApiError(
                f"the upload servlet refused the file (HTTP {response.status_code}): {_excerpt(response)}",
                hint="a file token works once: ask the agent to request the file again",
                status=response.status_code,
            )
        self._check_status(response, "POST", "upload/servlet")

    def reconnect_session(self, offset: int | None, timeout: float = POST_TIMEOUT) -> tuple[str, bool]:
        """GET System/ReconnectSession after a 503: (new affinity token, whether the sequence restarts)."""
        params = {"ReconnectSession.offset": str(offset if offset is not None else 0)}
        response = self._request("GET", "System/ReconnectSession", params=params, affinity="null", read_timeout=timeout)
        body = self._json(response)
        for item in body.get("messages") or []:
            if isinstance(item, dict) and item.get("type") == "ReconnectSession":
                msg = item.get("message") or {}
                token = msg.get("affinityToken")
                if isinstance(token, str) and token:
                    # the docs say resetSequence is always true yet "may be undefined": missing means true
                    return token, msg.get("resetSequence") is not False
        raise ApiError("the ReconnectSession reply carries no affinityToken", hint=_POD_HINT)

    def chasitor_resync_state(self, org_id: str, timeout: float = POST_TIMEOUT) -> None:
        """POST Chasitor/ChasitorResyncState after ChasitorSessionData; it carries no sequence number."""
        self._request("POST", "Chasitor/ChasitorResyncState", body={"organizationId": org_id}, read_timeout=timeout)

    # -- plumbing --------------------------------------------------------------------------------------
    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        sequence: int | None = None,
        affinity: str | None = None,
        key: bool = True,
        read_timeout: float = POST_TIMEOUT,
        visitor: bool = False,
    ) -> requests.Response:

        headers = {"X-LIVEAGENT-API-VERSION": self.api_version}
        if not visitor:  # Visitor/* resources take the API version alone (liveagent-api.md §1)
            headers["X-LIVEAGENT-AFFINITY"] = affinity or self.affinity or "null"
        if key:
            if not self.key:
                raise SessionGoneError("no session key", hint="start one with `liveagent session`")
            headers["X-LIVEAGENT-SESSION-KEY"] = self.key
        if sequence is not None:
            headers["X-LIVEAGENT-SEQUENCE"] = str(sequence)
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        response = self._send_raw(
            method, self.pod + path, params=params, data=data, headers=headers, read_timeout=read_timeout
        )
        self._check_status(response, method, path)
        return response

    def _send_raw(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None,
        data: Any,
        headers: dict[str, str],
        read_timeout: float,
    ) -> requests.Response:
        """One HTTP exchange with an explicit timeout (exchange.py), logged."""
        return self._exchange(
            method,
            url,
            params=params,
            data=data,
            headers=headers,
            connect_timeout=CONNECT_TIMEOUT,
            read_timeout=read_timeout,
        )

    def _check_status(self, response: requests.Response, method: str, path: str) -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
        noun = path.split("/")[1] if "/" in path else path
        excerpt = _excerpt(response)
        if status == 403:
            raise SessionGoneError(
                "the pod no longer knows this session (403): it expired or the chat ended",
                hint="start a new chat with `liveagent session`",
                reason="403: expired or ended on the pod",
            )
        if status == 503:
            raise PodMovedError(
                f"the pod moved the session to another server (503 on {noun})",
                hint="recover it with `liveagent reconnect`",
                status=status,
                body=excerpt,
            )
        if _is_html(response):
            raise ApiError(
                f"{method} {noun} got an HTML page (HTTP {status}), not the Chat API",
                hint=_POD_HINT,
                status=status,
                body=excerpt,
            )
        hint = None
        if status == 500 and method == "POST":
            hint = "the pod refuses chat messages until an agent accepted: `liveagent poll --until ChatEstablished`"
        elif status == 409:
            raw = response.content[:300].decode("utf-8", "replace")
            match = _OUT_OF_SYNC.search(raw)
            if match and method == "POST":
                sent, actual = int(match.group(1)), int(match.group(2))
                raise OutOfSyncError(
                    f"{noun} out of sync: sent {sent}, the pod is at {actual}", sent=sent, actual=actual, body=excerpt
                )
            if noun == "Messages":
                raise DuplicatePollError(
                    "the pod ended the chat: it saw two long polls for this session at once (409)",
                    hint="only one process may poll a session; start a new chat with `liveagent session`",
                    status=status,
                    body=excerpt,
                )
        if status == 405 and noun == "ReconnectSession":
            hint = "the pod reconnects a session only after it answered 503 (moved it); nothing to recover"
        if hint is None:
            hint = _POD_HINT if status in (404, 405) else "rerun with --verbose to see the exchange"
        detail = f": {excerpt}" if excerpt else ""
        raise ApiError(f"{method} {noun} failed with HTTP {status}{detail}", hint=hint, status=status, body=excerpt)

    def _json(self, response: requests.Response) -> dict[str, Any]:
        noun = urlsplit(response.url).path.rsplit("/", 1)[-1]
        if _is_html(response):
            raise ApiError(f"{noun} got an HTML page, not the Chat API's JSON", hint=_POD_HINT)
        try:
            body = json.loads(response.content)
        except (ValueError, UnicodeDecodeError):
            raise ApiError(f"the {noun} reply is not JSON", hint=_POD_HINT) from None
        if not isinstance(body, dict):
            raise ApiError(f"the {noun} reply is not a JSON object", hint=_POD_HINT)
        return body


_OUT_OF_SYNC = re.compile(r"Expected\s+(-?\d+)\.?\s+Actual\s+(-?\d+)", re.IGNORECASE)
_POD_HINT = "check --pod: it must be the Chat API endpoint (Setup → Chat Settings), ending in /chat/rest/"


def _refuse_switch_server(body: Mapping[str, Any]) -> None:
    """A Visitor reply that is SwitchServer: the org lives on another pod, and this one did nothing."""
    for item in body.get("messages") or []:
        if isinstance(item, dict) and item.get("type") == "SwitchServer":
            new_url = (item.get("message") or {}).get("newUrl")
            raise SwitchServerError(
                f"the pod says this org lives on another server: {new_url}",
                hint=f"use --pod {new_url}",
                new_url=str(new_url or ""),
            )


def _str(body: Mapping[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise TypeError(name)
    return value


def _is_html(response: requests.Response) -> bool:
    ctype = response.headers.get("Content-Type", "").lower()
    return "html" in ctype or response.content[:200].lstrip().lower().startswith((b"<!doctype html", b"<html"))


def _excerpt(response: requests.Response) -> str:
    if _is_html(response):
        return ""
    text = response.content[:300].decode("utf-8", "replace")
    text = "".join(c if c.isprintable() else " " for c in text).strip()
    return text[:200]
