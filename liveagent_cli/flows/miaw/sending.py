"""What the end user sends: text, a choice, a file, a typing indicator.

- Each message's id is chosen and recorded in the state (`pending_messages`) before its request goes out,
  and every retry (a lost answer, a 5xx, a 429) sends that same id: the server processes a message id once
  (miaw-api.md §2.1 #9), so nothing is sent twice. The id leaves the record once the server took it, or
  refused it (a 4xx); an id still recorded means a step gave up not knowing.
- Messages of one session go out one at a time, under the session's send lock, in the order they asked: of
  twenty `send` processes at once each message reaches the server once, and a new messaging session (below)
  is started by exactly one of them.
- 417 means the conversation's messaging session ended (the agent ended it): the message is sent again, same
  id, with `isNewMessagingSession` and the stored pre-chat values, saying so on stderr. When the state
  already knows the session ended (the stream said so, or `end --keep-conversation`), the first attempt
  asks for the new session at once.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from liveagent_cli.core.errors import ApiError, NoMessagingSessionError, UsageError
from liveagent_cli.core.miaw.state import PENDING_KEPT, MiawState
from liveagent_cli.core.state import ChatPhase
from liveagent_cli.flows.context import Context
from liveagent_cli.flows.miaw.link import Link

if TYPE_CHECKING:
    from liveagent_cli.core.miaw.client import MiawClient
    from liveagent_cli.flows.upload import UploadPlan

MAX_FILE_BYTES = 5 * 1024 * 1024  # Enhanced Chat refuses larger files with 413 (miaw-api.md §6)
NEW_SESSION_NOTE = "starting a new messaging session with the stored pre-chat values"

# (client, message id, new session?, the state, timeout): one attempt at sending the message
Attempt = Callable[["MiawClient", str, bool, MiawState, float], None]


def send_text(ctx: Context, text: str) -> MiawState:
    """POST …/message with a StaticContentMessage of `text`."""
    if not text.strip():
        raise UsageError("the message is empty", hint="pass the text to send, or - to read it from stdin")

    def attempt(client: MiawClient, message_id: str, new_session: bool, state: MiawState, timeout: float) -> None:
        message = {
            "id": message_id,
            "messageType": "StaticContentMessage",
            "staticContent": {"formatType": "Text", "text": text},
        }
        client.send_message(
            state.conversation_id,
            message,
            new_session=new_session,
            routing_attributes=state.routing_attributes,
            language=state.language,
            timeout=timeout,
        )

    return deliver(ctx, attempt)


def choose(ctx: Context, number: int) -> tuple[MiawState, str]:
    """A ChoicesResponseMessage answering the last choices message with its option `number` (1-based)."""
    link = Link(ctx)
    try:
        options, titles, reply_to = link.state.menu_options, link.state.menu_items, link.state.menu_message_id
    finally:
        link.close()
    if not options:
        raise UsageError("no choices are pending", hint="wait for a menu with `liveagent poll --until menu`")
    if not 1 <= number <= len(options):
        raise UsageError(f"choice {number} is not between 1 and {len(options)}", hint="pick one of the numbers shown")
    option = options[number - 1]

    def attempt(client: MiawClient, message_id: str, new_session: bool, state: MiawState, timeout: float) -> None:
        message = {
            "id": message_id,
            "messageType": "ChoicesResponseMessage",
            "inReplyToMessageId": reply_to,
            "choicesResponse": {"formatType": "Selections", "selectedOptions": [{"optionIdentifier": option}]},
        }
        client.send_message(
            state.conversation_id,
            message,
            new_session=new_session,
            routing_attributes=state.routing_attributes,
            language=state.language,
            timeout=timeout,
        )

    def answered(state: MiawState) -> None:
        state.menu_options, state.menu_items, state.menu_message_id = [], [], ""

    return deliver(ctx, attempt, done=answered), titles[number - 1]


def upload(ctx: Context, plan: UploadPlan, *, text: str = "", on_progress: Any = None) -> MiawState:
    """POST …/file: the file as multipart `fileData`, with a message id and a file id of its own."""
    if plan.size > MAX_FILE_BYTES:
        raise UsageError(
            f"{plan.path} is {plan.size / 1048576:.1f} MiB; Enhanced Chat takes files up to 5 MB",
            hint="send a smaller file",
        )
    file_id = str(uuid.uuid4())

    def attempt(client: MiawClient, message_id: str, new_session: bool, state: MiawState, timeout: float) -> None:
        with plan.path.open("rb") as stream:  # opened per attempt: a retry sends the whole file again
            body = client.file_body(
                message_id,
                file_id,
                plan.path.name,
                plan.content_type,
                stream,
                plan.size,
                text=text,
                new_session=new_session,
                routing_attributes=state.routing_attributes,
                language=state.language,
            )
            body.on_progress = on_progress
            client.send_file(state.conversation_id, body, timeout=max(timeout, plan.size / (256 * 1024)))

    return deliver(ctx, attempt)


def typing(ctx: Context, on: bool) -> MiawState:
    """POST …/entry: TypingStartedIndicator or TypingStoppedIndicator (its entry id kept across retries)."""
    link = Link(ctx)
    try:
        conversation = link.conversation()
        entry_id = str(uuid.uuid4())
        link.request(lambda client, timeout: client.typing(conversation, on, entry_id, timeout=timeout))
        return link.state
    finally:
        link.close()


def deliver(ctx: Context, attempt: Attempt, *, done: Callable[[MiawState], None] | None = None) -> MiawState:
    """Send one message under the rules above; returns the state once the server took it."""
    link = Link(ctx)
    try:
        link.conversation()
        with ctx.store.lock("send"):
            message_id = str(uuid.uuid4())

            def record(state: MiawState) -> None:
                if state.conversation_closed:
                    raise UsageError("the conversation is closed", hint="start a new one with `liveagent session`")
                state.pending_messages.append(message_id)
                del state.pending_messages[:-PENDING_KEPT]

            state = link.update(record)
            new_session = state.chat == ChatPhase.ENDED
            if new_session:
                ctx.out.note(f"the messaging session had ended; {NEW_SESSION_NOTE}")
            deadline = link.deadline()
            while True:
                try:
                    link.request(functools.partial(_once, attempt, message_id, new_session, state), deadline)
                    break
                except NoMessagingSessionError:
                    if new_session:
                        _forget_pending(link, message_id)
                        raise
                    new_session = True
                    ctx.out.note(f"the agent ended the messaging session (417); {NEW_SESSION_NOTE} and sending again")
                except ApiError as exc:
                    if exc.status is not None and exc.status < 500:
                        _forget_pending(link, message_id)  # refused: the server did not take it
                    raise
            started = new_session

            def sent(state: MiawState) -> None:
                if message_id in state.pending_messages:
                    state.pending_messages.remove(message_id)
                state.messages_sent += 1
                if started:
                    state.sessions_started += 1
                    state.chat, state.ended_reason = ChatPhase.REQUESTED, ""
                if done is not None:
                    done(state)

            return link.update(sent)
    finally:
        link.close()


def _once(
    attempt: Attempt, message_id: str, new_session: bool, state: MiawState, client: MiawClient, timeout: float
) -> None:
    attempt(client, message_id, new_session, state, timeout)


def _forget_pending(link: Link, message_id: str) -> None:
    def forget(state: MiawState) -> None:
        if message_id in state.pending_messages:
            state.pending_messages.remove(message_id)

    link.update(forget)
