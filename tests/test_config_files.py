"""The config file as a person writes it: `config set` edits it in place, and every value is checked with its
source named (outside findings QA2-03, QA2-22, QA2-42, QA2-50)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from liveagent_cli.sandbox import Sandbox
from tests.cli import Run, invoke


def liveagent(*args: str, **env: str) -> Run:
    """The CLI in this process, with the isolated test environment plus `env` (no pod is needed here)."""
    return invoke(*args, environ={**os.environ, **env})


COMMENTED = """\
# keep me: the team's pods
# (edited by hand)

[profiles.uat]
pod = "d.la1-c1cs-ukb.salesforceliveagent.com"   # the UAT pod
visitor_name = "Old Name"  # who the agent sees

[profiles.prod]  # careful
pod = "d.la1-c1-ukb.salesforceliveagent.com"
"""


def test_config_set_keeps_comments_and_layout(isolated_env: Path) -> None:
    """QA2-03: `config set` rewrote the file from parsed data and dropped every comment."""
    config = isolated_env / "config.toml"
    config.write_text(COMMENTED)
    config.chmod(0o644)
    run = liveagent("config", "set", "uat", "visitor_name", "New Name")
    assert run.code == 0, run.stderr
    assert config.read_text() == COMMENTED.replace('"Old Name"', '"New Name"')
    assert stat.S_IMODE(config.stat().st_mode) == 0o644, "the file keeps the mode its owner gave it"
    assert not [p.name for p in isolated_env.iterdir() if p.name.endswith(".tmp")], "no temporary file is left"


def test_config_set_adds_and_removes_keys_and_profiles_without_touching_the_rest(isolated_env: Path) -> None:
    config = isolated_env / "config.toml"
    config.write_text(COMMENTED)
    assert liveagent("config", "set", "prod", "org_id", "00D5g000000SBOX").code == 0
    assert liveagent("config", "set", "uat", "visitor_name", "").code == 0
    assert liveagent("config", "set", "dev", "api_version", "57").code == 0
    text = config.read_text()
    for kept in ("# keep me: the team's pods", "# the UAT pod", "[profiles.prod]  # careful"):
        assert kept in text
    assert "visitor_name" not in text and 'org_id = "00D5g000000SBOX"' in text
    assert '[profiles.dev]\napi_version = "57"' in text


def test_config_set_follows_a_symlinked_config_file(isolated_env: Path) -> None:
    """A dotfiles checkout links config.toml: the edit goes into the linked file, the link stays a link."""
    real = isolated_env / "dotfiles.toml"
    real.write_text(COMMENTED)
    link = isolated_env / "config.toml"
    link.symlink_to(real)
    assert liveagent("config", "set", "uat", "language", "fr").code == 0
    assert link.is_symlink() and 'language = "fr"' in real.read_text()


BAD_PROFILE = '[profiles.x]\npod = 5\napi_version = "abc"\norg_id = "00Dbad"\ninsecure = "yes"\nlanguage = "fr"\n'


def test_config_show_marks_what_would_be_refused(isolated_env: Path) -> None:
    """QA2-22: `config show` printed `pod  5` and every other invalid value as if it were valid."""
    (isolated_env / "config.toml").write_text(BAD_PROFILE)
    run = liveagent("config", "show", "x")
    assert run.code == 3
    lines = {line.split()[0]: line for line in run.stdout.splitlines()}
    assert lines["pod"].endswith("✗ pod must be a string URL, not 5")
    assert lines["api_version"].endswith("✗ is not a positive integer")
    assert lines["org_id"].endswith("✗ is not a valid Salesforce id")
    assert lines["insecure"].endswith("✗ insecure must be true or false, not 'yes'")
    assert "✗" not in lines["language"]
    assert "error:" not in run.stderr, "the ✗ rows already say it"
    assert "hint: fix api_version where it comes from: profile x in" in run.stderr

    as_json = liveagent("config", "show", "x", "--json")
    assert as_json.code == 3 and "error: 4 settings would be refused" in as_json.stderr
    rows = json.loads(as_json.stdout)["settings"]
    assert rows["pod"]["error"] == f"profile x in {isolated_env / 'config.toml'}: pod must be a string URL, not 5"
    assert "error" not in rows["language"]


def test_config_show_names_an_environment_variable_that_is_wrong(isolated_env: Path) -> None:
    run = liveagent("config", "show", "--json", LIVEAGENT_API_VERSION="abc")
    row = json.loads(run.stdout)["settings"]["api_version"]
    assert run.code == 3 and row["error"] == "LIVEAGENT_API_VERSION='abc' is not a positive integer"


def test_a_bad_profile_value_is_refused_before_anything_is_sent(isolated_env: Path) -> None:
    """QA2-22: `session --profile x` with `pod = 5` opened a TLS connection to 0.0.0.5."""
    (isolated_env / "config.toml").write_text(BAD_PROFILE)
    run = liveagent("session", "--profile", "x")
    assert run.code == 3 and run.stdout == ""
    assert run.stderr.startswith(f"error: profile x in {isolated_env / 'config.toml'}: pod must be a string URL")
    assert "Traceback" not in run.stderr and not (isolated_env / "state" / "default.toml").exists()


def test_a_bad_value_from_a_profile_never_reaches_the_pod(isolated_env: Path, sandbox: Sandbox) -> None:
    config = isolated_env / "config.toml"
    config.write_text(f'[profiles.x]\npod = "{sandbox.pod_url}"\napi_version = "abc"\n')
    run = liveagent("session", "--profile", "x")
    assert run.code == 3 and f"profile x in {config}: api_version 'abc' is not a positive integer" in run.stderr
    assert "--api-version" not in run.stderr, "the hint names the profile, not a flag the user never typed"
    assert sandbox.issued_keys() == [], "no session was asked for"


def test_an_environment_variable_is_named_not_a_flag(isolated_env: Path) -> None:
    """QA2-42: `LIVEAGENT_API_VERSION=abc liveagent session` sent the user to --api-version."""
    run = liveagent("session", LIVEAGENT_POD="http://127.0.0.1:9", LIVEAGENT_API_VERSION="abc")
    assert run.code == 3
    assert run.stderr.splitlines() == [
        "error: LIVEAGENT_API_VERSION='abc' is not a positive integer",
        "hint: LIVEAGENT_API_VERSION takes a whole number such as 58",
    ]


def test_no_config_file_is_said_plainly(isolated_env: Path) -> None:
    """QA2-50: `unknown profile 'nosuch' in …/config.toml` named a file that does not exist."""
    run = liveagent("status", "--profile", "nosuch")
    assert run.code == 3
    assert run.stderr.startswith(f"error: no config file at {isolated_env / 'config.toml'} (so no profile 'nosuch')")


def test_config_show_refuses_a_config_file_that_is_not_toml(isolated_env: Path) -> None:
    """QA2-50: `config show` without a profile exited 0 over a broken file that `config list` reports."""
    (isolated_env / "config.toml").write_text("[profiles.x\n")
    for command in (["config", "list"], ["config", "show"]):
        run = liveagent(*command)
        assert run.code == 3 and "is not valid TOML" in run.stderr, command


def test_a_network_timeout_out_of_range_says_what_it_takes() -> None:
    """QA2-37: `'0' is not a number of seconds between 0 and 3600` (0 is between 0 and 3600), and no hint."""
    for raw in ("0", "abc", "-1", "inf", "nan", "3601"):
        run = liveagent("session", LIVEAGENT_POD="http://127.0.0.1:9", LIVEAGENT_NETWORK_TIMEOUT=raw)
        assert run.code == 3, raw
        assert run.stderr.splitlines() == [
            f"error: LIVEAGENT_NETWORK_TIMEOUT={raw!r}: it must be a number of seconds above 0 and at most 3600",
            "hint: for example LIVEAGENT_NETWORK_TIMEOUT=30, or unset it for the default 60 s",
        ], raw
    from liveagent_cli.flows.deadline import give_up_seconds

    assert give_up_seconds({"LIVEAGENT_NETWORK_TIMEOUT": "3600"}) == 3600, "the bound itself is taken"


def test_config_set_refuses_a_bad_value_in_the_profile_s_words(isolated_env: Path) -> None:
    config = isolated_env / "config.toml"
    config.write_text(COMMENTED)
    run = liveagent("config", "set", "uat", "org_id", "00D5g000000SBOXAAA")
    assert run.code == 3
    assert run.stderr.startswith("error: org_id '00D5g000000SBOXAAA' is not a valid Salesforce id: ")
    assert "should be EA4" in run.stderr and "hint: org_id takes 15 or 18" in run.stderr
    assert "--org-id" not in run.stderr
    assert config.read_text() == COMMENTED, "nothing is written"
