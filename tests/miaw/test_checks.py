"""`smoke` and `doctor` against the sandbox's Enhanced Chat half: the same steps, table, report and exit codes
as for Live Agent (tests/test_checks.py), driven by the same verbs; no token in anything printed (the `cli`
fixture checks every output against every token the sandbox minted)."""

from __future__ import annotations

import json
import ssl
import subprocess
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from liveagent_cli.sandbox import Sandbox
from tests.conftest import Cli, Run

STEPS = ["availability", "session", "init", "agent", "probe", "reply", "end"]


class Miaw:
    """`cli` pointed at the sandbox's Enhanced Chat half, as `sandbox exec --api miaw` would."""

    def __init__(self, cli: Cli, sandbox: Sandbox) -> None:
        self.cli, self.sandbox = cli, sandbox

    def __call__(self, *args: str, **env: str) -> Run:
        chosen = {
            "LIVEAGENT_API": "miaw",
            "LIVEAGENT_POD": self.sandbox.messaging_url,
            "LIVEAGENT_ORG_ID": self.sandbox.org_id,
            "LIVEAGENT_DEPLOYMENT_NAME": self.sandbox.deployment_name,
        }
        return self.cli(*args, **{**chosen, **env})


@pytest.fixture
def miaw(cli: Cli, sandbox: Sandbox) -> Miaw:
    return Miaw(cli, sandbox)


def cases(path: Path) -> list[tuple[str, str, str]]:
    """(name, outcome, message) per testcase of a JUnit file."""
    out = []
    for case in ET.parse(path).getroot().iter("testcase"):
        child = next(iter(case), None)
        outcome = child.tag if child is not None else "passed"
        out.append((case.get("name", ""), outcome, child.get("message", "") if child is not None else ""))
    return out


def properties(path: Path) -> dict[str, str]:
    return {p.get("name", ""): p.get("value", "") for p in ET.parse(path).getroot().iter("property")}


def checks_of(run: Run) -> dict[str, dict[str, Any]]:
    return {c["check"]: c for c in json.loads(run.stdout)["checks"]}


# -- smoke -----------------------------------------------------------------------------------------------------
def test_smoke_passes_with_one_testcase_per_step(miaw: Miaw, sandbox: Sandbox, tmp_path: Path) -> None:
    report = tmp_path / "out.xml"
    run = miaw("smoke", "--junit", str(report), "--expect", "probe")
    assert run.code == 0, run.stderr
    assert cases(report) == [(name, "passed", "") for name in STEPS]
    assert [line.split()[1] for line in run.stdout.splitlines()] == STEPS
    assert "inside business hours" in run.stdout and "conversation closed" in run.stdout
    assert properties(report) == {"pod": sandbox.messaging_url, "api": "miaw"}
    [chat] = sandbox.chats()
    assert chat["api"] == "miaw" and chat["state"] == "ended" and chat["endedBy"] == "visitor"
    assert chat["routingAttributes"] == {"_firstName": "liveagent smoke"}, "the visitor name fills _firstName"
    assert not list((tmp_path / "state").glob("*.toml")), "smoke leaves no session behind"


@pytest.mark.parametrize("sandbox", [{"agent": "busy"}], indirect=True)
def test_smoke_against_a_busy_agent_exits_7(miaw: Miaw, sandbox: Sandbox, tmp_path: Path) -> None:
    report = tmp_path / "out.xml"
    run = miaw("smoke", "--junit", str(report))
    assert run.code == 7
    found = cases(report)
    assert found[0][:2] == ("availability", "failure") and "outside its business hours" in found[0][2]
    assert {outcome for _, outcome, _ in found[1:]} == {"skipped"}
    assert sandbox.chats() == [], "nothing was asked for"


@pytest.mark.parametrize("sandbox", [{"agent": "busy"}], indirect=True)
def test_smoke_whose_routing_fails_exits_7_and_closes_the_conversation(miaw: Miaw, sandbox: Sandbox) -> None:
    run = miaw("smoke", "--skip-availability", "--json")
    assert run.code == 7
    summary = json.loads(run.stdout)
    assert summary["ok"] is False and summary["exit_code"] == 7
    steps = {s["step"]: s["status"] for s in summary["steps"]}
    assert steps == {"session": "passed", "init": "passed", "agent": "failed", "probe": "skipped", "end": "passed"}
    assert [c["state"] for c in sandbox.chats()] == ["ended"], "the conversation it created is closed"


def test_smoke_timeouts_exit_8_and_end_the_conversation(miaw: Miaw, sandbox: Sandbox, tmp_path: Path) -> None:
    report = tmp_path / "r.xml"
    run = miaw("smoke", "--expect", "^never$", "--reply-timeout", "0.5", "--junit", str(report))
    assert run.code == 8
    outcomes = {name: outcome for name, outcome, _ in cases(report)}
    assert outcomes["reply"] == "failure" and outcomes["end"] == "passed"
    assert all(c["state"] == "ended" for c in sandbox.chats())


def test_smoke_takes_pre_chat_values_by_field_name(miaw: Miaw, sandbox: Sandbox) -> None:
    assert miaw("smoke", "-q", "--prechat", "_email=ada@example.com").code == 0
    assert sandbox.chats()[0]["routingAttributes"]["_email"] == "ada@example.com"
    refused = miaw("smoke", "--prechat", "Shoe_Size__c=44")
    assert refused.code == 3 and "✗ init" in refused.stdout and "Shoe_Size__c" in refused.stdout
    assert "--agent-id is for Live Agent" in miaw("smoke", "--agent-id", "005000000000001").stderr


def test_smoke_as_a_verified_user(miaw: Miaw, sandbox: Sandbox, tmp_path: Path) -> None:
    from tests.miaw.test_secrets import identity_token

    file = tmp_path / "identity.jwt"
    file.write_text(identity_token("ci@example.com"))
    run = miaw("smoke", "--identity-token", str(file))
    assert run.code == 0, run.stderr
    assert "an access token for a verified user" in run.stdout
    assert [c["verified"] for c in sandbox.chats()] == [True]


def test_smoke_against_an_unreachable_server_is_an_error_not_a_failure(miaw: Miaw, tmp_path: Path) -> None:
    report = tmp_path / "down.xml"
    run = miaw("smoke", "--junit", str(report), LIVEAGENT_POD="http://127.0.0.1:9", LIVEAGENT_NETWORK_TIMEOUT="1")
    assert run.code == 4
    [error] = ET.parse(report).getroot().iter("error")
    assert error.get("type") == "NetworkError"
    assert properties(report)["pod"] == "http://127.0.0.1:9", "the Messaging URL, without /chat/rest/"


# -- doctor ----------------------------------------------------------------------------------------------------
def test_doctor_against_the_sandbox(miaw: Miaw) -> None:
    run = miaw("doctor", "--json")
    assert run.code == 0, run.stderr
    found = {name: c["status"] for name, c in checks_of(run).items()}
    assert found == {
        "api": "info",
        "messaging url": "warn",  # plain http on loopback
        "org id": "ok",
        "deployment name": "ok",
        "reachable": "ok",
        "tls": "info",
        "configuration": "ok",
        "deployment type": "ok",
        "token": "ok",
        "pre-chat form": "info",
        "stream": "ok",
        "business hours": "ok",
    }
    assert "retirement" not in found, "Enhanced Chat is the successor"
    human = miaw("doctor")
    assert human.code == 0 and "✓ stream" in human.stdout and "15 characters" in human.stdout


def test_doctor_sends_the_stream_the_15_character_org_id(miaw: Miaw, sandbox: Sandbox) -> None:
    """The sandbox refuses an 18-character X-Org-Id (as the real server does): the stream opens all the same."""
    run = miaw("doctor", "--json", "--verbose", LIVEAGENT_ORG_ID=sandbox.org_id + "EA4")
    assert run.code == 0, run.stderr
    assert "its 15-character form 00D5g000000SBOX" in checks_of(run)["org id"]["detail"]
    assert checks_of(run)["stream"]["status"] == "ok"
    assert "X-Org-Id: 00D5g000000SBOX\n" in run.stderr and "Authorization: <redacted>" in run.stderr


def test_doctor_checks_a_pre_chat_file_against_the_form(miaw: Miaw, tmp_path: Path) -> None:
    good, bad = tmp_path / "good.toml", tmp_path / "bad.toml"
    good.write_text('_email = "ada@example.com"\n')
    bad.write_text('Shoe_Size__c = "44"\n')
    assert checks_of(miaw("doctor", "--json", "--prechat-file", str(good)))["pre-chat form"]["status"] == "ok"
    refused = miaw("doctor", "--prechat-file", str(bad))
    assert refused.code == 3 and "✗ pre-chat form" in refused.stdout and "Shoe_Size__c" in refused.stdout


def test_doctor_exit_codes(miaw: Miaw) -> None:
    down = miaw("doctor", LIVEAGENT_POD="http://127.0.0.1:9", LIVEAGENT_NETWORK_TIMEOUT="1")
    assert down.code == 4 and "✗ reachable" in down.stdout
    my_domain = miaw("doctor", "--pod", "https://acme.my.salesforce.com")
    assert my_domain.code == 3 and "✗ messaging url" in my_domain.stdout and "My Domain" in my_domain.stdout
    assert "Code Snippet" in my_domain.stderr, "the hint says where the Messaging URL is found"
    legacy_pod = miaw("doctor", "--pod", "https://d.la1-c1-ukb.salesforceliveagent.com")
    assert legacy_pod.code == 3 and "a legacy Chat pod" in legacy_pod.stdout
    bad_org = miaw("doctor", "--org-id", "00D5g000000SBOXAAA")
    assert bad_org.code == 3 and "✗ org id" in bad_org.stdout and "checksum" in bad_org.stdout
    assert "not tried" in bad_org.stdout, "nothing is sent with a broken setting"
    no_name = miaw("doctor", LIVEAGENT_DEPLOYMENT_NAME="")
    assert no_name.code == 3 and "✗ deployment name" in no_name.stdout


@pytest.mark.parametrize("sandbox", [{"deployment_name": "Published_One"}], indirect=True)
def test_doctor_names_an_unpublished_deployment(miaw: Miaw) -> None:
    run = miaw("doctor", "--deployment-name", "Never_Published")
    assert run.code == 3
    assert "✗ configuration" in run.stdout and "not published (412)" in run.stdout
    assert "✗ token" in run.stdout, "the token mint says why too"


def test_doctor_against_a_server_whose_certificate_fails(miaw: Miaw, tmp_path: Path) -> None:
    with fake_server(tmp_path, tls=True) as url:
        run = miaw("doctor", "--pod", url, LIVEAGENT_NETWORK_TIMEOUT="2")
    assert run.code == 4
    assert "✗ tls" in run.stdout and "certificate verify failed" in run.stdout
    assert "REQUESTS_CA_BUNDLE" in run.stderr


def test_doctor_refuses_a_deployment_that_is_not_a_custom_client(miaw: Miaw, tmp_path: Path) -> None:
    with fake_server(tmp_path, deployment_type="Web") as url:
        run = miaw("doctor", "--json", LIVEAGENT_POD=url)
    assert run.code == 3
    found = checks_of(run)
    assert found["deployment type"]["status"] == "fail" and "type Web" in found["deployment type"]["detail"]
    assert found["token"]["status"] == "fail" and "deploymentType" in found["token"]["detail"]


@contextmanager
def fake_server(tmp_path: Path, *, tls: bool = False, deployment_type: str = "API") -> Iterator[str]:
    """A server that is not the sandbox: a published configuration of `deployment_type`, and a token request
    refused as a Web deployment's is (miaw-api.md §0); over TLS with a self-signed certificate when `tls`."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            config = {"embeddedServiceConfig": {"name": "Web_Chat", "deploymentType": deployment_type}}
            self._send(200, config)

        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._send(400, {"message": "BAD_REQUEST: Set the esDeveloperName to a deploymentType that's set to api"})

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if tls:
        cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
             "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
            check=True,
            capture_output=True,
        )  # fmt: skip
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
