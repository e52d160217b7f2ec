"""The control API under `/_sandbox/`: readiness, inspection, reset, and driving the simulated agent.

It needs none of the Live Agent headers. Session keys never appear in its output: chats are named by
the SessionId `id`, and any string a visitor sent that contains its own key (the seed article's client
puts the key in ChasitorInit's `sessionId`) is shown with the key replaced by `<redacted>`.

Routes:
  GET  /_sandbox/health              200 {"status": "ok", ...}: readiness and settings
  GET  /_sandbox/chats               200 {"chats": [chat...]}: live chats, then ended ones, oldest first;
                                     `transcript` is the texts the visitor sent, `events` both directions
  GET  /_sandbox/chats/{id}          200 chat, 404 unknown id
  POST /_sandbox/chats/{id}/agent    {"action": accept|say|typing|not-typing|end, "text"?, "reason"?}
                                     `_only` as id means the only open chat (409 when none or several)
  POST /_sandbox/reset               200 {"status": "ok", "ended": N}: forget every session, chat, request
  GET  /_sandbox/requests            200 {"requests": [...]}: the Chat API requests received, in arrival
                                     order (method, path, query, headers, status), keys redacted
  POST /_sandbox/settings            {"agent"?, "acceptAfter"?}: for chats initialised from now on
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from liveagent_cli.sandbox.chatapi import parse_json_object
from liveagent_cli.sandbox.httpd import Request, Response, error_response, json_response
from liveagent_cli.sandbox.pod import (
    AgentChat,
    BadRequest,
    InvalidState,
    NotFound,
    Pod,
    PodError,
    Session,
    TranscriptEntry,
)

ONLY = "_only"
ROUTES = ["GET health", "GET chats", "GET chats/{id}", "POST chats/{id}/agent", "POST reset", "GET requests",
          "POST settings"]
ACTIONS = ("accept", "say", "typing", "not-typing", "end")
_REDACTED = "<redacted>"


def _redact(value: Any, key: str) -> Any:
    if isinstance(value, str):
        return value.replace(key, _REDACTED) if key in value else value
    if isinstance(value, dict):
        return {k: _redact(v, key) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v, key) for v in value]
    return value


def chat_view(session: Session, *, transcript: bool = True) -> dict[str, Any]:
    """A chat as the control API shows it: no session key, ever."""
    init = session.init or {}
    view: dict[str, Any] = {
        "id": session.id,
        "state": session.state.value,
        "live": not session.removed,
        "agent": session.agent_name or None,
        "visitorName": session.visitor_name,
        "affinityToken": session.affinity,
        "organizationId": init.get("organizationId"),
        "deploymentId": init.get("deploymentId"),
        "buttonId": init.get("buttonId"),
        "createdAt": session.created_ms,
        "endedAt": session.ended_ms,
        "endedBy": session.ended_by,
        "endReason": session.end_reason,
        "pollsHeld": session.polls_held,
        "lastSequence": session.last_sequence,
        "acked": session.acked,
        "pending": len(session.outbox),
    }
    if transcript:
        key = session.key
        view["transcript"] = [
            _redact(e.data.get("text"), key)
            for e in session.transcript if e.sender == "visitor" and e.type == "ChatMessage"
        ]
        view["events"] = [_entry(e, key) for e in session.transcript]
        if session.transcript_dropped:
            view["eventsDropped"] = session.transcript_dropped
    return view


def _entry(entry: TranscriptEntry, key: str) -> dict[str, Any]:
    shown: dict[str, Any] = {"from": entry.sender, "type": entry.type, "data": _redact(entry.data, key),
                             "at": entry.at_ms}
    if entry.n is not None:
        shown["n"] = entry.n
    return shown


class ControlAPI:
    def __init__(self, pod: Pod, info: Callable[[Request], dict[str, Any]],
                 journal: Callable[[], list[dict[str, Any]]],
                 configure: Callable[[dict[str, Any]], dict[str, Any]], reset: Callable[[], int]) -> None:
        self.pod = pod
        self.info = info  # the runtime's settings and addresses, for /health
        self.journal = journal  # the wire requests the pod received, keys redacted
        self.configure = configure  # changes settings at run time (agent, accept_after)
        self.reset_all = reset  # forgets sessions, chats and the journal

    async def handle(self, request: Request, segments: list[str]) -> Response:
        """`segments` is the path below `/_sandbox/`, split on `/` with empty parts dropped."""
        route, allowed = self._route(segments)
        if route is None:
            return error_response(404, f"unknown control resource /_sandbox/{'/'.join(segments)}",
                                  routes=ROUTES)
        if request.method != allowed:
            response = error_response(405, f"{request.method} is not allowed here; use {allowed}")
            response.headers.append(("Allow", allowed))
            return response
        try:
            return route(request, segments)
        except PodError as exc:
            return error_response(exc.status, exc.message)

    def _route(self, segments: list[str]) -> tuple[Callable[[Request, list[str]], Response] | None, str]:
        match segments:
            case ["health"]:
                return self.health, "GET"
            case ["chats"]:
                return self.chats, "GET"
            case ["chats", _]:
                return self.chat, "GET"
            case ["chats", _, "agent"]:
                return self.agent, "POST"
            case ["reset"]:
                return self.reset, "POST"
            case ["requests"]:
                return self.requests, "GET"
            case ["settings"]:
                return self.settings, "POST"
        return None, ""

    def health(self, request: Request, segments: list[str]) -> Response:
        open_chats = len(self.pod.open_chats())
        return json_response(200, {"status": "ok", **self.info(request), "sessions": self.pod.session_count,
                                   "openChats": open_chats})

    def chats(self, request: Request, segments: list[str]) -> Response:
        return json_response(200, {"chats": [chat_view(s) for s in self.pod.sessions()]})

    def chat(self, request: Request, segments: list[str]) -> Response:
        return json_response(200, chat_view(find_chat(self.pod, segments[1])))

    def reset(self, request: Request, segments: list[str]) -> Response:
        return json_response(200, {"status": "ok", "ended": self.reset_all()})

    def agent(self, request: Request, segments: list[str]) -> Response:
        body = parse_json_object(request.body, required=True)
        session = perform_agent_action(self.pod, segments[1], body.get("action"), text=body.get("text"),
                                       reason=body.get("reason", "agent"))
        view = chat_view(session, transcript=False)
        return json_response(200, {"status": "ok", "action": body.get("action"), "chat": view})

    def requests(self, request: Request, segments: list[str]) -> Response:
        return json_response(200, {"requests": self.journal()})

    def settings(self, request: Request, segments: list[str]) -> Response:
        body = parse_json_object(request.body, required=True)
        return json_response(200, {"status": "ok", **self.configure(body)})


def find_chat(pod: Pod, chat_id: str) -> Session:
    """A chat by its SessionId `id`, or the only open one for `_only` (409 when none or several)."""
    if chat_id == ONLY:
        open_chats = pod.open_chats()
        if not open_chats:
            raise InvalidState("no open chat (queued or established) in the sandbox")
        if len(open_chats) > 1:
            ids = ", ".join(s.id for s in open_chats)
            raise InvalidState(f"{len(open_chats)} open chats ({ids}); name one by its id")
        return open_chats[0]
    session = pod.find(chat_id)
    if session is None:
        raise NotFound(f"no chat with id {chat_id}")
    return session


def perform_agent_action(pod: Pod, chat_id: str, action: Any, *, text: Any = None,
                         reason: Any = "agent") -> Session:
    """What `sandbox agent ACTION` does, for the HTTP route and the in-process API alike."""
    if action not in ACTIONS:
        raise BadRequest(f"`action` must be one of: {', '.join(ACTIONS)}")
    session = find_chat(pod, chat_id)
    chat: AgentChat = pod.agent_chat(session)
    if action == "accept":
        chat.accept()
    elif action == "say":
        if not isinstance(text, str):
            raise BadRequest("`say` needs a string `text`")
        chat.say(text)
    elif action in ("typing", "not-typing"):
        chat.typing(action == "typing")
    else:
        if not isinstance(reason, str) or not reason:
            raise BadRequest("`reason` must be a non-empty string")
        chat.end(reason)
    return session

