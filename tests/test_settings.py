"""Settings resolution and validation: flag > environment > profile > default, and clear refusals."""

from pathlib import Path

import pytest

from liveagent_cli.core.errors import ConfigError
from liveagent_cli.core.settings import check_agent_id, check_api_version, check_id, id_checksum, normalize_pod, resolve


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("d.la1-c1-ukb.salesforceliveagent.com", "https://d.la1-c1-ukb.salesforceliveagent.com/chat/rest/"),
        ("https://d.la1.salesforceliveagent.com/chat/rest/", "https://d.la1.salesforceliveagent.com/chat/rest/"),
        ("https://d.la1.salesforceliveagent.com/chat/rest", "https://d.la1.salesforceliveagent.com/chat/rest/"),
        ("https://d.la1.salesforceliveagent.com/chat", "https://d.la1.salesforceliveagent.com/chat/chat/rest/"),
        ("http://127.0.0.1:8780", "http://127.0.0.1:8780/chat/rest/"),
        ("http://localhost:8780/chat/rest/", "http://localhost:8780/chat/rest/"),
        ("http://[::1]:9/", "http://[::1]:9/chat/rest/"),
    ],
)
def test_pod_urls_are_normalised(raw: str, expected: str) -> None:
    assert normalize_pod(raw) == expected


@pytest.mark.parametrize("raw", ["http://pod.example.com", "http://10.0.0.5:80/chat/rest/"])
def test_plain_http_to_a_remote_host_is_refused(raw: str) -> None:
    with pytest.raises(ConfigError, match="refusing plain http"):
        normalize_pod(raw)
    assert normalize_pod(raw, insecure=True).startswith("http://")


@pytest.mark.parametrize("raw", ["", "ftp://pod.example.com", "https://", "not a url", "https://h:99999/"])
def test_a_pod_that_is_not_a_url_is_refused(raw: str) -> None:
    with pytest.raises(ConfigError):
        normalize_pod(raw)


def test_ids_need_length_and_prefix() -> None:
    assert check_id("org_id", "00D5g000000SBOX") == "00D5g000000SBOX"
    assert check_id("button_id", "5735g000000SBOXAA4") == "5735g000000SBOXAA4"
    for bad in ("00D5g", "5735g000000SBOX", "00D5g000000SBO!", "00D5g000000SBOXAA"):
        with pytest.raises(ConfigError, match="not a valid Salesforce id"):
            check_id("org_id", bad)


def test_api_version_must_be_an_integer() -> None:
    assert check_api_version("058") == "58"
    with pytest.raises(ConfigError):
        check_api_version("v58")


def test_flag_beats_env_beats_profile_beats_default(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[profiles.work]\npod = "p.example.com"\norg_id = "00DPROFILE00001"\napi_version = "47"\n')
    env = {"LIVEAGENT_CONFIG": str(config), "LIVEAGENT_ORG_ID": "00DENVIRONMENT1"}
    s = resolve({"pod": "flag.example.com"}, "work", env)
    assert s.values["pod"] == "flag.example.com" and s.sources["pod"] == "flag"
    assert s.values["org_id"] == "00DENVIRONMENT1" and s.sources["org_id"] == "env LIVEAGENT_ORG_ID"
    assert s.values["api_version"] == "47" and s.sources["api_version"] == "profile work"
    assert resolve({}, None, {}).sources["api_version"] == "default"


def test_unknown_profile_and_bad_config_are_config_errors(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[profiles.work]\n")
    with pytest.raises(ConfigError, match="unknown profile 'home'"):
        resolve({}, "home", {"LIVEAGENT_CONFIG": str(config)})
    config.write_text("[profiles.work\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        resolve({}, "work", {"LIVEAGENT_CONFIG": str(config)})


def test_the_checksum_is_salesforces_15_to_18_rule() -> None:
    assert id_checksum("00D5g000000SBOX") == "EA4"  # D is capital in block 1; S, B, O, X in block 3
    assert id_checksum("0055g000000SBOX") == "AA4"  # the sandbox agent's 0055g000000SBOXAA4
    assert id_checksum("abcdeABCDE00000") == "A5A"  # no capital: A; all five: 5
    assert check_agent_id("0055g000000SBOXAA4") == "0055g000000SBOXAA4"
    assert check_id("org_id", "00D5g000000SBOXea4") == "00D5g000000SBOXea4", "the suffix itself is case-blind"


def test_an_18_character_id_with_a_wrong_checksum_is_refused() -> None:
    """QA2-21: only the length and prefix were checked, so a mistyped 18-character id went to the pod."""
    with pytest.raises(ConfigError, match="should be EA4") as info:
        check_id("org_id", "00D5g000000SBOXAAA")
    assert "org id '00D5g000000SBOXAAA' is not a valid Salesforce id" in info.value.message
    assert (info.value.hint or "").startswith("--org-id takes")
    with pytest.raises(ConfigError, match="should be AA4"):
        check_agent_id("0055g000000SBOXAAA")


def test_values_are_gathered_then_checked_naming_their_source(tmp_path: Path) -> None:
    """QA2-22, QA2-42: a profile's `pod = 5` became https://5; an env var's bad value blamed --api-version."""
    config = tmp_path / "config.toml"
    config.write_text('[profiles.x]\npod = 5\napi_version = "abc"\norg_id = "00Dbad"\ninsecure = "yes"\n')
    env = {"LIVEAGENT_CONFIG": str(config)}
    settings = resolve({}, "x", env)
    assert settings.get("pod") == 5, "gathering checks nothing, so `config show` can show it"
    with pytest.raises(ConfigError, match=rf"^profile x in {config}: pod must be a string URL, not 5$"):
        settings.endpoint()
    with pytest.raises(ConfigError, match=rf"^profile x in {config}: insecure must be true or false, not 'yes'$"):
        settings.insecure()
    with pytest.raises(ConfigError, match=rf"^profile x in {config}: api_version 'abc' is not a positive integer$"):
        settings.require("api_version")
    with pytest.raises(ConfigError, match=rf"^profile x in {config}: org_id '00Dbad' is not a valid Salesforce id$"):
        settings.ids()
    assert settings.problem("api_version") == "is not a positive integer"

    from_env = resolve({}, None, {"LIVEAGENT_API_VERSION": "abc", "LIVEAGENT_ORG_ID": "00D5g000000SBOXAAA"})
    with pytest.raises(ConfigError) as info:
        from_env.require("api_version")
    assert info.value.message == "LIVEAGENT_API_VERSION='abc' is not a positive integer"
    assert info.value.hint == "LIVEAGENT_API_VERSION takes a whole number such as 58"
    with pytest.raises(ConfigError, match=r"^LIVEAGENT_ORG_ID='00D5g000000SBOXAAA' is not a valid .* should be EA4"):
        from_env.require("org_id")
    with pytest.raises(ConfigError, match=r"^API version 'abc' is not a positive integer$") as info:
        resolve({"api_version": "abc"}, None, {}).require("api_version")
    assert info.value.hint == "--api-version takes a whole number such as 58", "a flag's error names the flag"


def test_checked_values_come_back_normalised(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[profiles.x]\npod = "http://127.0.0.1:9"\napi_version = 57\n')
    settings = resolve({"org_id": "00D5g000000SBOX"}, "x", {"LIVEAGENT_CONFIG": str(config)})
    assert settings.endpoint() == ("http://127.0.0.1:9/chat/rest/", "57"), "a TOML integer version is taken"
    assert settings.value("button_id") is None


def test_a_profile_asked_for_without_a_config_file_says_there_is_none(tmp_path: Path) -> None:
    """QA2-50: `unknown profile 'nosuch' in …/config.toml` named a file that does not exist."""
    missing = tmp_path / "nowhere" / "config.toml"
    with pytest.raises(ConfigError, match=rf"^no config file at {missing} \(so no profile 'nosuch'\)$"):
        resolve({}, "nosuch", {"LIVEAGENT_CONFIG": str(missing)})
