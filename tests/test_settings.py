"""Settings resolution and validation: flag > environment > profile > default, and clear refusals."""

from pathlib import Path

import pytest

from liveagent_cli.core.errors import ConfigError
from liveagent_cli.core.settings import check_api_version, check_id, normalize_pod, resolve


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
    assert check_id("button_id", "5735g000000SBOXAAA") == "5735g000000SBOXAAA"
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
