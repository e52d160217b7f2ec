"""What the shell offers at TAB (completions/ holds the scripts; they call back into the app).

Each function takes what has been typed of the word and returns the candidates that start with it. They run
only when a shell asks, so whatever they need (the config file, the sandbox's names) is imported inside them:
importing this module costs a command nothing.
"""

from __future__ import annotations

from collections.abc import Iterable


def _starting(incomplete: str, candidates: Iterable[str]) -> list[str]:
    return [c for c in candidates if c.startswith(incomplete)]


def on_off(incomplete: str) -> list[str]:
    """`typing on|off`."""
    return _starting(incomplete, ("on", "off"))


def profile_names(incomplete: str) -> list[str]:
    """The [profiles.NAME] tables of the config file; none when it cannot be read (completion never fails)."""
    from liveagent_cli.cli.environment import current
    from liveagent_cli.core.errors import LiveAgentError
    from liveagent_cli.core.settings import config_path, load_config

    try:
        profiles = load_config(config_path(current().environ)).get("profiles", {})
    except (LiveAgentError, OSError):
        return []
    return _starting(incomplete, sorted(profiles) if isinstance(profiles, dict) else [])


def profile_keys(incomplete: str) -> list[str]:
    """The keys `config set NAME KEY VALUE` takes."""
    from liveagent_cli.core.settings import PROFILE_KEYS

    return _starting(incomplete, sorted(PROFILE_KEYS))


def session_names(incomplete: str) -> list[str]:
    """The sessions stored in the state folder (`--session NAME`)."""
    from liveagent_cli.cli.environment import current
    from liveagent_cli.core.state import state_dir

    try:
        names = sorted(p.stem for p in state_dir(current().environ).glob("*.toml"))
    except OSError:
        return []
    return _starting(incomplete, names)


def agent_kinds(incomplete: str) -> list[str]:
    """The sandbox's agents (`--agent`); `script:` is followed by a file name."""
    from liveagent_cli.sandbox import AGENT_NAMES

    return _starting(incomplete, [name.split(":", 1)[0] + ":" if ":" in name else name for name in AGENT_NAMES])
