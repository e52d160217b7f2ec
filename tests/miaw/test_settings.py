"""Enhanced Chat's settings: --api and its default from the pod's host, the Messaging URL's form, the
deployment name, each refused naming where it came from."""

from __future__ import annotations

import pytest

from liveagent_cli.core.errors import ConfigError
from liveagent_cli.core.settings import normalize_messaging_url, resolve


@pytest.mark.parametrize(
    ("pod", "api"),
    [
        ("acme.my.salesforce-scrt.com", "miaw"),
        ("https://acme--uat.sandbox.my.salesforce-scrt.com/", "miaw"),
        ("d.la1-c1-ukb.salesforceliveagent.com", "liveagent"),
        ("http://127.0.0.1:8780", "liveagent"),
        (None, "liveagent"),
    ],
)
def test_the_api_defaults_from_the_pods_host(pod: str | None, api: str) -> None:
    assert resolve({"pod": pod}, None, {}).api() == api


def test_the_api_flag_and_variable_win_over_the_host() -> None:
    assert resolve({"pod": "acme.my.salesforce-scrt.com", "api": "liveagent"}, None, {}).api() == "liveagent"
    assert resolve({"pod": "http://127.0.0.1:1"}, None, {"LIVEAGENT_API": "MIAW"}).api() == "miaw"


def test_an_unknown_api_is_refused_naming_the_variable() -> None:
    with pytest.raises(ConfigError, match="LIVEAGENT_API='chatter' is not liveagent or miaw"):
        resolve({}, None, {"LIVEAGENT_API": "chatter"}).api()


@pytest.mark.parametrize(
    ("raw", "url"),
    [
        ("acme.my.salesforce-scrt.com", "https://acme.my.salesforce-scrt.com"),
        ("https://acme.my.salesforce-scrt.com/iamessage/api/v2/", "https://acme.my.salesforce-scrt.com"),
        ("http://127.0.0.1:8780/chat/rest/", "http://127.0.0.1:8780"),
        ("https://proxy.example/miaw/", "https://proxy.example/miaw"),
    ],
)
def test_the_messaging_url_is_the_base_without_the_apis_paths(raw: str, url: str) -> None:
    assert normalize_messaging_url(raw) == url


def test_plain_http_to_a_remote_host_is_refused() -> None:
    with pytest.raises(ConfigError, match="access token would cross the network unencrypted"):
        normalize_messaging_url("http://acme.my.salesforce-scrt.com")


def test_messaging_settings_are_checked_and_blamed_on_their_source() -> None:
    settings = resolve(
        {"pod": "acme.my.salesforce-scrt.com", "org_id": "00D000000000001"},
        None,
        {"LIVEAGENT_DEPLOYMENT_NAME": "My_Custom_Client"},
    )
    assert settings.messaging() == ("https://acme.my.salesforce-scrt.com", "00D000000000001", "My_Custom_Client")
    bad = resolve(
        {"pod": "x.my.salesforce-scrt.com", "org_id": "00D000000000001"},
        None,
        {"LIVEAGENT_DEPLOYMENT_NAME": "my deployment"},
    )
    with pytest.raises(ConfigError, match="LIVEAGENT_DEPLOYMENT_NAME='my deployment' is not an API name"):
        bad.messaging()
    missing = resolve({"pod": "x.my.salesforce-scrt.com", "org_id": "00D000000000001"}, None, {})
    with pytest.raises(ConfigError, match="no deployment name is set") as refused:
        missing.messaging()
    assert refused.value.hint and "LIVEAGENT_DEPLOYMENT_NAME" in refused.value.hint
