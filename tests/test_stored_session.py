"""What a step on a stored session shows and takes: flags it ignores, the `status --json` fields, session names
(outside findings QA2-27, QA2-28, QA2-58)."""

from __future__ import annotations

import json

from liveagent_cli.sandbox import ORG_ID
from tests.conftest import Cli


def test_flags_a_stored_session_overrides_are_named_and_still_checked(cli: Cli) -> None:
    """QA2-27: `send --pod X --org-id 00Dbad --api-version 30` after `session` exited 0 in silence."""
    cli.established()
    bad = cli("send", "--org-id", "00Dbad", "hi")
    assert bad.code == 3 and "org id '00Dbad' is not a valid Salesforce id" in bad.stderr, "a malformed id is refused"
    assert cli.sandbox is not None
    moved = cli("send", "--pod", "http://127.0.0.1:9", "--api-version", "30", "hi")
    assert moved.code == 0, moved.stderr
    assert (
        "warning: --pod, --api-version are ignored: session 'default' keeps the pod and ids it was opened with"
        in moved.stderr
    )
    assert cli.sandbox.pod_url in json.loads(cli("status", "--json").stdout)["pod"], "the stored pod was used"
    same = cli("send", "--org-id", ORG_ID, "again")
    assert same.code == 0 and "ignored" not in same.stderr, "a flag that matches the session is no news"


def test_init_takes_the_ids_it_is_given_and_ignores_only_the_pod(cli: Cli) -> None:
    assert cli("session").code == 0
    run = cli("init", "--org-id", ORG_ID, "--pod", "http://127.0.0.1:9")
    assert run.code == 0 and "warning: --pod is ignored" in run.stderr and "--org-id" not in run.stderr


def test_status_json_always_has_the_documented_fields(cli: Cli) -> None:
    """QA2-28: org_id, deployment_id, button_id, visitor_name and agent were missing until `init`."""
    assert cli("session", "-q").code == 0
    before = json.loads(cli("status", "--json").stdout)
    for name in ("org_id", "deployment_id", "button_id", "visitor_name", "agent", "ended_reason"):
        assert name in before and before[name] is None, name
    assert before["sources"] == {"pod": "env LIVEAGENT_POD", "api_version": "default"}
    assert "org_id" not in cli("status").stdout, "people see only what is set"
    assert cli("init", "--visitor-name", "Ada").code == 0
    after = json.loads(cli("status", "--json").stdout)
    assert after["org_id"] == ORG_ID and after["visitor_name"] == "Ada" and after["agent"] is None


def test_an_empty_session_name_is_refused_like_other_invalid_names(cli: Cli) -> None:
    """QA2-58: `--session ""` silently used `default`."""
    run = cli("session", "--session", "")
    assert run.code == 2 and run.stderr.startswith("error: invalid session name ''")
    assert cli("status").code == 6, "nothing was opened under `default`"
    assert cli("session", LIVEAGENT_SESSION="").code == 0, "an empty variable is an unset one"
