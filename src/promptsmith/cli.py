"""The `promptsmith` command line."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, help="promptsmith: prompt authoring and course Q&A service")


@app.callback()
def _root() -> None:
    """promptsmith command line."""


def main() -> None:
    app()
