"""Settings resolution: flag > environment > profile > default, remembering where each value came from.

`status` and `doctor` show the source of every value, so a CI job that picks up a stale environment variable
is easy to spot.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from liveagent_cli.core.atomic import atomic_write
from liveagent_cli.core.errors import ConfigError

DEFAULT_API_VERSION = "58"
REST_PATH = "/chat/rest/"

# setting name -> environment variable
ENV_VARS: dict[str, str] = {
    "pod": "LIVEAGENT_POD",
    "org_id": "LIVEAGENT_ORG_ID",
    "deployment_id": "LIVEAGENT_DEPLOYMENT_ID",
    "button_id": "LIVEAGENT_BUTTON_ID",
    "api_version": "LIVEAGENT_API_VERSION",
}
DEFAULTS: dict[str, str] = {"api_version": DEFAULT_API_VERSION}
PROFILE_KEYS = frozenset(
    {
        "pod",
        "org_id",
        "deployment_id",
        "button_id",
        "api_version",
        "visitor_name",
        "language",
        "user_agent",
        "screen_resolution",
        "prechat_file",
        "insecure",
    }
)
ID_PREFIXES = {"org_id": "00D", "deployment_id": "572", "button_id": "573"}
ID_FLAGS = {"org_id": "--org-id", "deployment_id": "--deployment-id", "button_id": "--button-id"}
_ID_RE = re.compile(r"^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$")


def config_path(environ: Mapping[str, str]) -> Path:
    """The config file: $LIVEAGENT_CONFIG, else $XDG_CONFIG_HOME/liveagent/config.toml."""
    if environ.get("LIVEAGENT_CONFIG"):
        return Path(environ["LIVEAGENT_CONFIG"]).expanduser()
    base = environ.get("XDG_CONFIG_HOME") or str(Path(environ.get("HOME") or Path.home()) / ".config")
    return Path(base) / "liveagent" / "config.toml"


def load_config(path: Path) -> dict[str, Any]:
    """Read the TOML config file; a missing file is an empty config, a malformed one a ConfigError."""
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}", hint="fix or remove the file") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None


@dataclass
class Settings:
    """Resolved settings plus the source of each ("flag", "env LIVEAGENT_POD", "profile work", "default")."""

    values: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    profile: str | None = None

    def get(self, name: str) -> Any:
        return self.values.get(name)

    def require(self, name: str) -> Any:
        value = self.values.get(name)
        if value in (None, ""):
            flag = "--" + name.replace("_", "-")
            env = ENV_VARS.get(name)
            where = f"{flag} or {env}" if env else flag
            raise ConfigError(f"no {name.replace('_', ' ')} is set", hint=f"pass {where}, or set it in a profile")
        return value


def resolve(
    flags: Mapping[str, Any],
    profile: str | None,
    environ: Mapping[str, str],
) -> Settings:
    """Merge flag > environment (`environ`, the command's variables) > profile > default for every known setting."""
    profile_name = profile or environ.get("LIVEAGENT_PROFILE") or None
    profile_values: dict[str, Any] = {}
    if profile_name:
        path = config_path(environ)
        profiles = load_config(path).get("profiles", {})
        if not isinstance(profiles, dict) or profile_name not in profiles:
            known = ", ".join(sorted(profiles)) if isinstance(profiles, dict) and profiles else "none"
            raise ConfigError(
                f"unknown profile {profile_name!r} in {path}",
                hint=f"known profiles: {known}; add a [profiles.{profile_name}] table",
            )
        profile_values = dict(profiles[profile_name])
        unknown = sorted(set(profile_values) - PROFILE_KEYS)
        if unknown:
            raise ConfigError(
                f"profile {profile_name!r} has unknown keys: {', '.join(unknown)}",
                hint="known keys: " + ", ".join(sorted(PROFILE_KEYS)),
            )
    settings = Settings(profile=profile_name)
    for name in sorted(PROFILE_KEYS | set(flags)):
        if flags.get(name) not in (None, ""):
            settings.values[name], settings.sources[name] = flags[name], "flag"
        elif name in ENV_VARS and environ.get(ENV_VARS[name]):
            settings.values[name], settings.sources[name] = environ[ENV_VARS[name]], f"env {ENV_VARS[name]}"
        elif name in profile_values:
            settings.values[name], settings.sources[name] = profile_values[name], f"profile {profile_name}"
        elif name in DEFAULTS:
            settings.values[name], settings.sources[name] = DEFAULTS[name], "default"
    return settings


def is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    import ipaddress

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def normalize_pod(raw: str, *, insecure: bool = False) -> str:
    """Turn what the user typed into the Chat API endpoint, ending in /chat/rest/.

    A bare host means https; plain http is refused unless the host is loopback (the sandbox) or --insecure.
    """
    text = raw.strip()
    if not text:
        raise ConfigError("the pod URL is empty", hint="pass --pod https://HOST/chat/rest/")
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https"):
        raise ConfigError(f"the pod URL {raw!r} is not an http(s) URL", hint="pass --pod https://HOST/chat/rest/")
    try:
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        raise ConfigError(f"the pod URL {raw!r} has an invalid port") from None
    if not host or any(c.isspace() for c in text) or parts.query or parts.fragment or parts.username:
        raise ConfigError(f"the pod URL {raw!r} is not a valid URL", hint="pass --pod https://HOST/chat/rest/")
    if parts.scheme == "http" and not insecure and not is_loopback(host):
        raise ConfigError(
            f"refusing plain http to {host}: the session key would cross the network unencrypted",
            hint="use https://, or pass --insecure if you really mean it",
        )
    path = parts.path.rstrip("/")
    if not path.endswith("/chat/rest"):
        path = path + "/chat/rest"
    netloc = host if ":" not in host else f"[{host}]"
    if port is not None:
        netloc += f":{port}"
    return urlunsplit((parts.scheme, netloc, path + "/", "", ""))


def check_id(name: str, value: str) -> str:
    """A Salesforce id: 15 or 18 letters and digits with the right key prefix."""
    value = value.strip()
    prefix = ID_PREFIXES[name]
    if not _ID_RE.match(value) or not value.startswith(prefix):
        raise ConfigError(
            f"{name.replace('_', ' ')} {value!r} is not a valid Salesforce id",
            hint=f"{ID_FLAGS[name]} takes 15 or 18 letters and digits starting with {prefix}",
        )
    return value


def check_api_version(value: str) -> str:
    text = str(value).strip()
    if not text.isdigit() or not 1 <= int(text) <= 999:
        raise ConfigError(f"API version {value!r} is not a positive integer", hint="for example --api-version 58")
    return str(int(text))


def check_agent_id(value: str) -> str:
    """An agent's user id (005…), for direct-to-agent routing."""
    value = value.strip()
    if not _ID_RE.match(value) or not value.startswith("005"):
        raise ConfigError(
            f"agent id {value!r} is not a valid Salesforce user id",
            hint="--agent-id takes 15 or 18 letters and digits starting with 005",
        )
    return value


def check_routing_target(value: str) -> str:
    """A buttonOverrides entry: a button id, an agent id, or AGENT_BUTTON (agent first, then the button)."""
    agent, sep, button = value.strip().partition("_")
    if sep:
        return f"{check_agent_id(agent)}_{check_id('button_id', button)}"
    if value.strip().startswith("005"):
        return check_agent_id(value)
    return check_id("button_id", value)


def check_profile_value(key: str, value: str) -> Any:
    """Check a value before it is written to a profile, so a typo fails now and not in CI later."""
    if key == "pod":
        normalize_pod(value, insecure=True)
        return value
    if key in ID_PREFIXES:
        return check_id(key, value)
    if key == "api_version":
        return check_api_version(value)
    if key == "insecure":
        if value.lower() not in ("true", "false"):
            raise ConfigError(f"insecure takes true or false, not {value!r}")
        return value.lower() == "true"
    return value


def write_profile_value(path: Path, profile: str, key: str, value: Any) -> Path:
    """Set (or, with None, remove) one key of [profiles.NAME], keeping everything else of the file as written.

    tomlkit edits the document in place, so comments, blank lines, key order and inline comments survive;
    it is imported here only, so no other command pays for it.
    """
    import tomlkit
    from tomlkit.items import InlineTable

    if not re.match(r"^[A-Za-z0-9_.-]{1,64}$", profile):
        raise ConfigError(f"invalid profile name {profile!r}", hint="use letters, digits, '.', '_' or '-'")
    load_config(path)  # a file tomllib refuses is refused here too, with the same message
    target = path.resolve()  # a config file that is a symlink (dotfiles) keeps being one
    try:
        text = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {getattr(exc, 'strerror', None) or exc}") from None
    document = tomlkit.parse(text)
    if "profiles" not in document:
        document["profiles"] = tomlkit.table(is_super_table=True)  # written as [profiles.NAME] alone
    profiles = document["profiles"]
    if not isinstance(profiles, dict):
        raise ConfigError(f"config file {path}: `profiles` is not a table")
    if profile not in profiles:
        profiles[profile] = tomlkit.inline_table() if isinstance(profiles, InlineTable) else tomlkit.table()
    table = profiles[profile]
    if not isinstance(table, dict):
        raise ConfigError(f"config file {path}: `profiles.{profile}` is not a table")
    if value is None:
        table.pop(key, None)
    else:
        table[key] = value
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, tomlkit.dumps(document).encode("utf-8"), mode=None)
    except OSError as exc:
        raise ConfigError(f"cannot write config file {path}: {exc.strerror or exc}") from None
    return path
