"""Issue 13 item 5: the access token and the identity token never reach stdout, stderr, --verbose wire logs or
error messages unless --show-secrets, and the run-wide leak check (tests/conftest.py) would notice if they did.

Each identity token made here is registered with `secret`, and every access token the sandbox mints is gathered
after each run, so the run-wide check covers every output of every test against all of them."""

from __future__ import annotations

import base64
import json
import os
import time
from pathlib import Path

import pytest

from liveagent_cli.sandbox import Sandbox
from tests.conftest import EVERY_KEY, Cli, Run, fragments, leaks, secret


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def identity_token(sub: str, *, lifetime: int = 600) -> str:
    """A customer identity JWT (RS256, kid; sub, iss, iat, exp), registered as a secret. Its signature is random:
    the sandbox has no keyset to check it against."""
    now = int(time.time())
    head = b64url(json.dumps({"alg": "RS256", "typ": "JWT", "kid": "pytest-key"}).encode())
    claims = b64url(json.dumps({"sub": sub, "iss": "pytest-issuer", "iat": now, "exp": now + lifetime}).encode())
    return secret(f"{head}.{claims}.{b64url(os.urandom(256))}")


class Miaw:
    def __init__(self, cli: Cli, sandbox: Sandbox) -> None:
        self.cli, self.sandbox = cli, sandbox

    def __call__(self, *args: str, input: str | None = None, **env: str) -> Run:
        chosen = {
            "LIVEAGENT_API": "miaw",
            "LIVEAGENT_POD": self.sandbox.messaging_url,
            "LIVEAGENT_ORG_ID": self.sandbox.org_id,
            "LIVEAGENT_DEPLOYMENT_NAME": self.sandbox.deployment_name,
        }
        return self.cli(*args, input=input, **{**chosen, **env})


@pytest.fixture
def miaw(cli: Cli, sandbox: Sandbox) -> Miaw:
    return Miaw(cli, sandbox)


def printed(runs: list[Run]) -> str:
    return "\n".join(run.stdout + run.stderr for run in runs)


def access_token(miaw: Miaw) -> str:
    token: str = json.loads(miaw("status", "--json", "--show-secrets").stdout)["access_token"]
    return token


# -- the detector ----------------------------------------------------------------------------------------------
def test_the_detector_catches_a_printed_access_token_or_a_part_of_it(miaw: Miaw, cli: Cli) -> None:
    assert miaw("session").code == 0
    shown = miaw("status", "--json", "--show-secrets")  # a --show-secrets run is not recorded
    token = json.loads(shown.stdout)["access_token"]
    assert token in EVERY_KEY, "the sandbox's minted token was gathered after the run that minted it"
    assert leaks(EVERY_KEY, [shown.stdout]) == {token}
    header, claims, signature = token.split(".")
    assert leaks([token], [f"Authorization: Bearer {token}"]) == {token}
    assert leaks([token], [f"sig={signature}"]) == {token} and leaks([token], [f"claims {claims}."]) == {token}
    assert leaks([token], [f"header {header}", "Authorization: <redacted>"]) == set(), "its header is no secret"
    assert fragments("id!1700000000000!c2VjcmV0c2VjcmV0") == ["c2VjcmV0c2VjcmV0"], "a session key's secret part"
    cli.outputs.append(shown.stdout)
    assert cli.leaked() == [token], "the per-test check notices it too"
    cli.outputs.pop()


def test_the_detector_catches_a_printed_identity_token(miaw: Miaw) -> None:
    identity = identity_token("ada@example.com")
    assert identity in EVERY_KEY
    assert leaks(EVERY_KEY, [f"error: bad token {identity.split('.', 1)[1]}"]) == {identity}


def test_a_token_minted_before_a_reset_is_still_checked(miaw: Miaw, sandbox: Sandbox) -> None:
    assert miaw("session").code == 0
    token = access_token(miaw)
    sandbox.reset()  # the sandbox forgets every token it issued
    assert token not in sandbox.issued_keys() and token in EVERY_KEY


# -- the identity token ----------------------------------------------------------------------------------------
def test_an_identity_token_from_a_file_the_variable_or_stdin_is_never_printed(
    miaw: Miaw, sandbox: Sandbox, tmp_path: Path
) -> None:
    identity = identity_token("ada@example.com")
    file = tmp_path / "identity.jwt"
    file.write_text(identity + "\n")
    runs = [miaw("session", "--identity-token", str(file), "--verbose", "--json")]
    assert runs[0].code == 0, runs[0].stderr
    assert json.loads(runs[0].stdout)["verified"] is True
    runs.append(miaw("status", "--json"))
    assert json.loads(runs[-1].stdout)["identity_token"] == f"--identity-token {file}", "where it came from only"
    runs.append(miaw("session", "--replace", "--verbose", LIVEAGENT_IDENTITY_TOKEN=identity))
    assert runs[-1].code == 0, runs[-1].stderr
    runs.append(miaw("session", "--replace", "--identity-token", "-", input=identity + "\n"))
    assert runs[-1].code == 0, runs[-1].stderr
    runs.append(miaw("init", "--visitor-name", "Ada", "--verbose"))
    runs.append(miaw("poll", "--until", "established", "--json", "--verbose"))
    runs.append(miaw("doctor", "--identity-token", str(file), "--verbose"))
    assert runs[-1].code == 0 and "✓ token" in runs[-1].stdout and "verified user" in runs[-1].stdout
    assert all(run.code == 0 for run in runs), [run.stderr for run in runs]
    assert [c["verified"] for c in sandbox.chats()] == [True]
    assert leaks([identity, access_token(miaw)], [printed(runs)]) == set()


@pytest.mark.parametrize("sandbox", [{"identity_failure": "reject"}], indirect=True)
def test_a_refused_identity_token_is_not_in_the_error(miaw: Miaw, tmp_path: Path) -> None:
    identity = identity_token("late@example.com", lifetime=-60)
    file = tmp_path / "identity.jwt"
    file.write_text(identity)
    run = miaw("session", "--identity-token", str(file), "--verbose")
    assert run.code == 6 and run.stderr.count("error: ") == 1
    assert leaks([identity], [run.stdout + run.stderr]) == set()


def test_a_token_pasted_with_something_around_it_is_not_echoed(miaw: Miaw) -> None:
    """Not a JWT and not a file: the error says so without the value, which is likely a token all the same."""
    identity = identity_token("ada@example.com")
    run = miaw("session", LIVEAGENT_IDENTITY_TOKEN=f"Bearer {identity}")
    assert run.code == 2
    assert run.stderr.splitlines()[0] == (
        "error: LIVEAGENT_IDENTITY_TOKEN holds neither a JWT nor the name of a file "
        "(its value is not shown: it may be a token)"
    )
    truncated = miaw("session", LIVEAGENT_IDENTITY_TOKEN=identity.rsplit(".", 1)[0])
    assert truncated.code == 2 and "its value is not shown" in truncated.stderr
    assert leaks([identity], [run.stderr, truncated.stderr]) == set()


# -- the access token ------------------------------------------------------------------------------------------
def test_the_access_token_is_in_no_output_but_a_show_secrets_one(miaw: Miaw) -> None:
    runs = [miaw("session", "--json", "--verbose"), miaw("init", "--verbose")]
    runs += [miaw("poll", "--until", "established", "--verbose"), miaw("send", "hi", "--verbose")]
    runs += [miaw("poll", "--until", "message", "--json", "--verbose"), miaw("status"), miaw("history", "--json")]
    assert all(run.code == 0 for run in runs), [run.stderr for run in runs]
    token = access_token(miaw)
    assert "Authorization: <redacted>" in printed(runs)
    assert leaks([token], [printed(runs)]) == set()
    shown = miaw("session", "--replace", "--json", "--show-secrets")
    assert shown.code == 0 and json.loads(shown.stdout)["access_token"] == access_token(miaw), "unless asked"


def test_an_expired_token_is_named_but_not_shown(miaw: Miaw, sandbox: Sandbox) -> None:
    for step in (("session",), ("init",), ("poll", "--until", "established")):
        assert miaw(*step).code == 0
    token = access_token(miaw)
    sandbox.add_fault("expire:path=message")
    run = miaw("send", "too late", "--verbose")
    assert run.code == 6 and "401" in run.stderr and "hint:" in run.stderr
    assert leaks([token], [run.stdout + run.stderr]) == set()
