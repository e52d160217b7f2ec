"""The baseline for `liveagent send`: the same work in the plainest Python a person would write.

Reads the TOML state, POSTs Chasitor/ChatMessage with requests and the four Live Agent headers, writes the
state back. No CLI framework, no locking, no atomic write, no error handling: the floor we compare against.
"""

import sys
import tomllib

import requests
import tomli_w

path, text = sys.argv[1], sys.argv[2]
with open(path, "rb") as fh:
    data = tomllib.load(fh)
state = data["session"]
state["sequence"] += 1
response = requests.post(
    state["pod"] + "Chasitor/ChatMessage",
    json={"text": text},
    headers={
        "X-LIVEAGENT-API-VERSION": state["api_version"],
        "X-LIVEAGENT-AFFINITY": state["affinity"],
        "X-LIVEAGENT-SESSION-KEY": state["key"],
        "X-LIVEAGENT-SEQUENCE": str(state["sequence"]),
    },
    timeout=30,
)
response.raise_for_status()
with open(path, "wb") as fh:
    tomli_w.dump(data, fh)
