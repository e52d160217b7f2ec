"""The Visitor resources (reference section 3.7): Settings, Availability, VisitorId, Breadcrumb."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
import requests

from liveagent_cli.sandbox import BUTTON_ID, Sandbox
from tests.sandbox.helpers import API_VERSION, Control, Visitor

IDS = {"org_id": "00D000000000001", "deployment_id": "572000000000001"}
V = {"X-LIVEAGENT-API-VERSION": API_VERSION}
WITH_WAIT = {"Availability.ids": "573A", "Availability.needEstimatedWaitTime": "1"}


def _get(sandbox: Sandbox, noun: str, **params: str) -> requests.Response:
    return requests.get(sandbox.pod_url + f"Visitor/{noun}", params=params, headers=V, timeout=5)


def test_settings_lists_buttons_with_availability_and_only_needs_the_version_header(shared_sandbox: Sandbox) -> None:
    response = _get(shared_sandbox, "Settings", **IDS, **{"Settings.buttonIds": "[573A,573B]"})
    assert response.status_code == 200
    body = response.json()
    assert isinstance(body["pingRate"], int) and body["contentServerUrl"].startswith("http://127.0.0.1:")
    assert body["buttons"] == [
        {"id": "573A", "isAvailable": True, "type": "Standard"},
        {"id": "573B", "isAvailable": True, "type": "Standard"},
    ]


def test_settings_without_button_ids_lists_the_sandbox_button_and_gives_waits_on_request(
    make_sandbox: Callable[..., Sandbox],
) -> None:
    sandbox = make_sandbox(accept_after=3)
    body = _get(sandbox, "Settings", **IDS, **{"Settings.needEstimatedWaitTime": "1"}).json()
    assert body["buttons"] == [{"id": BUTTON_ID, "isAvailable": True, "estimatedWaitTime": 3, "type": "Standard"}]


@pytest.mark.parametrize("ids", ["573A,573B", "[573A,573B]", '["573A", "573B"]'])
def test_availability_reads_both_list_encodings(ids: str, shared_sandbox: Sandbox) -> None:
    response = _get(shared_sandbox, "Availability", **IDS, **{"Availability.ids": ids})
    assert response.status_code == 200
    assert response.json() == {
        "messages": [
            {
                "type": "Availability",
                "message": {"results": [{"id": "573A", "isAvailable": True}, {"id": "573B", "isAvailable": True}]},
            }
        ]
    }


def test_availability_leaves_is_available_out_when_the_agent_is_busy(make_sandbox: Callable[..., Sandbox]) -> None:
    sandbox = make_sandbox(agent="busy")
    body = _get(sandbox, "Availability", **IDS, **WITH_WAIT)
    assert body.json()["messages"][0]["message"]["results"] == [{"id": "573A", "estimatedWaitTime": -1}]


def test_estimated_wait_is_minus_one_when_unknown(make_sandbox: Callable[..., Sandbox]) -> None:
    sandbox = make_sandbox(agent="manual")
    body = _get(sandbox, "Availability", **IDS, **WITH_WAIT)
    assert body.json()["messages"][0]["message"]["results"] == [
        {"id": "573A", "isAvailable": True, "estimatedWaitTime": -1}
    ]


def test_visitor_id_returns_a_tracking_id(shared_sandbox: Sandbox) -> None:
    response = _get(shared_sandbox, "VisitorId", **IDS)
    assert response.status_code == 200
    assert re.fullmatch(r"[0-9a-f-]{36}", response.json()["sessionId"])


@pytest.mark.parametrize("noun", ["Settings", "Availability", "VisitorId"])
def test_missing_org_or_deployment_id_is_400(noun: str, shared_sandbox: Sandbox) -> None:
    response = _get(shared_sandbox, noun, org_id="00D000000000001", **{"Availability.ids": "573A"})
    assert response.status_code == 400
    assert "deployment_id" in response.json()["error"]


def test_availability_without_ids_is_400_and_visitor_resources_need_the_version(shared_sandbox: Sandbox) -> None:
    assert _get(shared_sandbox, "Availability", **IDS).status_code == 400
    unversioned = requests.get(shared_sandbox.pod_url + "Visitor/VisitorId", params=IDS, timeout=5)
    assert unversioned.status_code == 400


def test_breadcrumb_with_a_session_key_goes_on_that_chat(visitor: Visitor, control: Control) -> None:
    visitor.start_chat()
    response = visitor.http.post(
        visitor.base + "Visitor/Breadcrumb",
        json={"location": "https://shop.example/cart"},
        headers={**V, "X-LIVEAGENT-SESSION-KEY": visitor.info["key"]},
        timeout=5,
    )
    assert (response.status_code, response.text) == (200, "OK")
    events = control.chat(visitor.info["id"])["events"]
    assert ("Breadcrumb", {"location": "https://shop.example/cart"}) in [(e["type"], e["data"]) for e in events]


def test_breadcrumb_without_a_session_goes_to_the_pod_wide_list(
    make_sandbox: Callable[..., Sandbox], control_on: Callable[[Sandbox], Control]
) -> None:
    sandbox = make_sandbox()
    response = requests.post(
        sandbox.pod_url + "Visitor/Breadcrumb", json={"location": "https://shop.example/"}, headers=V, timeout=5
    )
    assert response.status_code == 200
    [crumb] = control_on(sandbox).get("breadcrumbs").json()["breadcrumbs"]
    assert crumb["location"] == "https://shop.example/" and isinstance(crumb["at"], int)
    bad = requests.post(sandbox.pod_url + "Visitor/Breadcrumb", json={"where": "x"}, headers=V, timeout=5)
    assert bad.status_code == 400
