"""Enhanced Chat over HTTP: the v2 REST endpoints (miaw-api.md 2.1), the deployment configuration (2.4), the
JWKS of the tokens' `jwks_uri`, and the route to the event stream (sse.py).

Checks run in this order: route (404 unknown path, 405 wrong method, with `Allow`), bearer token (401
missing, unknown, revoked or expired), the conversation id of the path (400 malformed, 404 not this end
user's), Content-Type (415: JSON bodies must say application/json, files multipart/form-data), size (413
over 5 MB), body (400 naming the field), rate limits (429), then the rules of messaging.py (417 without a
session...). Errors are `{"message", "errorCode"}`; browser clients get CORS.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Mapping
from email.message import Message
from typing import Any, NamedTuple

from liveagent_cli.sandbox.faults import FaultRule
from liveagent_cli.sandbox.http.server import Request, Response, dropped, empty_response, json_response
from liveagent_cli.sandbox.jsonbody import JSONBodyError, parse_json
from liveagent_cli.sandbox.miaw import entries as wire
from liveagent_cli.sandbox.miaw.conversation import AccessToken, Conversation
from liveagent_cli.sandbox.miaw.deployment import business_hours, embedded_service_config
from liveagent_cli.sandbox.miaw.messaging import UUID_ANY, Messaging, string
from liveagent_cli.sandbox.miaw.notes import MiawNotes
from liveagent_cli.sandbox.miaw.profiles import ORG_ID_PATTERN
from liveagent_cli.sandbox.miaw.refusals import (
    NOT_PUBLISHED,
    BadRequest,
    MiawError,
    PayloadTooLarge,
    TooManyRequests,
    Unauthorized,
    UnsupportedMediaType,
)
from liveagent_cli.sandbox.miaw.stream import EventStreamAPI, spring_error
from liveagent_cli.sandbox.model.agent_port import VisitorEvent
from liveagent_cli.sandbox.multipart import MultipartError, boundary_of, parse_multipart

V2 = ("iamessage", "api", "v2")
# The fault kinds an Enhanced Chat request can meet (faults.py); `expire` makes its access token expire.
MIAW_FAULT_KINDS = ("drop", "delay", "status", "expire", "sse-drop")
MAX_PAGE = 50
DEFAULT_PAGE = 20
_MULTIPART_SLACK = 64 * 1024  # a file's multipart framing and messageEntry, on top of the file itself


class Route(NamedTuple):
    noun: str  # what a fault's `path=` names (defaults.MIAW_NOUNS)
    methods: Mapping[str, Callable[[Request, MiawNotes, str | None], Awaitable[Response]]]
    conversation_id: str | None = None


def error(exc: MiawError, *, retry_after: bool = True) -> Response:
    response = json_response(exc.status, exc.body())
    if isinstance(exc, TooManyRequests) and retry_after:
        response.headers.append(("Retry-After", str(exc.retry_after)))
    return response


class MiawAPI:
    """Every Enhanced Chat path the sandbox serves; `handle` answers one request."""

    def __init__(self, messaging: Messaging) -> None:
        self.messaging = messaging
        self.sse = EventStreamAPI(messaging)

    # ---- routing -----------------------------------------------------------------------------------------

    def route(self, path: str) -> Route | None:
        parts = [p for p in path.split("/") if p]
        if parts[:3] == ["eventrouter", "v1", "sse"] and len(parts) == 3:
            return Route("sse", {"GET": self.sse.open})
        if parts[:2] == ["embeddedservice", "v1"] and len(parts) == 3:
            if parts[2] == "embedded-service-config":
                return Route("embedded-service-config", {"GET": self.config})
            if parts[2] == "businesshours":
                return Route("businesshours", {"GET": self.hours})
            return None
        if parts == ["iamessage", "v1", ".well-known", "jwks.json"]:
            return Route("jwks", {"GET": self.jwks})
        if tuple(parts[:3]) != V2:
            return None
        rest = parts[3:]
        match rest:
            case ["authorization", "unauthenticated", "access-token"]:
                return Route("access-token", {"POST": self.guest_token})
            case ["authorization", "authenticated", "access-token"]:
                return Route("access-token", {"POST": self.verified_token, "DELETE": self.revoke})
            case ["authorization", "continuation-access-token"]:
                return Route("continuation-access-token", {"GET": self.continuation})
            case ["conversation"]:
                return Route("conversation", {"POST": self.create})
            case ["conversation", "list"]:
                return Route("list", {"GET": self.list_conversations})
            case ["conversation", cid]:
                return Route("conversation", {"GET": self.status, "DELETE": self.close}, cid)
            case ["conversation", cid, noun]:
                handler = {
                    "entries": {"GET": self.entries},
                    "message": {"POST": self.message},
                    "file": {"POST": self.file},
                    "entry": {"POST": self.entry},
                    "acknowledge-entries": {"POST": self.acknowledge},
                    "session": {"DELETE": self.end_session},
                }.get(noun)
                return Route(noun, handler, cid) if handler is not None else None
        return None

    def token_of(self, request: Request) -> AccessToken | None:
        """The live token a request presents, without any check's side effect (for faults)."""
        try:
            return self.messaging.authenticate(request.headers.get("authorization"))
        except MiawError:
            return None

    def fault_answer(
        self, rule: FaultRule, token: AccessToken | None, request: Request, notes: MiawNotes
    ) -> Response | None:
        """The answer of a fault that replaces processing; None for those that process first. The fault is
        recorded on the conversation the path names, when the token has it."""
        route = self.route(request.path)
        if token is not None and route is not None and route.conversation_id is not None:
            conversation = token.subject.conversations.get(route.conversation_id)
            if conversation is not None:
                notes.chat_id = conversation.id
                what = {"spec": rule.spec, "request": f"{request.method} {request.path}"}
                conversation.note("sandbox", "Fault", what, self.messaging.settings.events_limit)
        if rule.kind == "expire" and token is not None:
            self.messaging.expire(token)
            if route is not None and route.noun == "sse":
                return spring_error(401, "Unauthorized", "Jwt is expired")
            return error(Unauthorized("Jwt is expired"))
        if rule.kind == "status":
            if rule.code in (204, 304):
                return empty_response(rule.code)
            return json_response(
                rule.code, {"message": f"sandbox fault: HTTP {rule.code}", "errorCode": "SANDBOX_FAULT"}
            )
        if rule.kind == "drop" and rule.when == "before":
            return dropped()
        return None

    async def handle(self, request: Request, notes: MiawNotes) -> Response:
        origin = request.headers.get("origin")
        response = await self._handle(request, notes)
        if origin is not None:  # browser clients (the sample app) call the server cross-origin
            response.headers.append(("Access-Control-Allow-Origin", origin))
            response.headers.append(("Vary", "Origin"))
        return response

    async def _handle(self, request: Request, notes: MiawNotes) -> Response:
        route = self.route(request.path)
        if route is None:
            hint = "Enhanced Chat v2 is under /iamessage/api/v2/, its stream at /eventrouter/v1/sse"
            return json_response(
                404, {"message": f"No resource at {request.path}", "errorCode": "NOT_FOUND", "hint": hint}
            )
        allow = ", ".join(sorted(route.methods))
        if request.method == "OPTIONS" and "origin" in request.headers:
            return _preflight(request, allow)
        handler = route.methods.get(request.method)
        if handler is None:
            response = json_response(
                405,
                {"message": f"{request.method} is not allowed here; use {allow}", "errorCode": "METHOD_NOT_ALLOWED"},
            )
            response.headers.append(("Allow", allow))
            return response
        try:
            return await handler(request, notes, route.conversation_id)
        except MiawError as exc:
            return error(exc, retry_after=self.messaging.settings.retry_after)
        except JSONBodyError as exc:
            return error(BadRequest(str(exc)))
        except MultipartError as exc:
            return error(UnsupportedMediaType(exc.message) if exc.status == 415 else BadRequest(exc.message))

    # ---- shared checks -----------------------------------------------------------------------------------

    def _token(self, request: Request, notes: MiawNotes) -> AccessToken:
        raw = request.headers.get("authorization")
        if raw:
            notes.key = raw.partition(" ")[2].strip() or None
        return self.messaging.authenticate(raw)

    def _conversation(self, request: Request, notes: MiawNotes, cid: str | None) -> tuple[AccessToken, Conversation]:
        token = self._token(request, notes)
        assert cid is not None
        conversation = self.messaging.conversation_of(token, cid)
        notes.chat_id = conversation.id
        return token, conversation

    def _json(self, request: Request, *, limit: int | None = None) -> dict[str, Any]:
        content_type = request.headers.get("content-type")
        header = Message()
        header["content-type"] = content_type or ""
        if not content_type or header.get_content_type() != "application/json":
            raise UnsupportedMediaType(
                f"Content-Type {content_type or '(none)'} is not supported: send application/json"
            )
        if limit is not None and len(request.body) > limit:
            raise PayloadTooLarge(f"the request body exceeds {limit} bytes")
        return parse_json(request.body, required=True)

    @staticmethod
    def _no_body(request: Request) -> None:
        if request.body.strip():
            raise BadRequest("this request takes no body")

    def _deployment_query(self, request: Request, token: AccessToken) -> None:
        name = request.query_value("esDeveloperName")
        if not name:
            raise BadRequest("missing query parameter esDeveloperName")
        self.messaging.check_deployment(token, name)

    # ---- tokens ------------------------------------------------------------------------------------------

    async def guest_token(self, request: Request, notes: MiawNotes, _: str | None) -> Response:
        return await self._mint(request, notes, verified=False)

    async def verified_token(self, request: Request, notes: MiawNotes, _: str | None) -> Response:
        return await self._mint(request, notes, verified=True)

    async def _mint(self, request: Request, notes: MiawNotes, *, verified: bool) -> Response:
        messaging = self.messaging
        body = self._json(request)
        org, deployment = messaging.check_ids(body)
        uid, issuer = messaging.verified_subject(body) if verified else (None, "")
        if verified and uid is None and messaging.settings.identity_failure == "reject":
            raise Unauthorized(f"the identity token was not verified: {issuer}")
        if messaging.settings.rate_limits:
            messaging.org_windows.take(org[:15])
        key = await messaging.signing_key()
        if uid is not None:
            subject = messaging.subject_for(org[:15], deployment, f"v2/iamessage/AUTH/{issuer}/uid:{uid}", True)
        else:
            subject = messaging.subject_for(
                org[:15], deployment, f"v2/iamessage/UNAUTH/NA/uid:{messaging.uuid()}", False
            )
        token = messaging.issue(subject, org, deployment, notes.base_url, key, body)
        notes.key = token.jwt
        return json_response(200, messaging.token_answer(token))

    async def continuation(self, request: Request, notes: MiawNotes, _: str | None) -> Response:
        token = self._token(request, notes)
        fresh = self.messaging.continuation(token, notes.base_url)
        return json_response(200, self.messaging.token_answer(fresh))

    async def revoke(self, request: Request, notes: MiawNotes, _: str | None) -> Response:
        token = self._token(request, notes)
        self.messaging.revoke(token)
        return empty_response(204)

    async def jwks(self, request: Request, notes: MiawNotes, _: str | None) -> Response:
        key = await self.messaging.signing_key()
        return json_response(200, {"keys": [key.jwk()]})

    # ---- configuration (no bearer) -----------------------------------------------------------------------

    def _deployment_of(self, request: Request) -> tuple[str, str]:
        org, name = request.query_value("orgId"), request.query_value("esConfigName")
        missing = [n for n, v in (("orgId", org), ("esConfigName", name)) if not v]
        if missing:
            raise BadRequest(f"missing query parameter {' and '.join(missing)}")
        assert org is not None and name is not None
        if not ORG_ID_PATTERN.match(org):
            raise BadRequest(f"orgId {org!r} is not a Salesforce org id")
        settings = self.messaging.settings
        if settings.org_id15 is not None and org[:15] != settings.org_id15:
            raise BadRequest(f"orgId {org} is not this server's org")
        return org[:15], name

    def _published(self, name: str) -> Response | None:
        wanted = self.messaging.settings.deployment_name
        if wanted is not None and name != wanted:
            return json_response(412, {"text": NOT_PUBLISHED})
        return None

    async def config(self, request: Request, notes: MiawNotes, _: str | None) -> Response:
        org15, name = self._deployment_of(request)
        refused = self._published(name)
        if refused is not None:
            return refused
        address = self.messaging.channel_address(org15, name)
        return json_response(200, {"embeddedServiceConfig": embedded_service_config(name, address, verified=False)})

    async def hours(self, request: Request, notes: MiawNotes, _: str | None) -> Response:
        _, name = self._deployment_of(request)
        refused = self._published(name)
        if refused is not None:
            return refused
        return json_response(200, business_hours(self.messaging.staffing.available))

    # ---- conversations -----------------------------------------------------------------------------------

    async def create(self, request: Request, notes: MiawNotes, _: str | None) -> Response:
        token = self._token(request, notes)
        body = self._json(request)
        conversation, _created = self.messaging.create(token, body)
        notes.chat_id = conversation.id
        return json_response(
            201, {"conversationId": conversation.id, "channelAddressIdentifier": conversation.channel_address}
        )

    async def status(self, request: Request, notes: MiawNotes, cid: str | None) -> Response:
        _, conversation = self._conversation(request, notes, cid)
        return json_response(200, {"conversationId": conversation.id, "routingStatus": conversation.routing_status})

    async def close(self, request: Request, notes: MiawNotes, cid: str | None) -> Response:
        token, conversation = self._conversation(request, notes, cid)
        self._deployment_query(request, token)
        self._no_body(request)
        self.messaging.close(conversation)
        return empty_response(204)

    async def end_session(self, request: Request, notes: MiawNotes, cid: str | None) -> Response:
        token, conversation = self._conversation(request, notes, cid)
        self._deployment_query(request, token)
        self._no_body(request)
        self.messaging.check_open(conversation)
        self.messaging.end_session_by_user(conversation)
        return empty_response(204)

    async def list_conversations(self, request: Request, notes: MiawNotes, _: str | None) -> Response:
        token = self._token(request, notes)
        closed = _boolean(request.query_value("inclClosedConvs"), "inclClosedConvs", default=False)
        limit = _page_size(request.query_value("limit"))
        everything = self.messaging.list_for(token.subject)
        shown = [c for c in everything if closed or not c.closed][:limit]
        return json_response(
            200,
            {
                "openConversationsFound": sum(1 for c in everything if not c.closed),
                "closedConversationsFound": sum(1 for c in everything if c.closed),
                "conversations": [
                    {"conversationId": c.id, "startTimestamp": c.created_ms, "endTimestamp": c.closed_ms or 0}
                    for c in shown
                ],
            },
        )

    async def entries(self, request: Request, notes: MiawNotes, cid: str | None) -> Response:
        _, conversation = self._conversation(request, notes, cid)
        limit = _page_size(request.query_value("limit"))
        direction = request.query_value("direction") or "FromEnd"
        if direction not in ("FromStart", "FromEnd"):
            raise BadRequest("direction must be FromStart or FromEnd")
        start = _timestamp(request.query_value("startTimestamp"), "startTimestamp")
        end = _timestamp(request.query_value("endTimestamp"), "endTimestamp")
        raw_filter = request.query_value("entryTypeFilter")
        types: set[str] | None = None
        if raw_filter is not None:
            types = {t.strip() for t in raw_filter.split(",") if t.strip()}
            unknown = sorted(types - set(wire.ENTRY_TYPES))
            if unknown or not types:
                raise BadRequest(f"entryTypeFilter names unknown entry types: {', '.join(unknown) or '(none)'}")
        chosen = [
            e
            for e in conversation.entries
            if (types is None or e.entry_type in types)
            and (start is None or e.transcripted >= start)
            and (end is None or e.transcripted <= end)
        ]
        page = chosen[:limit] if direction == "FromStart" else chosen[::-1][:limit]
        payload_as = self.messaging.settings.entry_payload
        return json_response(200, {"conversationEntries": [e.rest(payload_as) for e in page]})

    # ---- what the end user sends ---------------------------------------------------------------------------

    def _session_fields(self, body: dict[str, Any]) -> None:
        fresh = body.get("isNewMessagingSession")
        if fresh is not None and not isinstance(fresh, bool):
            raise BadRequest("`isNewMessagingSession` must be true or false")
        attributes = body.get("routingAttributes")
        if attributes is not None and not isinstance(attributes, dict):
            raise BadRequest("`routingAttributes` must be an object")
        language = body.get("language")
        if language is not None and not isinstance(language, str):
            raise BadRequest("`language` must be a string")

    async def message(self, request: Request, notes: MiawNotes, cid: str | None) -> Response:
        token, conversation = self._conversation(request, notes, cid)
        body = self._json(request, limit=self.messaging.settings.file_limit)
        message = body.get("message")
        if not isinstance(message, dict):
            raise BadRequest("a message needs `message`: an object with id, messageType and its content")
        message_id = _message_id(message)
        self.messaging.check_deployment(token, string(body, "esDeveloperName", "a message"))
        self._session_fields(body)
        abstract, event = _visitor_message(message, message_id, conversation)
        answer = self.messaging.accept_message(token, conversation, message_id, body, abstract, event)
        return Response(202, answer, "application/json")

    async def file(self, request: Request, notes: MiawNotes, cid: str | None) -> Response:
        token, conversation = self._conversation(request, notes, cid)
        limit = self.messaging.settings.file_limit
        if len(request.body) > limit + _MULTIPART_SLACK:
            raise PayloadTooLarge(f"a file may have at most {limit} bytes")
        parts = parse_multipart(request.body, boundary_of(request.headers.get("content-type"), "a file upload"))
        entry_part = next((p for p in parts if p.name == "messageEntry"), None)
        file_part = next((p for p in parts if p.name == "fileData"), None)
        if entry_part is None or file_part is None:
            raise BadRequest("a file upload needs two parts: messageEntry (JSON) and fileData (the file)")
        if len(file_part.data) > limit:
            raise PayloadTooLarge(f"a file may have at most {limit} bytes; this one has {len(file_part.data)}")
        body = parse_json(entry_part.data, required=True, what="the messageEntry part")
        message = body.get("message")
        if not isinstance(message, dict):
            raise BadRequest("messageEntry needs `message`: an object with id (and fileId)")
        message_id = _message_id(message)
        self.messaging.check_deployment(token, string(body, "esDeveloperName", "messageEntry"))
        self._session_fields(body)
        file_id = message.get("fileId", message_id)
        text = message.get("text")
        if not isinstance(file_id, str) or not file_id or (text is not None and not isinstance(text, str)):
            raise BadRequest("messageEntry's `message.fileId` and `message.text` must be strings")
        name = file_part.filename or "file"
        info = {
            "name": name,
            "contentType": file_part.content_type,
            "size": len(file_part.data),
            "sha256": hashlib.sha256(file_part.data).hexdigest(),
        }
        attachment = {
            "id": file_id,
            "name": name,
            "mimeType": file_part.content_type,
            "url": "",
            "referenceId": file_id,
            "attachmentUploadResult": None,
        }
        abstract = wire.attachments_message(message_id, text, [attachment])
        first = message_id not in conversation.message_ids
        event = VisitorEvent("file", info, name)
        answer = self.messaging.accept_message(token, conversation, message_id, body, abstract, event)
        if first:
            conversation.files.append(info)
            latest = conversation.latest
            if latest is not None:
                latest.file_requested = False
        return Response(202, answer, "application/json")

    async def entry(self, request: Request, notes: MiawNotes, cid: str | None) -> Response:
        _, conversation = self._conversation(request, notes, cid)
        body = self._json(request)
        entry_type = body.get("entryType")
        if entry_type not in ("TypingStartedIndicator", "TypingStoppedIndicator"):
            raise BadRequest("`entryType` must be TypingStartedIndicator or TypingStoppedIndicator")
        _uuid_field(body, "id", "an entry")
        self.messaging.check_open(conversation)
        self.messaging.typing(conversation, entry_type == "TypingStartedIndicator", body)
        return json_response(200, {})

    async def acknowledge(self, request: Request, notes: MiawNotes, cid: str | None) -> Response:
        _, conversation = self._conversation(request, notes, cid)
        body = self._json(request)
        acks = body.get("acks")
        if not isinstance(acks, list) or not acks:
            raise BadRequest("acknowledge-entries needs `acks`: a non-empty array")
        for ack in acks:
            if not isinstance(ack, dict):
                raise BadRequest("each of `acks` must be an object {id, entryType, conversationEntryId}")
            _uuid_field(ack, "id", "an ack")
            if ack.get("entryType") not in ("Delivery", "Read"):
                raise BadRequest("an ack's `entryType` must be Delivery or Read")
            target = ack.get("conversationEntryId")
            if not isinstance(target, str) or not target:
                raise BadRequest("an ack needs `conversationEntryId`: the id of the entry it acknowledges")
        self.messaging.check_open(conversation)
        self.messaging.acknowledge(conversation, body)
        return json_response(200, {})


# ---- reading the end user's message -------------------------------------------------------------------------


def _message_id(message: dict[str, Any]) -> str:
    value = message.get("id")
    if not isinstance(value, str) or not UUID_ANY.match(value):
        raise BadRequest("a message needs `id`: a UUID chosen by the client")
    return value.lower()


def _uuid_field(body: dict[str, Any], name: str, what: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not UUID_ANY.match(value):
        raise BadRequest(f"{what} needs `{name}`: a UUID")
    return value


def _visitor_message(
    message: dict[str, Any], message_id: str, conversation: Conversation
) -> tuple[dict[str, Any], VisitorEvent]:
    """The abstractMessage to echo and the event the agent sees, from what the end user sent."""
    kind = message.get("messageType")
    reply_to = message.get("inReplyToMessageId")
    if reply_to is not None and not isinstance(reply_to, str):
        raise BadRequest("`inReplyToMessageId` must be a string")
    if kind == "StaticContentMessage":
        content = message.get("staticContent")
        if not isinstance(content, dict) or content.get("formatType") != "Text":
            raise BadRequest(
                'a StaticContentMessage from the end user needs `staticContent` {"formatType": "Text", "text"}'
            )
        text = content.get("text")
        if not isinstance(text, str) or not text:
            raise BadRequest("a text message needs `staticContent.text`: a non-empty string")
        return wire.text_message(message_id, text, reply_to), VisitorEvent("message", {"text": text}, text)
    if kind == "ChoicesResponseMessage":
        response = message.get("choicesResponse")
        if not isinstance(response, dict):
            response = {}
        selected = response.get("selectedOptions")
        if not isinstance(selected, list) or not selected or response.get("formatType", "Selections") != "Selections":
            raise BadRequest(
                'a ChoicesResponseMessage needs `choicesResponse` {"formatType": "Selections", "selectedOptions"}'
            )
        options = conversation.latest.options if conversation.latest is not None else {}
        chosen = []
        for option in selected:
            ident = option.get("optionIdentifier") if isinstance(option, dict) else None
            if not isinstance(ident, str) or not ident:
                raise BadRequest("each of `selectedOptions` needs `optionIdentifier`: a string")
            chosen.append({"optionIdentifier": ident, "text": options.get(ident)})
        abstract = {
            "messageType": kind,
            "id": message_id,
            "inReplyToMessageId": reply_to,
            "references": [],
            "choicesResponse": {
                "formatType": "Selections",
                "selectedOptions": [{"optionIdentifier": c["optionIdentifier"]} for c in chosen],
            },
        }
        first = next((c["text"] for c in chosen if c["text"] is not None), "")
        return abstract, VisitorEvent("choice", {"selected": chosen, "inReplyToMessageId": reply_to}, first)
    if kind == "FormResponseMessage":
        form = message.get("formResponse")
        if not isinstance(form, dict):
            raise BadRequest("a FormResponseMessage needs `formResponse`: an object")
        abstract = {
            "messageType": kind,
            "id": message_id,
            "inReplyToMessageId": reply_to,
            "references": [],
            "formResponse": form,
        }
        return abstract, VisitorEvent("custom-event", {"type": "FormResponse", "data": form}, "")
    raise BadRequest("`messageType` must be StaticContentMessage, ChoicesResponseMessage or FormResponseMessage")


# ---- query parameters -------------------------------------------------------------------------------------


def _page_size(raw: str | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_PAGE
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        raise BadRequest(f"limit must be a whole number from 1 to {MAX_PAGE}")
    return int(raw)


def _timestamp(raw: str | None, name: str) -> int | None:
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 16:
        raise BadRequest(f"{name} must be a time in epoch milliseconds")
    return int(raw)


def _boolean(raw: str | None, name: str, *, default: bool) -> bool:
    if raw is None or raw == "":
        return default
    if raw.lower() not in ("true", "false"):
        raise BadRequest(f"{name} must be true or false")
    return raw.lower() == "true"


def _preflight(request: Request, allow: str) -> Response:
    response = empty_response(204)
    response.headers.append(("Access-Control-Allow-Methods", allow))
    asked = request.headers.get("access-control-request-headers")
    if asked:
        response.headers.append(("Access-Control-Allow-Headers", asked))
    response.headers.append(("Access-Control-Max-Age", "600"))
    return response
