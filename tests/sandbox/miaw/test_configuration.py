"""The deployment configuration and business-hours endpoints (reference §2.4): no bearer, org and deployment
in the query, and what the sandbox does when it was told which ids are real."""

from __future__ import annotations

import time

import pytest
import requests

from tests.sandbox.miaw.conftest import MakeSandbox, UserOn
from tests.sandbox.miaw.helpers import CONFIG_PATH, HOURS_PATH, EndUser


def _config(user: EndUser, **params: str) -> requests.Response:
    query = {"orgId": user.org_id, "esConfigName": user.deployment, "language": "en_US", **params}
    return user.http.get(user.base + CONFIG_PATH, params={k: v for k, v in query.items() if v}, timeout=15)


def test_the_configuration_needs_no_bearer_and_matches_the_token_response(user: EndUser) -> None:
    response = _config(user)
    assert response.status_code == 200, response.text[:300]
    config = response.json()["embeddedServiceConfig"]
    assert isinstance(config["forms"], list)
    minted = user.login()["context"]["configuration"]["embeddedServiceConfig"]
    assert config["forms"] == minted["forms"]
    assert minted["deploymentType"] == "API"


def test_the_prechat_form_has_the_fields_clients_read(user: EndUser) -> None:
    forms = user.login()["context"]["configuration"]["embeddedServiceConfig"]["forms"]
    for form in forms:
        assert form["formType"] == "PreChat" and form["displayContext"] in ("Conversation", "Session")
        for item in form["formFields"]:
            assert {"name", "type", "required", "maxLength", "isHidden", "order"} <= set(item)
            assert item["type"] in ("Text", "Email", "Number", "Phone", "Checkbox", "ChoiceList")


@pytest.mark.parametrize("missing", ["orgId", "esConfigName"])
def test_the_configuration_without_org_or_deployment_is_400(user: EndUser, missing: str) -> None:
    assert _config(user, **{missing: ""}).status_code == 400


def test_the_configuration_with_a_malformed_org_id_is_400(user: EndUser) -> None:
    assert _config(user, orgId="nope").status_code == 400


def test_business_hours_are_open_now_with_an_agent_on_duty(user: EndUser) -> None:
    response = user.http.get(
        user.base + HOURS_PATH, params={"orgId": user.org_id, "esConfigName": user.deployment}, timeout=15
    )
    assert response.status_code == 200, response.text[:300]
    hours = response.json()["businessHoursInfo"]["businessHours"]
    now = time.time() * 1000
    assert any(h["startTime"] <= now <= h["endTime"] for h in hours), hours


def test_business_hours_without_org_or_deployment_are_400(user: EndUser) -> None:
    for params in ({"orgId": user.org_id}, {"esConfigName": user.deployment}):
        assert user.http.get(user.base + HOURS_PATH, params=params, timeout=15).status_code == 400


def test_a_sandbox_told_its_ids_refuses_others(make_sandbox: MakeSandbox, user_on: UserOn) -> None:
    sandbox = make_sandbox(org_id="00D5g000000REAL", deployment_name="Real_Deployment")
    right = user_on(sandbox, org_id="00D5g000000REAL", deployment="Real_Deployment")
    right.login()
    assert right.create().status_code == 201
    assert _config(right).status_code == 200
    wrong_org = user_on(sandbox, deployment="Real_Deployment")
    assert wrong_org.mint().status_code == 400
    wrong_deployment = user_on(sandbox, org_id="00D5g000000REAL", deployment="Other")
    assert wrong_deployment.mint().status_code == 400
    unpublished = _config(wrong_deployment)
    assert unpublished.status_code == 412  # §2.4: "Embedded Messaging Config is not Published"
    assert unpublished.json() == {"text": "Embedded Messaging Config is not Published"}


def test_business_hours_have_no_window_now_when_the_agent_is_busy(make_sandbox: MakeSandbox, user_on: UserOn) -> None:
    """docs/sandbox.md: `busy` means nobody on duty, so `availability` can say no."""
    user = user_on(make_sandbox(agent="busy"))
    response = user.http.get(
        user.base + HOURS_PATH, params={"orgId": user.org_id, "esConfigName": user.deployment}, timeout=15
    )
    assert response.status_code == 200
    now = time.time() * 1000
    hours = response.json()["businessHoursInfo"]["businessHours"]
    assert not any(h["startTime"] <= now <= h["endTime"] for h in hours), hours
