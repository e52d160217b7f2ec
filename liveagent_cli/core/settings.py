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
from typing import Any, NamedTuple
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
    "api": "LIVEAGENT_API",
    "deployment_name": "LIVEAGENT_DEPLOYMENT_NAME",
    "identity_token": "LIVEAGENT_IDENTITY_TOKEN",
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
        "api",
        "deployment_name",
        "identity_token",
    }
)
APIS = ("liveagent", "miaw")
MESSAGING_HOST_SUFFIX = "salesforce-scrt.com"  # Enhanced Chat's hosts (miaw-api.md §1.1): the default API there
ID_PREFIXES = {"org_id": "00D", "deployment_id": "572", "button_id": "573"}
SESSION_HELD = ("pod", "api_version", "org_id", "deployment_id", "button_id")  # a stored session's own settings
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
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}", hint="fix or remove the file") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None


class InvalidValue(ConfigError):
    """A value that fails its check. `problem` and `takes` let `Settings` say it again naming the value's source
    (LIVEAGENT_ORG_ID=…, profile uat in …/config.toml) instead of a flag the user never typed."""

    def __init__(self, label: str, value: Any, problem: str, *, takes: str, flag: str) -> None:
        super().__init__(f"{label} {value!r} {problem}", hint=f"{flag} takes {takes}")
        self.problem = problem
        self.takes = takes


# what a profile value must be, as TOML writes it; every other key is a string
_PROFILE_TYPES: dict[str, tuple[tuple[type, ...], str]] = {
    "pod": ((str,), "a string URL"),
    "org_id": ((str,), "a string id"),
    "deployment_id": ((str,), "a string id"),
    "button_id": ((str,), "a string id"),
    "api_version": ((str, int), 'a number such as 58 or "58"'),
    "insecure": ((bool,), "true or false"),
}


class Messaging(NamedTuple):
    """Where an Enhanced Chat session is opened: the Messaging URL (no path), the org id, the deployment name."""

    url: str
    org_id: str
    deployment_name: str


class Endpoint(NamedTuple):
    """Where a session is opened: the normalised Chat API URL and the X-LIVEAGENT-API-VERSION, both checked."""

    pod: str
    api_version: str


class Ids(NamedTuple):
    """The three ids ChasitorInit and the Visitor resources carry, each checked."""

    org_id: str
    deployment_id: str
    button_id: str


@dataclass
class Settings:
    """Resolved settings plus the source of each ("flag", "env LIVEAGENT_POD", "profile work", "default").

    `get` is the value as given (for showing it); `value` and `require` check it first, and a value that fails
    is reported naming where it came from, so a stale variable or a profile typo is found where it lives.
    """

    values: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    profile: str | None = None
    config_file: Path | None = None  # the file the profile was read from

    def get(self, name: str) -> Any:
        """The value as given, unchecked."""
        return self.values.get(name)

    def value(self, name: str) -> Any:
        """The checked value (the pod normalised, ids and API version checked), or None when it is not set."""
        source = "pod" if name == "pod_messaging" else name  # the same setting, checked as a Messaging URL
        raw = self.values.get(source)
        if raw is None or raw == "":
            return None
        try:
            return self._check(name, raw)
        except ConfigError as exc:
            raise self._blame(source, raw, exc) from None

    def require(self, name: str) -> Any:
        """The checked value; a ConfigError naming the flag and variable that set it when it is not set."""
        value = self.value(name)
        if value is None:
            name = "pod" if name == "pod_messaging" else name
            flag = "--" + name.replace("_", "-")
            env = ENV_VARS.get(name)
            where = f"{flag} or {env}" if env else flag
            raise ConfigError(f"no {name.replace('_', ' ')} is set", hint=f"pass {where}, or set it in a profile")
        return value

    def endpoint(self) -> Endpoint:
        """The pod and API version a session is opened with."""
        return Endpoint(self.require("pod"), self.require("api_version"))

    def ids(self) -> Ids:
        """The organization, deployment and button ids."""
        return Ids(self.require("org_id"), self.require("deployment_id"), self.require("button_id"))

    def insecure(self) -> bool:
        return bool(self.value("insecure"))

    def api(self) -> str:
        """The API the pod speaks: --api / LIVEAGENT_API, else `miaw` when the pod's host ends in
        salesforce-scrt.com, else `liveagent`."""
        chosen = self.value("api")
        if chosen:
            return str(chosen)
        raw = self.values.get("pod")
        host = ""
        if isinstance(raw, str) and raw.strip():
            text = raw.strip() if "://" in raw else "https://" + raw.strip()
            try:
                host = (urlsplit(text).hostname or "").lower()
            except ValueError:
                host = ""
        return "miaw" if host.endswith(MESSAGING_HOST_SUFFIX) else "liveagent"

    def messaging(self) -> Messaging:
        """The Messaging URL, org id and deployment name an Enhanced Chat session is opened with, each checked
        (the URL by Enhanced Chat's rules, not the Chat API's: no /chat/rest/ is added)."""
        pod = self.require("pod_messaging")
        return Messaging(pod, self.require("org_id"), self.require("deployment_name"))

    def ignored_flags(self, held: Mapping[str, str]) -> list[str]:
        """The flags a stored session overrides (`held`: its pod, API version and ids), as `--pod`, ....

        Each is checked all the same, so a malformed id is refused even where it would not be used. One is
        named only when it differs from what the session holds; an id the session holds none of yet (before
        `init`) is not overridden, since `init` takes it.
        """
        ignored = []
        for name in SESSION_HELD:
            if self.sources.get(name) == "flag" and held.get(name) and self.require(name) != held[name]:
                ignored.append("--" + name.replace("_", "-"))
        return ignored

    def problem(self, name: str) -> str | None:
        """What is wrong with a value, in a few words (for `config show`), or None when it is sound or unset."""
        raw = self.values.get(name)
        if raw is None or raw == "":
            return None
        try:
            self._check(name, raw)
        except InvalidValue as exc:
            return exc.problem
        except ConfigError as exc:
            return exc.message
        return None

    def blame(self, name: str) -> str:
        """Where a value came from, in words a person can act on: `--pod`, `LIVEAGENT_POD`, `profile x in …`."""
        source = self.sources.get(name, "")
        if source.startswith("env "):
            return source.removeprefix("env ")
        if source.startswith("profile "):
            return f"profile {self.profile} in {self.config_file}"
        return "--" + name.replace("_", "-") if source == "flag" else source

    def _check(self, name: str, raw: Any) -> Any:
        kinds, kind_words = _PROFILE_TYPES.get(name, ((str,), "a string"))
        if not isinstance(raw, kinds) or (isinstance(raw, bool) and bool not in kinds):
            raise ConfigError(f"{name} must be {kind_words}, not {raw!r}")
        if name == "pod":
            return normalize_pod(str(raw), insecure=self.insecure())
        if name == "pod_messaging":
            return normalize_messaging_url(str(raw), insecure=self.insecure())
        if name == "api":
            return check_api_name(str(raw))
        if name == "deployment_name":
            return check_deployment_name(str(raw))
        if name in ID_PREFIXES:
            return check_id(name, str(raw))
        if name == "api_version":
            return check_api_version(str(raw))
        return raw

    def _blame(self, name: str, raw: Any, exc: ConfigError) -> ConfigError:
        """`exc` again, naming the environment variable or profile the value came from (a flag's is kept)."""
        source = self.sources.get(name, "")
        if source.startswith("env "):
            var = source.removeprefix("env ")
            if isinstance(exc, InvalidValue):
                return ConfigError(f"{var}={raw!r} {exc.problem}", hint=f"{var} takes {exc.takes}")
            return ConfigError(f"{var}={raw!r}: {exc.message}", hint=exc.hint)
        if source.startswith("profile "):
            where = f"profile {self.profile} in {self.config_file}"
            fix = f"`liveagent config set {self.profile} {name} VALUE` writes it checked"
            if isinstance(exc, InvalidValue):
                return ConfigError(f"{where}: {name} {raw!r} {exc.problem}", hint=f"{name} takes {exc.takes}; {fix}")
            return ConfigError(f"{where}: {exc.message}", hint=exc.hint or fix)
        return exc


def resolve(
    flags: Mapping[str, Any],
    profile: str | None,
    environ: Mapping[str, str],
) -> Settings:
    """Merge flag > environment (`environ`, the command's variables) > profile > default for every known setting.

    Values are only gathered here: they are checked when used (`Settings.value`), so `config show` can show a
    wrong one and say what is wrong with it.
    """
    profile_name = profile or environ.get("LIVEAGENT_PROFILE") or None
    profile_values: dict[str, Any] = {}
    path = config_path(environ)
    if profile_name:
        profiles = load_config(path).get("profiles", {})
        if not isinstance(profiles, dict) or profile_name not in profiles:
            if not path.exists():
                raise ConfigError(
                    f"no config file at {path} (so no profile {profile_name!r})",
                    hint=f"create it with `liveagent config set {profile_name} pod HOST`, or set LIVEAGENT_CONFIG",
                )
            known = ", ".join(sorted(profiles)) if isinstance(profiles, dict) and profiles else "none"
            raise ConfigError(
                f"unknown profile {profile_name!r} in {path}",
                hint=f"known profiles: {known}; add a [profiles.{profile_name}] table",
            )
        table = profiles[profile_name]
        if not isinstance(table, dict):
            raise ConfigError(f"config file {path}: profiles.{profile_name} is not a table")
        profile_values = dict(table)
        unknown = sorted(set(profile_values) - PROFILE_KEYS)
        if unknown:
            raise ConfigError(
                f"profile {profile_name!r} in {path} has unknown keys: {', '.join(unknown)}",
                hint="known keys: " + ", ".join(sorted(PROFILE_KEYS)),
            )
    settings = Settings(profile=profile_name, config_file=path if profile_name else None)
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


POD_TAKES = "an https:// URL or a bare host, e.g. d.la1-c1-ukb.salesforceliveagent.com"


def _checked_url(raw: str, *, what: str, takes: str, hint: str, secret: str, insecure: bool) -> tuple[str, str, str]:
    """(scheme, netloc, path without a trailing slash) of an endpoint URL the user typed: a bare host means
    https; plain http is refused unless the host is loopback (the sandbox) or --insecure, since `secret`
    would cross the network unencrypted."""
    text = raw.strip()
    if not text:
        raise ConfigError(f"{what} is empty", hint=hint)
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)

    def invalid(problem: str) -> InvalidValue:
        return InvalidValue(what, raw, problem, takes=takes, flag="--pod")

    if parts.scheme not in ("http", "https"):
        raise invalid("is not an http(s) URL")
    try:
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        raise invalid("has an invalid port") from None
    if not host or any(c.isspace() for c in text) or parts.query or parts.fragment or parts.username:
        raise invalid("is not a valid URL")
    if parts.scheme == "http" and not insecure and not is_loopback(host):
        raise ConfigError(
            f"refusing plain http to {host}: {secret} would cross the network unencrypted",
            hint="use https://, or pass --insecure if you really mean it",
        )
    netloc = host if ":" not in host else f"[{host}]"
    if port is not None:
        netloc += f":{port}"
    return parts.scheme, netloc, parts.path.rstrip("/")


def normalize_pod(raw: str, *, insecure: bool = False) -> str:
    """Turn what the user typed into the Chat API endpoint, ending in /chat/rest/."""
    scheme, netloc, path = _checked_url(
        raw,
        what="the pod URL",
        takes=POD_TAKES,
        hint="pass --pod https://HOST/chat/rest/",
        secret="the session key",
        insecure=insecure,
    )
    if not path.endswith("/chat/rest"):
        path = path + "/chat/rest"
    return urlunsplit((scheme, netloc, path + "/", "", ""))


MESSAGING_TAKES = "an https:// URL or a bare host, e.g. NAME.my.salesforce-scrt.com (the deployment's Messaging URL)"
# paths a pasted URL may carry that are Enhanced Chat's own (or the sandbox's Chat API): the base is what is left
_KNOWN_PATHS = ("/chat/rest", "/iamessage/api/v2", "/iamessage/v1", "/eventrouter/v1/sse", "/embeddedservice/v1")


def normalize_messaging_url(raw: str, *, insecure: bool = False) -> str:
    """Enhanced Chat's base URL (miaw-api.md §1.1) without a trailing slash; a path of the API's own
    (`/iamessage/api/v2`) is dropped."""
    scheme, netloc, path = _checked_url(
        raw,
        what="the Messaging URL",
        takes=MESSAGING_TAKES,
        hint="pass --pod https://NAME.my.salesforce-scrt.com",
        secret="the access token",
        insecure=insecure,
    )
    for known in _KNOWN_PATHS:
        if path.endswith(known):
            path = path[: -len(known)]
            break
    return urlunsplit((scheme, netloc, path, "", ""))


def check_api_name(value: str) -> str:
    text = value.strip().lower()
    if text not in APIS:
        raise InvalidValue("API", value, "is not liveagent or miaw", takes="liveagent or miaw", flag="--api")
    return text


_DEPLOYMENT_NAME_RE = re.compile(r"^[A-Za-z](?:[A-Za-z0-9]|_(?!_)){0,79}$")


def check_deployment_name(value: str) -> str:
    """An Embedded Service deployment's API name (esDeveloperName): a letter, then letters, digits and single
    underscores, at most 80, not ending in an underscore (Salesforce's rules for API names)."""
    text = value.strip()
    if not _DEPLOYMENT_NAME_RE.match(text) or text.endswith("_"):
        raise InvalidValue(
            "deployment name",
            value,
            "is not an API name",
            takes="the deployment's API name, e.g. My_Custom_Client (letters, digits, single underscores)",
            flag="--deployment-name",
        )
    return text


_CHECKSUM_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def id_checksum(id15: str) -> str:
    """The three characters that make a 15-character Salesforce id an 18-character one.

    Each block of five characters gives one: bit i is set when its i-th character is a capital letter, and the
    five bits index A-Z then 0-5. So `00D5g000000SBOX` becomes `00D5g000000SBOXEA4`.
    """
    return "".join(
        _CHECKSUM_ALPHABET[sum(1 << i for i, c in enumerate(id15[start : start + 5]) if "A" <= c <= "Z")]
        for start in (0, 5, 10)
    )


def _check_salesforce_id(label: str, value: str, prefix: str, flag: str) -> str:
    """15 or 18 letters and digits starting with `prefix`; an 18-character id's last three must be its checksum."""
    value = value.strip()
    takes = f"15 or 18 letters and digits starting with {prefix}"
    if not _ID_RE.match(value) or not value.startswith(prefix):
        raise InvalidValue(label, value, "is not a valid Salesforce id", takes=takes, flag=flag)
    if len(value) == 18 and value[15:].upper() != (expected := id_checksum(value[:15])):
        raise InvalidValue(
            label,
            value,
            f"is not a valid Salesforce id: its last 3 characters, a checksum of the first 15, should be {expected}",
            takes=takes + " (copy the id rather than retyping it: letter case matters)",
            flag=flag,
        )
    return value


def check_id(name: str, value: str) -> str:
    """An org, deployment or button id: its prefix, its length and, for 18 characters, its checksum."""
    return _check_salesforce_id(name.replace("_", " "), value, ID_PREFIXES[name], ID_FLAGS[name])


def check_api_version(value: str) -> str:
    text = str(value).strip()
    if not text.isdigit() or not 1 <= int(text) <= 999:
        raise InvalidValue(
            "API version", value, "is not a positive integer", takes="a whole number such as 58", flag="--api-version"
        )
    return str(int(text))


def check_agent_id(value: str, *, flag: str = "--agent-id") -> str:
    """An agent's user id (005…), for direct-to-agent routing and Availability."""
    return _check_salesforce_id("agent id", value, "005", flag)


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
    try:
        return _profile_value(key, value)
    except InvalidValue as exc:  # said in the profile's words: `org_id`, not a flag
        raise ConfigError(f"{key} {value!r} {exc.problem}", hint=f"{key} takes {exc.takes}") from None


def _profile_value(key: str, value: str) -> Any:
    if key == "pod":
        normalize_pod(value, insecure=True)
        return value
    if key in ID_PREFIXES:
        return check_id(key, value)
    if key == "api_version":
        return check_api_version(value)
    if key == "api":
        return check_api_name(value)
    if key == "deployment_name":
        return check_deployment_name(value)
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
