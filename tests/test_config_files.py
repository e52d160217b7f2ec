"""The config file as a person writes it: `config set` edits it in place, and every value is checked with its
source named (outside findings QA2-03, QA2-22, QA2-42, QA2-50)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

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
