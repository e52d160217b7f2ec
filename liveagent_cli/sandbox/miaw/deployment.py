"""The deployment's configuration (miaw-api.md 2.2 and 2.4): what the token response's
`context.configuration` and `GET /embeddedservice/v1/embedded-service-config` carry, and its business hours.

The sandbox's deployment is a Custom Client (deploymentType `API`) with a pre-chat form of three optional
fields (`_firstName`, `_lastName`, `_email`, shown once per conversation): clients that read the form find
one, and clients that send no pre-chat values are not refused.
"""

from __future__ import annotations

import time
from typing import Any

PRECHAT_FIELDS: list[dict[str, Any]] = [
    {"name": "_firstName", "label": "First Name", "type": "Text", "required": False, "maxLength": 40, "order": 1},
    {"name": "_lastName", "label": "Last Name", "type": "Text", "required": False, "maxLength": 80, "order": 2},
    {"name": "_email", "label": "Email", "type": "Email", "required": False, "maxLength": 80, "order": 3},
]
_DAY_MS = 24 * 3600 * 1000


def embedded_service_config(deployment: str, channel_address: str, *, verified: bool) -> dict[str, Any]:
    return {
        "name": deployment,
        "deploymentType": "API",
        "embeddedServiceMessagingChannel": {
            "channelAddressIdentifier": channel_address,
            "authMode": "Auth" if verified else "UnAuth",
        },
        "forms": [
            {
                "formType": "PreChat",
                "displayContext": "Conversation",
                "formFields": [{**field, "isHidden": False, "choiceListId": None} for field in PRECHAT_FIELDS],
                "hiddenFormFields": [],
            }
        ],
        "choiceListConfig": {"choiceList": []},
        "termsAndConditions": {"isTermsAndConditionsEnabled": False},
        "branding": [{"n": "primaryColor", "v": "#0176d3"}],
        "embeddedServiceConfigSettings": {"isMessagingEnabled": True},
    }


def business_hours(open_now: bool) -> dict[str, Any]:
    """One window around now (the day before to a week ahead) while agents are available; none when not."""
    if not open_now:
        return {"businessHoursInfo": {"businessHours": []}}
    now = int(time.time() * 1000)
    return {"businessHoursInfo": {"businessHours": [{"startTime": now - _DAY_MS, "endTime": now + 7 * _DAY_MS}]}}
