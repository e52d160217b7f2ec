"""Conversation entries: what the transcript holds and the stream carries, in the shapes of miaw-api.md 3.3-3.4.

An `Entry` is one line of a conversation (a message, a participant joining, a routing result, an
acknowledgement...). The stream sends it inside the common envelope with `entryPayload` as a JSON string;
the REST entries list sends the same entry with `entryPayload` as an object (or a string: the
`entry_payload` choice). Each entry is encoded for the stream once, when it is made, and kept only so.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from liveagent_cli.sandbox.jsonbody import encode

CHANNEL_TYPE = "embedded_messaging"
VISIBILITY = "Standard"

# entryType -> the stream's event name (miaw-api.md 3.2 and 3.4)
EVENT_NAMES: dict[str, str] = {
    "Message": "CONVERSATION_MESSAGE",
    "ParticipantChanged": "CONVERSATION_PARTICIPANT_CHANGED",
    "RoutingResult": "CONVERSATION_ROUTING_RESULT",
    "RoutingWorkResult": "CONVERSATION_ROUTING_WORK_RESULT",
    "DeliveryAcknowledgement": "CONVERSATION_DELIVERY_ACKNOWLEDGEMENT",
    "ReadAcknowledgement": "CONVERSATION_READ_ACKNOWLEDGEMENT",
    "TypingStartedIndicator": "CONVERSATION_TYPING_STARTED_INDICATOR",
    "TypingStoppedIndicator": "CONVERSATION_TYPING_STOPPED_INDICATOR",
    "SessionStatusChanged": "CONVERSATION_SESSION_STATUS_CHANGED",
    "CloseConversation": "CONVERSATION_CLOSE_CONVERSATION",
}
# every entry type `entryTypeFilter` may name (the Android SDK's enum and the docs')
ENTRY_TYPES = (
    "Message",
    "ParticipantChanged",
    "RoutingResult",
    "RoutingWorkResult",
    "DeliveryAcknowledgement",
    "ReadAcknowledgement",
    "TypingIndicator",
    "TypingStartedIndicator",
    "TypingStoppedIndicator",
    "ProgressIndicator",
    "StreamingToken",
    "SessionStatusChanged",
    "CloseConversation",
    "ClientAction",
    "ClientMenu",
)

SYSTEM_NAME = "Automated Process"  # the sender of participant changes and routing results (F-TEAMS)


class Sender(NamedTuple):
    role: str  # EndUser, Agent, Chatbot, System, Router
    app_type: str  # iamessage, agent, chatbot, conversation
    subject: str
    client_identifier: str
    display_name: str

    def wire(self) -> dict[str, str]:
        return {
            "role": self.role,
            "appType": self.app_type,
            "subject": self.subject,
            "clientIdentifier": self.client_identifier,
        }


class Entry(NamedTuple):
    """One conversation entry, kept as the stream's encoded envelope (`data`) and the few fields that the
    entries list filters on. Only atomic fields: the garbage collector stops tracking such tuples, which
    keeps its pauses short with a thousand conversations' transcripts in memory (as legacy's `Outbound`)."""

    identifier: str
    entry_type: str
    role: str  # the sender's
    transcripted: int  # epoch ms, strictly increasing within a conversation
    data: bytes  # the SSE `data:` JSON

    @property
    def event_name(self) -> str:
        return EVENT_NAMES.get(self.entry_type, "CONVERSATION_" + self.entry_type.upper())

    def entry_object(self) -> dict[str, Any]:
        """The envelope's `conversationEntry`, `entryPayload` still a JSON string."""
        value: dict[str, Any] = json.loads(self.data)["conversationEntry"]
        return value

    @property
    def payload(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.entry_object()["entryPayload"])
        return value

    def rest(self, payload_as: str) -> dict[str, Any]:
        """The entry as the REST entries list shows it: `entryPayload` an object, or a string (as on the stream)."""
        entry = self.entry_object()
        if payload_as == "object":
            entry["entryPayload"] = json.loads(entry["entryPayload"])
        return entry


def make_entry(
    *,
    identifier: str,
    entry_type: str,
    payload: dict[str, Any],
    sender: Sender,
    transcripted: int,
    client_ts: int,
    related: tuple[str, ...],
    conversation_id: str,
    channel_address: str,
    platform_key: str,
) -> Entry:
    envelope = {
        "channelPlatformKey": platform_key,
        "channelType": CHANNEL_TYPE,
        "channelAddressIdentifier": channel_address,
        "conversationId": conversation_id,
        "conversationEntry": {
            "senderDisplayName": sender.display_name,
            "identifier": identifier,
            "entryType": entry_type,
            "entryPayload": encode(payload).decode("utf-8"),
            "sender": sender.wire(),
            "contextParamMap": {},
            "visibilityStrategy": VISIBILITY,
            "transcriptedTimestamp": transcripted,
            "clientTimestamp": client_ts,
            "clientDuration": 0,
            "relatedRecords": list(related),
        },
    }
    return Entry(identifier, entry_type, sender.role, transcripted, encode(envelope))


# ---- payloads (entryPayload objects) -----------------------------------------------------------------


def message_payload(message: dict[str, Any]) -> dict[str, Any]:
    """A `Message` entry around an abstractMessage (as the end user sent it, or as an agent says it)."""
    return {"entryType": "Message", "id": message["id"], "abstractMessage": message, "messageReason": None}


def text_message(message_id: str, text: str, in_reply_to: str | None = None) -> dict[str, Any]:
    return {
        "messageType": "StaticContentMessage",
        "id": message_id,
        "inReplyToMessageId": in_reply_to,
        "references": [],
        "staticContent": {"formatType": "Text", "text": text},
    }


def choices_message(message_id: str, format_type: str, text: str, options: list[tuple[str, str]]) -> dict[str, Any]:
    """Buttons or QuickReplies: `options` are (optionIdentifier, title)."""
    items = [
        {
            "itemType": "TitleOptionItem",
            "titleItem": {
                "itemType": "TitleItem",
                "title": title,
                "subTitle": None,
                "secondarySubTitle": None,
                "tertiarySubTitle": None,
                "referenceId": None,
            },
            "optionIdentifier": option_id,
            "optionId": None,
        }
        for option_id, title in options
    ]
    return {
        "messageType": "ChoicesMessage",
        "id": message_id,
        "inReplyToMessageId": None,
        "references": [],
        "choices": {"formatType": format_type, "text": text, "optionItems": items},
    }


def attachments_message(message_id: str, text: str | None, attachments: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "messageType": "StaticContentMessage",
        "id": message_id,
        "inReplyToMessageId": None,
        "references": [],
        "staticContent": {"formatType": "Attachments", "text": text, "attachments": attachments},
    }


def participant_changed(entry_id: str, operation: str, participant: Sender) -> dict[str, Any]:
    return {
        "entryType": "ParticipantChanged",
        "id": entry_id,
        "entries": [
            {
                "operation": operation,
                "menuMetadata": {},
                "participant": participant.wire(),
                "displayName": participant.display_name,
            }
        ],
    }


def routing_result(
    entry_id: str,
    *,
    routing_type: str,
    failure_type: str = "None",
    failure_reason: str | None = None,
    wait_seconds: int | None = None,
    record_id: str = "",
) -> dict[str, Any]:
    return {
        "entryType": "RoutingResult",
        "id": entry_id,
        "recordId": record_id,
        "routingType": routing_type,
        "failureType": failure_type,
        "failureReason": failure_reason,
        "errorMessages": [failure_reason] if failure_reason else [],
        "pendingServiceRoutingId": None,
        "workOwnerId": None,
        "estimatedWaitTime": {
            "estimatedWaitTimeInSeconds": wait_seconds if wait_seconds is not None else -1,
            "isEWTRequested": wait_seconds is not None,
        },
        "isExternallyRouted": False,
        "cancelReason": None,
        "skipRouterCPRemovalIfNoRoutingFailures": False,
        "routingConfigurationDetails": None,
    }


def routing_work_result(entry_id: str, work_type: str) -> dict[str, Any]:
    return {"entryType": "RoutingWorkResult", "id": entry_id, "workType": work_type}


def typing(entry_id: str, on: bool, at_ms: int) -> dict[str, Any]:
    entry_type = "TypingStartedIndicator" if on else "TypingStoppedIndicator"
    return {"entryType": entry_type, "id": entry_id, "timestamp": at_ms}


def acknowledgement(entry_id: str, read: bool, acknowledged: str, at_ms: int) -> dict[str, Any]:
    return {
        "entryType": "ReadAcknowledgement" if read else "DeliveryAcknowledgement",
        "id": entry_id,
        "acknowledgedConversationEntryIdentifier": acknowledged,
        "acknowledgementTimestamp": at_ms,
    }


def session_status(entry_id: str, status: str, ended_by: str | None) -> dict[str, Any]:
    payload: dict[str, Any] = {"entryType": "SessionStatusChanged", "id": entry_id, "sessionStatus": status}
    if ended_by is not None:
        payload["sessionEndedByRole"] = ended_by
    return payload


def close_conversation(entry_id: str, conversation_id: str) -> dict[str, Any]:
    return {"entryType": "CloseConversation", "id": entry_id, "conversationIdentifier": conversation_id}
