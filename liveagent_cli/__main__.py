"""Console-script entry point; imports the Typer app only when run, so `import liveagent_cli` stays cheap."""

import sys


def main() -> None:
    from liveagent_cli.cli.app import run

    sys.exit(run())


if __name__ == "__main__":
    main()
