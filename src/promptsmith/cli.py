"""The `promptsmith` command line: `promptsmith --help` lists the commands."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console

from .settings import Settings

app = typer.Typer(no_args_is_help=True, help="promptsmith: prompt authoring and course Q&A service")
db_app = typer.Typer(no_args_is_help=True, help="Database commands.")
app.add_typer(db_app, name="db")
err = Console(stderr=True)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Serve the HTTP API."""
    import uvicorn

    uvicorn.run(
        "promptsmith.app:serve_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        loop="uvloop",
        http="httptools",
        timeout_graceful_shutdown=10,
    )


@app.command()
def token(
    org: Annotated[str, typer.Option(help="Organisation id (the `org` claim).")],
    user: Annotated[str, typer.Option(help="User id (the `sub` claim).")],
    institution: Annotated[
        str | None, typer.Option(help="Institution public id: mints a Q&A (x-access-token) token.")
    ] = None,
    role: Annotated[str | None, typer.Option(help="Role claim, e.g. admin.")] = None,
    ttl: Annotated[int, typer.Option(min=1, help="Lifetime in seconds.")] = 3600,
) -> None:
    """Print a dev token the running server (same settings and data dir) accepts."""
    from .auth import TokenVerifier

    verifier = TokenVerifier(Settings())
    typer.echo(verifier.mint(user=user, org=org, institution=institution, role=role, ttl=ttl))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations (they also run at server start-up)."""
    from .storage.db import upgrade

    settings = Settings()
    upgrade(settings.resolved_database_url)
    err.print("[green]database is up to date[/green]")


def run(coro: object) -> object:
    """Run a coroutine for a CLI command."""
    return asyncio.run(coro)  # type: ignore[arg-type]


def main() -> None:
    app()
