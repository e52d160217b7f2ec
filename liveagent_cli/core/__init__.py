"""The core: knows Live Agent, state and settings, and nothing of Typer."""
