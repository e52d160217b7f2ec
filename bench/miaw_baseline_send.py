"""The baseline for `liveagent send` against Enhanced Chat: the same POST in the plainest Python a person
would write.

Reads the TOML state, POSTs …/conversation/{id}/message with requests (bearer token, a new message id, the
deployment's name), and checks for 202. No CLI framework, no locking, no record of the message id before
sending, no state written back, no error handling: the floor we compare against.
"""

import sys
import tomllib
import uuid

import requests

path, text = sys.argv[1], sys.argv[2]
with open(path, "rb") as fh:
    state = tomllib.load(fh)["miaw"]
response = requests.post(
    f"{state['messaging_url']}/iamessage/api/v2/conversation/{state['conversation_id']}/message",
    json={
        "message": {
            "id": str(uuid.uuid4()),
            "messageType": "StaticContentMessage",
            "staticContent": {"formatType": "Text", "text": text},
        },
        "esDeveloperName": state["deployment_name"],
    },
    headers={"Authorization": f"Bearer {state['access_token']}", "X-Org-Id": state["org_id"][:15]},
    timeout=30,
)
response.raise_for_status()
