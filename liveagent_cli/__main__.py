"""Console-script entry point; imports the Typer app only when run, so `import liveagent_cli` stays cheap."""

import sys


def main() -> None:
    from liveagent_cli.cli.app import run
    from liveagent_cli.cli.environment import Environment

    sys.exit(run(env=Environment.from_process()))


if __name__ == "__main__":
    main()
