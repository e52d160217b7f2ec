"""Usage errors in plain words (QA2-43): what was wrong with which option, and what to type instead."""

from __future__ import annotations

from tests.conftest import Cli


def test_a_number_option_given_words_says_so_plainly(cli: Cli) -> None:
    run = cli("poll", "--timeout", "abc")
    assert run.code == 2
    assert run.stderr.splitlines() == [
        "error: --timeout: 'abc' is not a number of seconds",
        "hint: see `liveagent poll --help`",
    ]
    below = cli("poll", "--timeout", "-1")
    assert below.code == 2 and below.stderr.startswith("error: --timeout must be 0 or more, not -1")


def test_an_unknown_option_is_named_with_the_near_one(cli: Cli) -> None:
    run = cli("send", "--bogus", "x")
    assert run.code == 2
    assert run.stderr.startswith("error: unknown option --bogus (did you mean --verbose?)\n")
    assert "Possible options" not in run.stderr


def test_text_that_starts_with_a_dash_is_told_to_come_after_double_dash(cli: Cli) -> None:
    for argv in (("send", "-5 please"), ("send", "-5", "please")):
        run = cli(*argv)
        assert run.code == 2
        assert "hint: text that starts with a dash goes after --: `liveagent send -- '-5 please'`" in run.stderr
    assert cli("send", "--", "-5 please").code == 6, "after --, the text is the message (and there is no session)"


def test_a_missing_value_names_the_command_it_belongs_to(cli: Cli) -> None:
    run = cli("poll", "--until")
    assert run.code == 2
    assert run.stderr.splitlines() == [
        "error: Option '--until' requires an argument.",
        "hint: see `liveagent poll --help`",
    ]
