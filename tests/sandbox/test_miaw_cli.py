"""`liveagent sandbox` for Enhanced Chat: `exec --api miaw` points CMD at the Messaging URL with the ids, and
`sandbox agent` drives a conversation as it drives a legacy chat."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from liveagent_cli.sandbox import Sandbox
from tests.cli import invoke
from tests.conftest import LIVEAGENT
from tests.sandbox.miaw_support import EndUser

CHILD = """
import json, os, urllib.request
env = {k: v for k, v in os.environ.items() if k.startswith("LIVEAGENT_")}
body = {"orgId": env["LIVEAGENT_ORG_ID"], "esDeveloperName": env["LIVEAGENT_DEPLOYMENT_NAME"]}
body["capabilitiesVersion"] = "1"
url = env["LIVEAGENT_POD"] + "/iamessage/api/v2/authorization/unauthenticated/access-token"
request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
with urllib.request.urlopen(request) as answer:
    env["status"] = answer.status
print(json.dumps(env))
"""


def test_exec_api_miaw_sets_the_messaging_url_and_the_ids(tmp_path: Path) -> None:
    child = tmp_path / "child.py"
    child.write_text(CHILD)
    environ = {"PATH": "/usr/bin:/bin", "LIVEAGENT_DEPLOYMENT_ID": "stale", "LIVEAGENT_STATE_DIR": str(tmp_path)}
    command = [LIVEAGENT, "sandbox", "exec", "--api", "miaw", "--deployment-name", "Ci_Client", "-q", "--"]
    run = subprocess.run(
        [*command, sys.executable, str(child)], capture_output=True, text=True, env=environ, timeout=60
    )
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout)
    assert seen["status"] == 200 and seen["LIVEAGENT_API"] == "miaw"
    assert seen["LIVEAGENT_DEPLOYMENT_NAME"] == "Ci_Client" and seen["LIVEAGENT_ORG_ID"] == "00D5g000000SBOX"
    assert seen["LIVEAGENT_POD"].startswith("http://127.0.0.1:") and "/chat/rest" not in seen["LIVEAGENT_POD"]
    assert "LIVEAGENT_DEPLOYMENT_ID" not in seen  # a legacy id left in the caller's environment is not passed on


def test_sandbox_agent_acts_on_an_enhanced_chat_conversation(make_sandbox: Callable[..., Sandbox]) -> None:
    sandbox = make_sandbox(seed=41, agent="manual")
    user = EndUser(sandbox)
    try:
        user.login()
        user.create()
        stream = user.stream(last_event_id=user.last_event_id)
        environ = {"LIVEAGENT_POD": sandbox.url}
        assert invoke("sandbox", "agent", "accept", environ=environ).code == 0
        said = invoke("sandbox", "agent", "say", "hello", "from", "the", "CLI", "--json", environ=environ)
        assert said.code == 0, said.stderr
        assert json.loads(said.stdout)["chat"]["api"] == "miaw"
        assert stream.until("CONVERSATION_MESSAGE", role="Agent").text == "hello from the CLI"
        ended = invoke("sandbox", "agent", "end", "--chat", user.conversation, environ=environ)
        assert ended.code == 0, ended.stderr
        assert stream.until("CONVERSATION_SESSION_STATUS_CHANGED").payload["sessionStatus"] == "Ended"
        assert user.send("still there?").status_code == 417
        again = invoke("sandbox", "agent", "say", "late", environ=environ)
        assert again.code == 2 and "no open chat" in again.stderr
    finally:
        user.close()
