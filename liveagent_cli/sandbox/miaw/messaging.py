"""Enhanced Chat's server state, independent of HTTP: tokens, subjects, conversations, their sessions, and the
rules of miaw-api.md with the choices docs/sandbox.md ("Enhanced Chat") records where the reference is unsure.

Like the legacy pod (liveagent/pod.py) it runs on one event loop and nothing in it waits: a message is
processed in the request that carries it, each event goes to the subject's open stream at once (a future
wakes the stream's writer), and agents act through their `AgentChat` (agentchat.py, given to this class so
it imports no agent code).

Rules implemented here:
- tokens: `--token-ttl` seconds; 401 once expired (or revoked, or expired by a fault), and the open stream
  ends; a continuation token has the same subject and expiry and a new clientId.
- conversation ids: lowercase v4 UUIDs (400 `Specify the conversationId in UUID format.` otherwise), chosen
  by the client; creating one again under the same subject answers as the first time and creates nothing.
- a message id is processed once per conversation: a repeat gets the first answer and changes nothing.
- a message when no messaging session is open: 417, unless `isNewMessagingSession` is true, which starts a
  new session (routed afresh, a new agent behaviour); the message is its first.
- what the end user sends before an agent joins waits for the agent, who gets it on joining.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
import re
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from liveagent_cli.sandbox.defaults import AGENT_NAME, user_id_for
from liveagent_cli.sandbox.miaw import entries as wire
from liveagent_cli.sandbox.miaw.conversation import (
    INITIAL,
    NEEDS_ROUTING,
    ROUTED,
    AccessToken,
    Conversation,
    LoggedEvent,
    MessagingSession,
    OpenStream,
    Subject,
    wall_ms,
)
from liveagent_cli.sandbox.miaw.deployment import embedded_service_config
from liveagent_cli.sandbox.miaw.jwt import (
    SigningKey,
    TokenFormatError,
    b64url_decode,
    decode_unverified,
    encode,
    make_key,
)
from liveagent_cli.sandbox.miaw.profiles import DEPLOYMENT_NAME_PATTERN, ORG_ID_PATTERN, MiawSettings
from liveagent_cli.sandbox.miaw.ratelimits import OrgWindows
from liveagent_cli.sandbox.miaw.refusals import (
    BAD_CONVERSATION_ID,
    BadRequest,
    Conflict,
    NoMessagingSession,
    NotFound,
    Unauthorized,
)
from liveagent_cli.sandbox.model.agent_port import AgentChat, ChatState, Staffing, VisitorEvent
from liveagent_cli.sandbox.model.queues import Queues

log = logging.getLogger("liveagent_cli.sandbox.miaw")

UUID_V4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\Z")
UUID_ANY = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")
_IDENTITY_ALGORITHMS = ("RS256", "RS512")
ROLES = {"visitor": "EndUser", "agent": "Agent", "pod": "System", "timeout": "System", "reset": "System"}
SYSTEM = wire.Sender("System", "conversation", "System", "", wire.SYSTEM_NAME)
# what the control API's record calls each kind of end-user message
NOTE_TYPES = {"message": "Message", "choice": "ChoicesResponse", "file": "File", "custom-event": "FormResponse"}

AgentChatFactory = Callable[["Messaging", Conversation, MessagingSession], AgentChat]


def string(body: dict[str, Any], name: str, what: str, *, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise BadRequest(f"{what} needs `{name}`: a non-empty string")
    return value


class Messaging:
    """Every token, subject and conversation of one sandbox's Enhanced Chat. Not thread-safe."""

    def __init__(
        self, settings: MiawSettings, staffing: Staffing, agent_chat: AgentChatFactory, seed: int | None = None
    ) -> None:
        self.settings = settings
        self.staffing = staffing
        self._agent_chat = agent_chat
        self.seed = seed
        self.rng: random.Random = random.Random(f"miaw-{seed}") if seed is not None else random.SystemRandom()
        self._key: SigningKey | None = None
        self._key_ready: asyncio.Future[SigningKey] | None = None
        self.tokens: dict[str, AccessToken] = {}
        self.subjects: dict[tuple[str, str, str], Subject] = {}
        self.conversations: dict[str, Conversation] = {}  # open ones, then closed ones (newest last)
        self.closed_order: list[str] = []
        self.event_id = self.rng.randrange(10**9, 2 * 10**9)  # ids look like the reference's "2147867834"
        self.org_windows = OrgWindows()
        self.queues = Queues[Conversation](lambda: self.staffing.expected_wait)
        self.issued: list[str] = []  # every JWT handed out (the latest 100,000), for tests that check none leaks
        self.closing = False

    # ---- ids ---------------------------------------------------------------------------------------------

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def record_id(self, prefix: str) -> str:
        alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
        return prefix + "".join(self.rng.choice(alphabet) for _ in range(15 - len(prefix)))

    def channel_address(self, org15: str, deployment: str) -> str:
        """The deployment's Messaging Channel address id: the same for every token of one deployment."""
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"liveagent-sandbox:{org15}:{deployment}"))

    def set_agent(self, staffing: Staffing) -> None:
        self.staffing = staffing

    # ---- tokens ------------------------------------------------------------------------------------------

    async def signing_key(self) -> SigningKey:
        """The sandbox's RSA key, made on first use off the event loop (tens of milliseconds, and the first
        use imports `cryptography`)."""
        if self._key is not None:
            return self._key
        if self._key_ready is None:
            loop = asyncio.get_running_loop()
            self._key_ready = asyncio.ensure_future(loop.run_in_executor(None, make_key, self.seed))
        self._key = await asyncio.shield(self._key_ready)
        return self._key

    def check_ids(self, body: dict[str, Any]) -> tuple[str, str]:
        """The org id and deployment name of a token request, checked (400 names what is wrong)."""
        org = string(body, "orgId", "an access-token request")
        assert org is not None
        if not ORG_ID_PATTERN.match(org):
            raise BadRequest(f"orgId {org!r} is not a Salesforce org id (15 or 18 characters starting with 00D)")
        if self.settings.org_id15 is not None and org[:15] != self.settings.org_id15:
            raise BadRequest(f"orgId {org} is not this server's org")
        deployment = string(body, "esDeveloperName", "an access-token request")
        assert deployment is not None
        if not DEPLOYMENT_NAME_PATTERN.match(deployment):
            raise BadRequest(f"esDeveloperName {deployment!r} is not a deployment API name")
        if self.settings.deployment_name is not None and deployment != self.settings.deployment_name:
            raise BadRequest(f"No Embedded Service deployment named {deployment} is published in this org")
        version = body.get("capabilitiesVersion")
        if not isinstance(version, str) or not version:
            raise BadRequest('an access-token request needs `capabilitiesVersion`: a string such as "1"')
        for name in ("platform", "deviceId"):
            if name in body and body[name] is not None and not isinstance(body[name], str):
                raise BadRequest(f"`{name}` must be a string")
        if "context" in body and body["context"] is not None and not isinstance(body["context"], dict):
            raise BadRequest("`context` must be an object")
        return org, deployment

    def verified_subject(self, body: dict[str, Any]) -> tuple[str | None, str]:
        """The `uid` and keyset of a verified user's identity token; (None, why) when it does not verify."""
        if body.get("authorizationType") != "JWT":
            raise BadRequest('an authenticated access-token request needs `authorizationType`: "JWT"')
        raw = string(body, "customerIdentityToken", "an authenticated access-token request")
        assert raw is not None
        try:
            header, claims = decode_unverified(raw)
        except TokenFormatError as exc:
            return None, str(exc)
        if header.get("alg") not in _IDENTITY_ALGORITHMS:
            return None, "the identity token is not signed with RS256 or RS512"
        if not isinstance(header.get("kid"), str):
            return None, "the identity token's header has no kid"
        sub, iss, exp = claims.get("sub"), claims.get("iss"), claims.get("exp")
        if not (isinstance(sub, str) and sub and isinstance(iss, str) and iss):
            return None, "the identity token needs the claims sub and iss"
        if isinstance(exp, bool) or not isinstance(exp, int | float) or exp <= time.time():
            return None, "the identity token has expired (or has no exp)"
        return sub, iss

    def subject_for(self, org15: str, deployment: str, sub: str, verified: bool) -> Subject:
        key = (org15, deployment, sub)
        subject = self.subjects.get(key)
        if subject is None:
            subject = Subject(sub, org15, deployment, verified, self.uuid(), self.settings.replay_limit)
            self.subjects[key] = subject
        return subject

    def issue(
        self,
        subject: Subject,
        org: str,
        deployment: str,
        base_url: str,
        key: SigningKey,
        body: dict[str, Any],
        *,
        lifetime: tuple[float, int] | None = None,
        device_id: str | None = None,
    ) -> AccessToken:
        """A new token; `lifetime` (its expiry and `exp`) for a continuation, else `token_ttl` from now."""
        now = time.time()
        issued_at = int(now)
        if lifetime is None:  # `exp - iat` is the lifetime in whole seconds; the server counts it from now
            expires, exp_claim = now + self.settings.token_ttl, issued_at + math.ceil(self.settings.token_ttl)
        else:
            expires, exp_claim = lifetime
        jti = self.uuid()
        client_id = f"v2/{deployment}/{self.uuid()}"
        device = device_id or (body.get("deviceId") if isinstance(body.get("deviceId"), str) else None) or self.uuid()
        platform = body.get("platform") if isinstance(body.get("platform"), str) else "Web"
        claims = {
            "sub": subject.id,
            "clientId": client_id,
            "channelAddId": self.channel_address(subject.org15, deployment),
            "iss": "iamessage",
            "deviceId": device,
            "capabilitiesVersion": body.get("capabilitiesVersion", "1"),
            "orgId": subject.org15,
            "deviceInfo": json.dumps({"platform": platform, "client": "liveagent-sandbox"}, separators=(",", ":")),
            "platform": platform,
            "jwtId": jti,
            "clientSessionId": self.uuid(),
            "aud": "USER",
            "evtKey": f"{subject.org15}:{subject.platform_key}",
            "apiVersion": "v2",
            "scope": "internal",
            "jwks_uri": f"{base_url}/iamessage/v1/.well-known/jwks.json?keyId={key.kid}",
            "esDeploymentType": "API",
            "exp": exp_claim,
            "iat": issued_at,
        }
        jwt = encode(claims, key)
        token = AccessToken(jwt, jti, subject, client_id, org, device, now, expires, exp_claim, subject.verified)
        self.tokens[jwt] = token
        self.issued.append(jwt)
        if len(self.issued) > 100_000:
            del self.issued[:10_000]
        return token

    def token_answer(self, token: AccessToken) -> dict[str, Any]:
        subject = token.subject
        configuration = embedded_service_config(
            subject.deployment, self.channel_address(subject.org15, subject.deployment), verified=subject.verified
        )
        return {
            "accessToken": token.jwt,
            "lastEventId": str(subject.last_event_id or self.event_id),
            "context": {
                "deviceId": token.device_id,
                "endUser": {"subject": subject.id},
                "configuration": {"embeddedServiceConfig": configuration},
            },
        }

    def authenticate(self, authorization: str | None) -> AccessToken:
        """The token a request's `Authorization: Bearer` names; 401 when missing, unknown, revoked or expired."""
        if not authorization:
            raise Unauthorized("Full authentication is required to access this resource: no Authorization header")
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthorized("the Authorization header must be `Bearer <accessToken>`")
        token = self.tokens.get(value.strip())
        if token is None:
            if self._expired_signed_by_us(value.strip()):  # swept from the table: it expired long ago
                raise Unauthorized("Jwt is expired")
            raise Unauthorized("Invalid JWT: this access token was not issued by this server")
        if token.revoked == "revoked":
            raise Unauthorized("the access token was revoked")
        if token.expired():
            raise Unauthorized("Jwt is expired")
        return token

    def _expired_signed_by_us(self, jwt: str) -> bool:
        """A token this server signed whose `exp` has passed (checked statelessly, as a real server does)."""
        key = self._key
        if key is None:
            return False
        try:
            header, claims = decode_unverified(jwt)
            signature = b64url_decode(jwt.rsplit(".", 1)[1])
        except (TokenFormatError, ValueError):
            return False
        exp = claims.get("exp")
        if header.get("kid") != key.kid or not isinstance(exp, int) or exp > time.time():
            return False
        return key.verify(jwt.rsplit(".", 1)[0].encode("ascii"), signature)

    def continuation(self, token: AccessToken, base_url: str) -> AccessToken:
        """Same subject and expiry, a new clientId (miaw-api.md 1.3: it does not extend the lifetime)."""
        assert self._key is not None  # the token being continued was signed with it
        return self.issue(
            token.subject,
            token.org_id,
            token.subject.deployment,
            base_url,
            self._key,
            {},
            lifetime=(token.expires, token.exp_claim),
            device_id=token.device_id,
        )

    def revoke(self, token: AccessToken) -> None:
        if not token.verified:
            raise BadRequest("only a verified user's access token can be revoked")
        token.revoked = "revoked"
        self._end_streams_of(token, "revoked")

    def expire(self, token: AccessToken) -> None:
        """An `expire` fault: the token stops working now, as if its lifetime had passed."""
        token.revoked = "expired"
        self._end_streams_of(token, "expired")

    def _end_streams_of(self, token: AccessToken, why: str) -> None:
        for stream in token.subject.streams:
            if stream.token is token:
                stream.end(why)

    # ---- conversations -----------------------------------------------------------------------------------

    def check_deployment(self, token: AccessToken, name: str | None) -> None:
        if name != token.subject.deployment:
            raise BadRequest(f"esDeveloperName {name!r} is not the deployment this access token was issued for")

    def conversation_of(self, token: AccessToken, raw_id: str) -> Conversation:
        """The conversation a path names: 400 for a malformed id, 404 for one this subject does not have."""
        if not UUID_V4.match(raw_id):
            raise BadRequest(BAD_CONVERSATION_ID)
        conversation = token.subject.conversations.get(raw_id)
        if conversation is None:
            raise NotFound(f"no conversation {raw_id} for this end user")
        return conversation

    def create(self, token: AccessToken, body: dict[str, Any]) -> tuple[Conversation, bool]:
        """A new conversation and its first messaging session; (conversation, False) for a repeat."""
        raw_id = body.get("conversationId")
        if not isinstance(raw_id, str) or not UUID_V4.match(raw_id):
            raise BadRequest(BAD_CONVERSATION_ID)
        self.check_deployment(token, string(body, "esDeveloperName", "a conversation"))
        attributes = body.get("routingAttributes")
        if attributes is not None and not isinstance(attributes, dict):
            raise BadRequest("`routingAttributes` must be an object of pre-chat field names and values")
        language = body.get("language")
        if language is not None and not isinstance(language, str):
            raise BadRequest("`language` must be a string such as en_US")
        subject = token.subject
        existing = self.conversations.get(raw_id)
        if existing is not None:
            if existing.subject is not subject:
                raise Conflict(f"the conversationId {raw_id} is already in use")
            if existing.closed:
                raise Conflict(f"the conversation {raw_id} is closed; choose a new conversationId")
            return existing, False
        if self.settings.rate_limits:
            subject.creates.take("conversations started by one end user")
        conversation = Conversation(
            raw_id,
            subject,
            subject.deployment,
            self.channel_address(subject.org15, subject.deployment),
            dict(attributes or {}),
            language,
            _visitor_name(attributes or {}),
        )
        subject.conversations[raw_id] = conversation
        self.conversations[raw_id] = conversation
        conversation.note("visitor", "CreateConversation", body, self.settings.events_limit)
        self.start_session(conversation)
        return conversation, True

    def check_open(self, conversation: Conversation) -> None:
        if conversation.closed:
            raise BadRequest(f"the conversation {conversation.id} is closed")

    def accept_message(
        self,
        token: AccessToken,
        conversation: Conversation,
        message_id: str,
        body: dict[str, Any],
        abstract: dict[str, Any],
        event: VisitorEvent,
    ) -> bytes:
        """Process an end user's message once: echo it, give it to the agent; returns the 202 answer."""
        answered = conversation.message_ids.get(message_id)
        if answered is not None:
            return answered
        self.check_open(conversation)
        session = conversation.session
        fresh = body.get("isNewMessagingSession") is True
        if session is None and not fresh:
            raise NoMessagingSession(
                "No active messaging session: send the message again with isNewMessagingSession set to true"
            )
        if self.settings.rate_limits:
            conversation.inbound.take("messages of one conversation")
        if session is None:
            attributes = body.get("routingAttributes")
            if isinstance(attributes, dict):
                conversation.routing_attributes = dict(attributes)
                conversation.visitor_name = _visitor_name(attributes) or conversation.visitor_name
            session = self.start_session(conversation)
        conversation.note("visitor", NOTE_TYPES.get(event.kind, event.kind), body, self.settings.events_limit)
        client_ts = wall_ms()
        entry = self.publish(
            conversation,
            "Message",
            wire.message_payload(abstract),
            self.end_user(token, conversation),
            identifier=message_id,
            client_ts=client_ts,
        )
        answer = json.dumps(
            {"conversationEntries": [{"id": entry.identifier, "clientTimestamp": client_ts}]}, separators=(",", ":")
        ).encode()
        conversation.message_ids[message_id] = answer
        self.visitor_event(conversation, session, event, message_id)
        return answer

    def typing(self, conversation: Conversation, on: bool, body: dict[str, Any]) -> None:
        conversation.note("visitor", "Typing" if on else "NotTyping", body, self.settings.events_limit)
        session = conversation.session
        if session is not None and session.state is ChatState.ESTABLISHED:
            self.visitor_event(conversation, session, VisitorEvent("typing" if on else "not-typing", {}, ""), None)

    def acknowledge(self, conversation: Conversation, body: dict[str, Any]) -> None:
        conversation.acks += 1
        conversation.note("visitor", "AcknowledgeEntries", body, self.settings.events_limit)

    def end_session_by_user(self, conversation: Conversation) -> None:
        conversation.note("visitor", "EndSession", {}, self.settings.events_limit)
        session = conversation.session
        if session is not None:
            self.end_session(conversation, session, "visitor", "visitor")

    def close(self, conversation: Conversation) -> None:
        """The end user closes the conversation for good: its session ends, then CloseConversation."""
        if conversation.closed:
            return
        conversation.note("visitor", "CloseConversation", {}, self.settings.events_limit)
        session = conversation.session
        if session is not None:
            self.end_session(conversation, session, "visitor", "closed")
        sender = self.end_user(None, conversation)
        self.publish(conversation, "CloseConversation", wire.close_conversation(self.uuid(), conversation.id), sender)
        conversation.closed_ms = wall_ms()
        self.closed_order.append(conversation.id)
        self._forget_old()

    def _forget_old(self) -> None:
        while len(self.closed_order) > self.settings.history_limit:
            old = self.conversations.pop(self.closed_order.pop(0), None)
            if old is not None:
                old.subject.conversations.pop(old.id, None)

    def list_for(self, subject: Subject) -> list[Conversation]:
        return sorted(subject.conversations.values(), key=lambda c: c.created_ms, reverse=True)

    # ---- the stream --------------------------------------------------------------------------------------

    async def may_open_stream(self, token: AccessToken) -> None:
        """409 when the subject has a stream open and a second one is refused (`second_stream` "refuse")."""
        subject = token.subject
        current = subject.open_stream
        if current is not None and self.settings.second_stream == "refuse":
            if current.gone is not None:  # its client may be leaving right now: give the close a moment
                await asyncio.wait([current.gone], timeout=self.settings.accept_grace)
            if subject.open_stream is not None:
                raise Conflict("another event stream of this end user is open; close it first")

    def attach_stream(
        self, token: AccessToken, after: int | None, cut_after: int | None
    ) -> tuple[OpenStream, list[LoggedEvent]]:
        """The subject's stream from now on (any other one ends), and what it replays: the events after
        `after`. Called once the answer's head is sent, so a stream that never starts never counts."""
        subject = token.subject
        for stream in subject.streams:
            stream.end("replaced")
        stream = OpenStream(token, cut_after=cut_after)
        subject.streams.append(stream)
        replayed = subject.since(after) if after is not None and self.settings.replay else []
        return stream, replayed

    def stream_closed(self, stream: OpenStream) -> None:
        streams = stream.token.subject.streams
        if stream in streams:
            streams.remove(stream)

    # ---- publishing --------------------------------------------------------------------------------------

    def publish(
        self,
        conversation: Conversation,
        entry_type: str,
        payload: dict[str, Any],
        sender: wire.Sender,
        *,
        identifier: str | None = None,
        related: tuple[str, ...] = (),
        client_ts: int | None = None,
    ) -> wire.Entry:
        """Add an entry to the transcript and send it on the subject's stream."""
        transcripted = conversation.next_ts()
        entry = wire.make_entry(
            identifier=identifier or payload.get("id") or self.uuid(),
            entry_type=entry_type,
            payload=payload,
            sender=sender,
            transcripted=transcripted,
            client_ts=client_ts if client_ts is not None else transcripted,
            related=related,
            conversation_id=conversation.id,
            channel_address=conversation.channel_address,
            platform_key=conversation.subject.platform_key,
        )
        conversation.entries.append(entry)
        self.event_id += 1
        conversation.subject.publish(self.event_id, entry.event_name, entry.data)
        return entry

    def end_user(self, token: AccessToken | None, conversation: Conversation) -> wire.Sender:
        client = token.client_id if token is not None else ""
        name = conversation.visitor_name or "Guest"
        return wire.Sender("EndUser", "iamessage", conversation.subject.id, client, name)

    @staticmethod
    def agent_sender(session: MessagingSession, name: str | None = None, user_id: str | None = None) -> wire.Sender:
        return wire.Sender("Agent", "agent", user_id or session.agent_user_id, "", name or session.agent_name)

    # ---- sessions and the agent --------------------------------------------------------------------------

    def agent_chat(self, conversation: Conversation, session: MessagingSession | None = None) -> AgentChat:
        session = session or conversation.latest
        assert session is not None, "every conversation has a session from its creation on"
        return self._agent_chat(self, conversation, session)

    def start_session(self, conversation: Conversation) -> MessagingSession:
        session = MessagingSession(len(conversation.sessions) + 1, self.record_id("0Mw"), time.monotonic())
        conversation.sessions.append(session)
        conversation.routing_status = INITIAL
        self.queues.of(conversation.deployment).join(conversation)
        staffing = self.staffing
        session.agent_kind = staffing.name
        session.agent_name = AGENT_NAME
        session.agent = staffing.factory(self.agent_chat(conversation, session))
        self.guard(conversation, "on_init", session.agent.on_init)
        return session

    def routed(self, conversation: Conversation, session: MessagingSession, wait: int | None) -> None:
        conversation.routing_status = ROUTED
        payload = wire.routing_result(
            self.uuid(), routing_type="Initial", wait_seconds=wait, record_id=session.record_id
        )
        self.publish(conversation, "RoutingResult", payload, SYSTEM)

    def establish(self, conversation: Conversation, session: MessagingSession, name: str, user_id: str) -> None:
        session.state = ChatState.ESTABLISHED
        session.agent_name, session.agent_user_id = name, user_id
        conversation.routing_status = ROUTED
        queue = self.queues.of(conversation.deployment)
        queue.accepted(time.monotonic() - session.queued_at)
        queue.leave(conversation)
        self.publish(conversation, "RoutingWorkResult", wire.routing_work_result(self.uuid(), "Accepted"), SYSTEM)
        joined = wire.participant_changed(self.uuid(), "add", self.agent_sender(session))
        self.publish(conversation, "ParticipantChanged", joined, SYSTEM)
        asyncio.get_running_loop().call_soon(self._after_established, conversation, session)

    def _after_established(self, conversation: Conversation, session: MessagingSession) -> None:
        if session.state is not ChatState.ESTABLISHED:
            return
        agent = session.agent
        if agent is not None:
            self.guard(conversation, "on_established", agent.on_established)
        held, session.held = session.held, []
        for event, message_id in held:
            if session.state is not ChatState.ESTABLISHED:
                return
            self.visitor_event(conversation, session, event, message_id)

    def visitor_event(
        self, conversation: Conversation, session: MessagingSession, event: VisitorEvent, message_id: str | None
    ) -> None:
        """Hand what the end user did to the agent, or keep it until one joins."""
        if session.state is ChatState.QUEUED:
            session.held.append((event, message_id))
            return
        if session.state is not ChatState.ESTABLISHED:
            return
        if message_id is not None and self.settings.agent_receipts:
            now = wall_ms()
            ack = wire.acknowledgement(self.uuid(), False, message_id, now)
            self.publish(
                conversation, "DeliveryAcknowledgement", ack, self.agent_sender(session), related=(message_id,)
            )
            session.unread.append(message_id)
        agent = session.agent
        if agent is not None:
            self.guard(conversation, "on_visitor_event", lambda: agent.on_visitor_event(event))

    def read_all(self, conversation: Conversation, session: MessagingSession) -> None:
        """The agent answers: what the end user sent so far counts as read."""
        unread, session.unread = session.unread, []
        sender = self.agent_sender(session)
        for message_id in unread:
            ack = wire.acknowledgement(self.uuid(), True, message_id, wall_ms())
            self.publish(conversation, "ReadAcknowledgement", ack, sender, related=(message_id,))

    def end_session(self, conversation: Conversation, session: MessagingSession, by: str, reason: str) -> None:
        """The session ends (agent, end user, routing failure): the agent leaves, SessionStatusChanged Ended."""
        if not session.is_open:
            return
        if session.state is ChatState.QUEUED:
            self.queues.of(conversation.deployment).leave(conversation)
        established = session.state is ChatState.ESTABLISHED
        session.state = ChatState.ENDED
        session.ended_by, session.end_reason, session.ended_ms = by, reason, wall_ms()
        session.cancel_timers()
        session.held.clear()
        if established:
            for name in list(session.conference):
                left = wire.participant_changed(self.uuid(), "remove", _member(name))
                self.publish(conversation, "ParticipantChanged", left, SYSTEM)
            left = wire.participant_changed(self.uuid(), "remove", self.agent_sender(session))
            self.publish(conversation, "ParticipantChanged", left, SYSTEM)
        status = wire.session_status(self.uuid(), "Ended", ROLES.get(by, "System"))
        self.publish(conversation, "SessionStatusChanged", status, SYSTEM)
        conversation.routing_status = NEEDS_ROUTING
        agent, session.agent = session.agent, None
        if agent is not None:
            self.guard(conversation, "on_end", lambda: agent.on_end(by, reason))

    def guard(self, conversation: Conversation, hook: str, call: Callable[[], None]) -> None:
        """Run an agent hook; a bug in a behaviour is logged on the conversation, never raised to the client."""
        try:
            call()
        except Exception as exc:
            log.exception("conversation %s: agent %s failed", conversation.id, hook)
            error = {"hook": hook, "error": f"{type(exc).__name__}: {exc}"}
            conversation.note("sandbox", "AgentError", error, self.settings.events_limit)

    # ---- inspection and housekeeping ---------------------------------------------------------------------

    def all_conversations(self) -> Iterator[Conversation]:
        """Open conversations, then closed ones, oldest first within each."""
        closed = set(self.closed_order)
        yield from (c for c in self.conversations.values() if c.id not in closed)
        yield from (self.conversations[i] for i in self.closed_order if i in self.conversations)

    def open_chats(self) -> list[Conversation]:
        return [c for c in self.conversations.values() if c.session is not None and not c.closed]

    def sweep(self) -> None:
        """Forget tokens long expired (a request with one gets 401 either way), and guests nobody can reach."""
        now = time.time()
        stale = [jwt for jwt, t in self.tokens.items() if t.expires + self.settings.token_ttl < now]
        for jwt in stale:
            del self.tokens[jwt]

    async def run_sweeper(self) -> None:
        while True:
            await asyncio.sleep(max(1.0, min(60.0, self.settings.token_ttl / 4)))
            self.sweep()

    def reset(self) -> int:
        """Forget everything; open streams end. Returns how many conversations were open."""
        count = len(self.open_chats())
        for conversation in list(self.conversations.values()):
            session = conversation.session
            if session is not None:
                self._drop_session(conversation, session)
        for subject in self.subjects.values():
            for stream in subject.streams:
                stream.end("reset")
        self.tokens.clear()
        self.subjects.clear()
        self.conversations.clear()
        self.closed_order.clear()
        self.issued.clear()
        self.org_windows.clear()
        self.queues.clear()
        return count

    def _drop_session(self, conversation: Conversation, session: MessagingSession) -> None:
        """End a session without a word on the stream (a reset forgets it anyway)."""
        session.state = ChatState.ENDED
        session.ended_by = session.end_reason = "reset"
        session.cancel_timers()
        agent, session.agent = session.agent, None
        if agent is not None:
            self.guard(conversation, "on_end", lambda: agent.on_end("reset", "reset"))

    def close_all(self) -> None:
        """The sandbox is stopping: every stream ends now."""
        self.closing = True
        for subject in self.subjects.values():
            for stream in subject.streams:
                stream.end("closing")
            for conversation in subject.conversations.values():
                for session in conversation.sessions:
                    session.cancel_timers()


def _visitor_name(attributes: dict[str, Any]) -> str:
    first, last = attributes.get("_firstName"), attributes.get("_lastName")
    parts = [p for p in (first, last) if isinstance(p, str) and p]
    return " ".join(parts)


def _member(name: str) -> wire.Sender:
    return wire.Sender("Agent", "agent", user_id_for(name), "", name)
