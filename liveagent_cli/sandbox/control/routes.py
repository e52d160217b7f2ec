"""The control API under `/_sandbox/`: readiness, inspection, reset, faults, and driving the simulated agent.

It needs none of the Live Agent headers, and faults never apply to it. Session keys never appear in its
output: chats are named by the SessionId `id`, and any key inside what a visitor sent (the seed article's
client puts it in ChasitorInit's `sessionId`) shows as `<redacted>`. Enhanced Chat's conversations are chats
too (named by their conversation id; each view's `api` says which API a chat came by), listed after the
legacy ones; its tokens never appear either.

Routes:
  GET    /_sandbox/health               200 {"status": "ok", ...}: readiness, settings, ids, counts
  GET    /_sandbox/chats                200 {"chats": [chat...]}: live chats, then ended ones, oldest first
  GET    /_sandbox/chats/{id}           200 chat, 404 unknown id
  POST   /_sandbox/chats/{id}/agent     {"action": ..., ...}: see ACTIONS; `_only` = the only open chat
  GET    /_sandbox/queues               200 {"queues": {buttonId: [chat ids in order]}}
  GET    /_sandbox/breadcrumbs          200 {"breadcrumbs": [...]}: those sent without a session key
  GET    /_sandbox/requests             200 {"requests": [...]}: the visitor's requests, in arrival order
  GET    /_sandbox/faults               200 {"faults": [rule...]} with how often each applied and fired
  POST   /_sandbox/faults               {"spec": "503:every=4"} or {"kind": "503", "every": 4}: 201 rule
  DELETE /_sandbox/faults[/{id}]        clears all rules, or one (404 unknown id)
  POST   /_sandbox/settings             {"agent"?, "acceptAfter"?}: for chats initialised from now on
  POST   /_sandbox/reset                forgets every session, chat, breadcrumb and journalled request
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from liveagent_cli.sandbox.defaults import MENU_TYPE_KINDS
from liveagent_cli.sandbox.faults import Faults, FaultSpecError, fault_from_json
from liveagent_cli.sandbox.http.server import Request, Response, error_response, json_response
from liveagent_cli.sandbox.jsonbody import JSONBodyError, parse_json
from liveagent_cli.sandbox.keys import redact_value
from liveagent_cli.sandbox.liveagent.pod import Pod
from liveagent_cli.sandbox.liveagent.session import Event, Session
from liveagent_cli.sandbox.model.agent_port import AgentChat
from liveagent_cli.sandbox.model.directory import ChatDirectory
from liveagent_cli.sandbox.model.refusals import BadRequest, InvalidState, NotFound, PodError, string_field

ONLY = "_only"
ROUTES = [
    "GET health",
    "GET chats",
    "GET chats/{id}",
    "POST chats/{id}/agent",
    "GET queues",
    "GET breadcrumbs",
    "GET requests",
    "GET faults",
    "POST faults",
    "DELETE faults",
    "DELETE faults/{id}",
    "POST settings",
    "POST reset",
]
# action -> the body fields it needs (besides "action")
ACTIONS: dict[str, tuple[str, ...]] = {
    "accept": (),
    "say": ("text",),
    "typing": (),
    "not-typing": (),
    "transfer": (),
    "join": ("name",),
    "leave": ("name",),
    "menu": ("items",),
    "event": ("type",),
    "request-file": (),
    "cancel-file": (),
    "end": (),
}
TRANSFER_DEFAULT = "Tier 2 Agent"
# An error's `problem` -> what to do about it, in the control API's terms (the CLI has its own words).
PROBLEM_HINTS = {
    "not-requested": "the visitor has not requested a chat yet (ChasitorInit)",
    "not-accepted": "accept the chat first (action `accept`)",
    "already-accepted": "an agent has already accepted this chat",
    "chat-ended": "the chat has ended; the visitor must start a new one",
    "not-in-conference": "only an agent who joined (action `join`) can leave",
    "no-file-request": "request a file first (action `request-file`)",
    "no-open-chat": "no visitor has requested a chat (SessionId then ChasitorInit, or an Enhanced Chat conversation)",
    "several-open-chats": "name the chat by its id: POST /_sandbox/chats/{id}/agent",
    "unknown-chat": "GET /_sandbox/chats lists every chat and its id",
}


def chat_view(session: Session, *, events: bool = True) -> dict[str, Any]:
    """A chat as the control API shows it: no session key, ever."""
    init = session.init or {}
    view: dict[str, Any] = {
        "api": "liveagent",
        "id": session.id,
        "state": session.state.value,
        "live": not session.removed,
        "agent": session.agent_kind or None,
        "agentName": session.agent_name or None,
        "conference": list(session.conference),
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
        "pending": session.pending,
        "moved": session.relocated,
        "reconnects": session.reconnects,
        "fileRequested": session.file_token is not None,
        "files": [
            {"name": u.name, "contentType": u.content_type, "size": u.size, "sha256": u.sha256, "at": u.at_ms}
            for u in session.uploads
        ],
    }
    if events:
        view["transcript"] = [
            e.data.get("text") for e in session.events if e.sender == "visitor" and e.type == "ChatMessage"
        ]
        view["events"] = [_event(e) for e in session.events]
        if session.events_dropped:
            view["eventsDropped"] = session.events_dropped
    shown: dict[str, Any] = redact_value(view, session.key)
    return shown


def _event(event: Event) -> dict[str, Any]:
    shown: dict[str, Any] = {"from": event.sender, "type": event.type, "data": event.data, "at": event.at_ms}
    if event.n is not None:
        shown["n"] = event.n
    return shown


class LiveAgentDirectory:
    """Live Agent's sessions as chats of the control API (`model.directory.ChatDirectory`)."""

    def __init__(self, pod: Pod) -> None:
        self.pod = pod

    @property
    def api(self) -> str:
        return "liveagent"

    def chat_ids(self) -> list[str]:
        return [s.id for s in self.pod.sessions()]

    def open_chat_ids(self) -> list[str]:
        return [s.id for s in self.pod.open_chats()]

    def has(self, chat_id: str) -> bool:
        return self.pod.find(chat_id) is not None

    def _session(self, chat_id: str) -> Session:
        session = self.pod.find(chat_id)
        if session is None:
            raise NotFound(f"no chat with id {chat_id}", problem="unknown-chat")
        return session

    def agent_chat(self, chat_id: str) -> AgentChat:
        return self.pod.agent_chat(self._session(chat_id))

    def view(self, chat_id: str, *, events: bool = True) -> dict[str, Any]:
        return chat_view(self._session(chat_id), events=events)

    @property
    def live_count(self) -> int:
        return self.pod.session_count


def find_chat(directories: list[ChatDirectory], chat_id: str) -> tuple[ChatDirectory, str]:
    """A chat by its id (a SessionId `id` or a conversation id), or the only open one for `_only` (409 when
    none or several, whichever API they came by)."""
    if chat_id == ONLY:
        open_chats = [(d, i) for d in directories for i in d.open_chat_ids()]
        if not open_chats:
            raise InvalidState("no open chat (queued or established) in the sandbox", problem="no-open-chat")
        if len(open_chats) > 1:
            ids = ", ".join(i for _, i in open_chats)
            message = f"{len(open_chats)} open chats ({ids}); name one by its id"
            raise InvalidState(message, problem="several-open-chats")
        return open_chats[0]
    for directory in directories:
        if directory.has(chat_id):
            return directory, chat_id
    raise NotFound(f"no chat with id {chat_id}", problem="unknown-chat")


def _string(fields: dict[str, Any], name: str, action: str, *, default: str | None = None) -> str:
    """A field of an agent action: `text` and `data` may be empty, names and reasons may not."""
    return string_field(fields, name, f"`{action}`", default=default, non_empty=name not in ("text", "data"))


def perform_agent_action(
    directories: list[ChatDirectory], chat_id: str, action: Any, fields: dict[str, Any]
) -> tuple[ChatDirectory, str, dict[str, Any]]:
    """What `sandbox agent ACTION` does, for the HTTP route and the in-process API alike, whichever API the
    chat came by.

    Returns the chat (its directory and id) and what the action produced (the file token of `request-file`).
    """
    if not isinstance(action, str) or action not in ACTIONS:
        raise BadRequest(f"`action` must be one of: {', '.join(ACTIONS)}")
    for name in ACTIONS[action]:
        if name not in fields:
            raise BadRequest(f"`{action}` needs `{name}`")
    directory, found = find_chat(directories, chat_id)
    chat: AgentChat = directory.agent_chat(found)
    produced: dict[str, Any] = {}
    if action == "accept":
        chat.accept()
    elif action == "say":
        chat.say(_string(fields, "text", action))
    elif action in ("typing", "not-typing"):
        chat.typing(action == "typing")
    elif action == "transfer":
        chat.transfer(_string(fields, "name", action, default=TRANSFER_DEFAULT))
    elif action == "join":
        chat.join(_string(fields, "name", action))
    elif action == "leave":
        chat.leave(_string(fields, "name", action))
    elif action == "menu":
        items, menu_type, header = fields.get("items"), fields.get("menuType", "ChatWindowMenu"), fields.get("header")
        if not (isinstance(items, list) and isinstance(menu_type, str) and (header is None or isinstance(header, str))):
            raise BadRequest("`menu` needs `items` (an array of strings), optional `menuType` and `header` strings")
        if menu_type not in MENU_TYPE_KINDS:
            raise BadRequest(f"menu type must be one of: {', '.join(MENU_TYPE_KINDS)}")
        chat.menu(items, kind=MENU_TYPE_KINDS[menu_type], header=header)
    elif action == "event":
        chat.event(_string(fields, "type", action), _string(fields, "data", action, default=""))
    elif action == "request-file":
        produced["fileToken"] = chat.request_file()
    elif action == "cancel-file":
        chat.cancel_file()
    else:
        chat.end(_string(fields, "reason", action, default="agent"))
    return directory, found, produced


def all_chats(directories: list[ChatDirectory]) -> list[dict[str, Any]]:
    """Every chat of every API, as `GET /_sandbox/chats` lists them."""
    return [d.view(i) for d in directories for i in d.chat_ids()]


class ControlAPI:
    def __init__(
        self,
        pod: Pod,
        directories: list[ChatDirectory],
        faults: Faults,
        info: Callable[[Request], dict[str, Any]],
        journal: Callable[[], list[dict[str, Any]]],
        configure: Callable[[dict[str, Any]], dict[str, Any]],
        reset: Callable[[], int],
    ) -> None:
        self.pod = pod
        self.directories = directories  # every API's chats: Live Agent's first
        self.faults = faults
        self.info = info  # the runtime's settings and addresses, for /health
        self.journal = journal  # the visitor's requests, keys redacted
        self.configure = configure  # changes settings at run time (agent, acceptAfter)
        self.reset_all = reset  # forgets sessions, chats and the journal

    async def handle(self, request: Request, segments: list[str]) -> Response:
        """`segments` is the path below `/_sandbox/`, split on `/` with empty parts dropped."""
        routes = self._routes(segments)
        if routes is None:
            return error_response(404, f"unknown control resource /_sandbox/{'/'.join(segments)}", routes=ROUTES)
        route = routes.get(request.method)
        if route is None:
            allow = ", ".join(sorted(routes))
            response = error_response(405, f"{request.method} is not allowed here; use {allow}")
            response.headers.append(("Allow", allow))
            return response
        try:
            return route(request, segments)
        except PodError as exc:
            if exc.problem is None:
                return error_response(exc.status, exc.message)
            return error_response(exc.status, exc.message, problem=exc.problem, hint=PROBLEM_HINTS[exc.problem])
        except (FaultSpecError, JSONBodyError) as exc:
            return error_response(400, str(exc))

    def _routes(self, segments: list[str]) -> dict[str, Callable[[Request, list[str]], Response]] | None:
        match segments:
            case ["health"]:
                return {"GET": self.health}
            case ["chats"]:
                return {"GET": self.chats}
            case ["chats", _]:
                return {"GET": self.chat}
            case ["chats", _, "agent"]:
                return {"POST": self.agent}
            case ["queues"]:
                return {"GET": self.queues}
            case ["breadcrumbs"]:
                return {"GET": self.breadcrumbs}
            case ["requests"]:
                return {"GET": self.requests}
            case ["faults"]:
                return {"GET": self.list_faults, "POST": self.add_fault, "DELETE": self.clear_faults}
            case ["faults", _]:
                return {"DELETE": self.remove_fault}
            case ["settings"]:
                return {"POST": self.settings}
            case ["reset"]:
                return {"POST": self.reset}
        return None

    def health(self, request: Request, segments: list[str]) -> Response:
        return json_response(
            200,
            {
                "status": "ok",
                **self.info(request),
                "sessions": sum(d.live_count for d in self.directories),
                "openChats": sum(len(d.open_chat_ids()) for d in self.directories),
                "faults": len(self.faults.rules()),
            },
        )

    def chats(self, request: Request, segments: list[str]) -> Response:
        return json_response(200, {"chats": all_chats(self.directories)})

    def chat(self, request: Request, segments: list[str]) -> Response:
        directory, chat_id = find_chat(self.directories, segments[1])
        return json_response(200, directory.view(chat_id))

    def agent(self, request: Request, segments: list[str]) -> Response:
        body = parse_json(request.body, required=True)
        directory, chat_id, produced = perform_agent_action(self.directories, segments[1], body.get("action"), body)
        view = directory.view(chat_id, events=False)
        return json_response(200, {"status": "ok", "action": body.get("action"), **produced, "chat": view})

    def queues(self, request: Request, segments: list[str]) -> Response:
        return json_response(200, {"queues": self.pod.queues.view()})

    def breadcrumbs(self, request: Request, segments: list[str]) -> Response:
        return json_response(200, {"breadcrumbs": list(self.pod.breadcrumbs)})

    def requests(self, request: Request, segments: list[str]) -> Response:
        return json_response(200, {"requests": self.journal()})

    def list_faults(self, request: Request, segments: list[str]) -> Response:
        return json_response(200, {"faults": [r.view() for r in self.faults.rules()]})

    def add_fault(self, request: Request, segments: list[str]) -> Response:
        rule = self.faults.add(fault_from_json(parse_json(request.body, required=True)))
        return json_response(201, rule.view())

    def clear_faults(self, request: Request, segments: list[str]) -> Response:
        return json_response(200, {"status": "ok", "removed": self.faults.clear()})

    def remove_fault(self, request: Request, segments: list[str]) -> Response:
        raw = segments[1]
        if not raw.isdigit() or not self.faults.remove(int(raw)):
            raise NotFound(f"no fault rule with id {raw}")
        return json_response(200, {"status": "ok", "removed": 1})

    def settings(self, request: Request, segments: list[str]) -> Response:
        body = parse_json(request.body, required=True)
        return json_response(200, {"status": "ok", **self.configure(body)})

    def reset(self, request: Request, segments: list[str]) -> Response:
        return json_response(200, {"status": "ok", "ended": self.reset_all()})
