"""The `liveagent` Typer app: registers the command groups and runs them."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from liveagent_cli import __version__
from liveagent_cli.cli import actions, config, sandbox, visitor

app = typer.Typer(
    name="liveagent",
    help="Drive the visitor side of Salesforce's Live Agent (Chat) REST API from the shell, "
    "with a sandbox pod built in.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.registered_commands.extend(visitor.app.registered_commands)
app.registered_commands.extend(actions.app.registered_commands)
app.add_typer(config.app, name="config")
app.add_typer(sandbox.app, name="sandbox")


def _version(value: bool) -> None:
    if value:
        print(f"liveagent {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", help="print the version and exit", callback=_version, is_eager=True)
    ] = False,
) -> None:
    """Drive the visitor side of Salesforce's Live Agent (Chat) REST API from the shell."""


def run() -> int:
    if "_LIVEAGENT_COMPLETE" in os.environ:
        # shell completion (completions/ holds the scripts); Typer wires Click's completion only on request
        from typer._completion_classes import completion_init

        completion_init()
    try:
        app()
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0
