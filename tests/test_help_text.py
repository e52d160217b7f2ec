"""Help text that says everything it means to (QA2-54, outside the sandbox commands)."""

from __future__ import annotations

from liveagent_cli.core.settings import PROFILE_KEYS
from tests.conftest import Cli


def test_the_command_list_does_not_cut_a_group_short(cli: Cli) -> None:
    listing = cli("--help").stdout
    assert "..." not in listing.split("Commands:", 1)[1]
    assert "profiles of the config file" in listing and "([profiles.NAME] tables)" in listing
    assert "faithful local Live Agent pod" in listing


def test_config_set_names_every_key(cli: Cli) -> None:
    text = " ".join(cli("config", "set", "--help").stdout.split())
    assert "…" not in text
    assert all(key in text for key in PROFILE_KEYS)


def test_end_and_poll_help_say_what_they_do_once(cli: Cli) -> None:
    assert "DELETE" in cli("end", "--help").stdout
    poll = cli("poll", "--help").stdout
    assert poll.count("TYPE[,TYPE]") == 1, "the metavar, not repeated in the help"
    assert "established" in poll and "ChatEstablished" in poll
