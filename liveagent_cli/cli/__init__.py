"""The Typer layer: parse, call the core, render, exit. Nothing here talks HTTP or touches files itself."""
