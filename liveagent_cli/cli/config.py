"""`liveagent config`: show, list and set profiles of the config file."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from liveagent_cli.cli.common import guarded, make_output
from liveagent_cli.cli.completion import profile_keys, profile_names
from liveagent_cli.cli.environment import current
from liveagent_cli.core.errors import UsageError
from liveagent_cli.core.settings import PROFILE_KEYS

KEY_ORDER = sorted(PROFILE_KEYS)

app = typer.Typer(help="Show, list and set profiles of the config file ([profiles.NAME] tables).", no_args_is_help=True)

Json = Annotated[bool, typer.Option("--json", help="machine output on stdout")]
Debug = Annotated[bool, typer.Option("--debug", help="traceback with errors")]
Profile = Annotated[str | None, typer.Option("--profile", help="the profile [env LIVEAGENT_PROFILE]", metavar="NAME")]


@app.command("path")
def path_cmd(json_: Json = False, debug: Debug = False) -> None:
    """Print where the config file is (LIVEAGENT_CONFIG, else the XDG config folder)."""
    out = make_output(json_, False, False)

    def body() -> None:
        from liveagent_cli.core.settings import config_path

        path = config_path(current().environ)
        if json_:
            out.data({"path": str(path), "exists": path.exists()})
        else:
            out.text(str(path))

    guarded(out, debug, body)


@app.command("list")
def list_cmd(json_: Json = False, debug: Debug = False) -> None:
    """List the profiles in the config file."""
    out = make_output(json_, False, False)

    def body() -> None:
        from liveagent_cli.core.settings import config_path, load_config

        path = config_path(current().environ)
        profiles = load_config(path).get("profiles", {})
        names = sorted(profiles) if isinstance(profiles, dict) else []
        if json_:
            out.data({"profiles": names})
        elif names:
            for name in names:
                out.text(name)
        else:
            out.note(f"no profiles in {path}; add one with `liveagent config set NAME KEY VALUE`")

    guarded(out, debug, body)


@app.command("show")
def show_cmd(
    profile: Annotated[
        str | None,
        typer.Argument(help="a profile; default LIVEAGENT_PROFILE", metavar="[NAME]", autocompletion=profile_names),
    ] = None,
    json_: Json = False,
    debug: Debug = False,
) -> None:
    """Show every setting as it resolves now (flag > environment > profile > default), where it came from, and
    what is wrong with any that would be refused (exit 3)."""
    out = make_output(json_, False, False)

    def body() -> None:
        from liveagent_cli.cli.common import shown
        from liveagent_cli.core.errors import ConfigError
        from liveagent_cli.core.settings import config_path, load_config, resolve

        environ = current().environ
        load_config(config_path(environ))  # a file that is not TOML is reported, as `config list` does
        settings = resolve({}, profile, environ)
        rows: dict[str, dict[str, Any]] = {}
        invalid: list[str] = []
        for name in sorted(settings.values):
            rows[name] = {"value": settings.values[name], "source": settings.sources[name]}
            if settings.problem(name) is not None:
                try:
                    settings.value(name)
                except ConfigError as exc:
                    rows[name]["error"] = exc.message
                invalid.append(name)
        if json_:
            out.data({"profile": settings.profile, "settings": rows})
        else:
            if not rows:
                out.note("nothing is set; see `liveagent config set --help`")
            width = max((len(n) for n in rows), default=0)
            for name, row in rows.items():
                problem = settings.problem(name)
                mark = f"  ✗ {problem}" if problem else ""
                out.text(f"{name.ljust(width)}  {row['value']}  ({row['source']}){mark}")
        if invalid:
            first = invalid[0]
            raise shown(
                out,
                ConfigError(
                    f"{len(invalid)} setting{'s' if len(invalid) > 1 else ''} would be refused: {', '.join(invalid)}",
                    hint=f"fix {first} where it comes from: {settings.blame(first)}",
                ),
            )

    guarded(out, debug, body)


@app.command("set")
def set_cmd(
    profile: Annotated[
        str, typer.Argument(help="the profile to change (created if new)", metavar="NAME", autocompletion=profile_names)
    ],
    key: Annotated[
        str, typer.Argument(help=f"one of: {', '.join(KEY_ORDER)}", metavar="KEY", autocompletion=profile_keys)
    ],
    value: Annotated[str, typer.Argument(help="the value; an empty string removes the key", metavar="VALUE")],
    debug: Debug = False,
) -> None:
    """Set KEY in [profiles.NAME] of the config file (written atomically; other tables are kept)."""
    out = make_output(False, False, False)

    def body() -> None:
        from liveagent_cli.core.settings import PROFILE_KEYS, check_profile_value, config_path, write_profile_value

        if key not in PROFILE_KEYS:
            raise UsageError(f"unknown profile key {key!r}", hint="keys: " + ", ".join(sorted(PROFILE_KEYS)))
        parsed: Any = check_profile_value(key, value) if value != "" else None
        path = write_profile_value(config_path(current().environ), profile, key, parsed)
        out.note(f"{'removed' if parsed is None else 'set'} {key} in [profiles.{profile}] of {path}")

    guarded(out, debug, body)
