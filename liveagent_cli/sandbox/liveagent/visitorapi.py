"""The Visitor resources (pre-chat): Settings, Availability, VisitorId, Breadcrumb.

They need only `X-LIVEAGENT-API-VERSION` (checked by the Chat API before it routes here). Settings,
Availability and VisitorId need `org_id` and `deployment_id` (400 otherwise). Choices where the guide is
silent: list parameters (`Availability.ids`, `Settings.buttonIds`) are read as `a,b` or `[a,b]`; every id
shares the sandbox's one agent, so they are all available unless the agent is `busy`; `isAvailable` is
left out when false, as real pods do; `estimatedWaitTime` comes only when asked for (`...needEstimated
WaitTime=1`) and is -1 when unknown. A Breadcrumb carrying a live session's key is recorded on that chat
(and shown to a scripted agent), unless the pod ignores such keys (`breadcrumb_key = "ignore"`, the strict
profile); otherwise it goes to the pod-wide list (`GET /_sandbox/breadcrumbs`).
"""

from __future__ import annotations

import uuid
from typing import Any

from liveagent_cli.sandbox.defaults import BUTTON_ID
from liveagent_cli.sandbox.http.server import Request, Response, json_response, text_response
from liveagent_cli.sandbox.jsonbody import parse_json
from liveagent_cli.sandbox.liveagent.pod import Pod
from liveagent_cli.sandbox.model.refusals import BadRequest

PING_RATE_MS = 50_000


def parse_id_list(raw: str | None) -> list[str]:
    """`a,b`, `[a,b]` or `["a","b"]` → ["a", "b"]."""
    if raw is None:
        return []
    text = raw.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    return [item.strip().strip("'\"") for item in text.split(",") if item.strip().strip("'\"")]


def _require_ids(request: Request) -> None:
    missing = [name for name in ("org_id", "deployment_id") if not (request.query_value(name) or "").strip()]
    if missing:
        raise BadRequest(f"missing query parameter {' and '.join(missing)}")


def _wants_wait(request: Request, noun: str) -> bool:
    return (request.query_value(f"{noun}.needEstimatedWaitTime") or "").strip() in ("1", "true")


class VisitorAPI:
    def __init__(self, pod: Pod) -> None:
        self.pod = pod

    def _status(self, button_id: str, with_wait: bool) -> dict[str, Any]:
        """`{id, isAvailable?, estimatedWaitTime?}`: isAvailable omitted when false."""
        result: dict[str, Any] = {"id": button_id}
        available = self.pod.staffing.available
        if available:
            result["isAvailable"] = True
        if with_wait:
            result["estimatedWaitTime"] = self.pod.queues.estimate(button_id) if available else -1
        return result

    async def settings(self, request: Request, content_url: str) -> Response:
        _require_ids(request)
        buttons = parse_id_list(request.query_value("Settings.buttonIds")) or [BUTTON_ID]
        with_wait = _wants_wait(request, "Settings")
        return json_response(
            200,
            {
                "pingRate": PING_RATE_MS,
                "contentServerUrl": content_url,
                "buttons": [{**self._status(b, with_wait), "type": "Standard"} for b in buttons],
            },
        )

    async def availability(self, request: Request) -> Response:
        _require_ids(request)
        ids = parse_id_list(request.query_value("Availability.ids"))
        if not ids:
            raise BadRequest("missing query parameter Availability.ids (button or agent ids: a,b or [a,b])")
        with_wait = _wants_wait(request, "Availability")
        results = [self._status(i, with_wait) for i in ids]
        return json_response(200, {"messages": [{"type": "Availability", "message": {"results": results}}]})

    async def visitor_id(self, request: Request) -> Response:
        _require_ids(request)
        return json_response(200, {"sessionId": str(uuid.UUID(int=self.pod.rng.getrandbits(128), version=4))})

    async def breadcrumb(self, request: Request, key: str | None) -> Response:
        body = parse_json(request.body, required=True)
        location = body.get("location")
        if not isinstance(location, str) or not location:
            raise BadRequest("Breadcrumb needs a non-empty string `location`")
        self.pod.breadcrumb(self.pod.breadcrumb_session(key), location)
        return text_response(200, "OK")
