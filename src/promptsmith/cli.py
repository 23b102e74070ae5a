"""The `promptsmith` command line: `promptsmith --help` lists the commands."""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import tempfile
from collections.abc import Coroutine
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from .settings import Settings
from .storage import orgs
from .storage.db import Database, upgrade

T = TypeVar("T")

app = typer.Typer(no_args_is_help=True, help="promptsmith: prompt authoring and course Q&A service")
db_app = typer.Typer(no_args_is_help=True, help="Database commands.")
app.add_typer(db_app, name="db")
org_app = typer.Typer(no_args_is_help=True, help="Organisation settings.")
app.add_typer(org_app, name="org")
err = Console(stderr=True)


def _register_emulator() -> None:
    from .emulator.cli import llm_emulator

    app.command("llm-emulator")(llm_emulator)


_register_emulator()


def _register_qanda() -> None:
    from .cli_qanda import register

    register(app)


_register_qanda()


def _register_lint() -> None:
    from .authoring.lint_cli import lint_command

    app.command("lint")(lint_command)


_register_lint()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Serve the HTTP API."""
    import uvicorn

    from .logs import configure_logging

    settings = Settings()  # the workers read it again; this is for the supervisor's logs
    configure_logging(settings.log_level, settings.log_json)
    share_metrics_between_workers(workers)
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


def share_metrics_between_workers(workers: int) -> None:
    """With several workers, let /metrics add up all of them (PROMETHEUS_MULTIPROC_DIR)."""
    if workers == 1 or os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    path = tempfile.mkdtemp(prefix="promptsmith-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path  # inherited by the worker processes
    atexit.register(shutil.rmtree, path, ignore_errors=True)


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
    settings = Settings()
    upgrade(settings.resolved_database_url)
    err.print("[green]database is up to date[/green]")


def open_database() -> Database:
    """The configured database, migrated, for a CLI command."""
    settings = Settings()
    upgrade(settings.resolved_database_url)
    return Database(settings.resolved_database_url)


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine for a CLI command."""
    return asyncio.run(coro)


@app.command()
def usage(
    org: Annotated[str | None, typer.Option(help="Organisation id.")] = None,
    institution: Annotated[str | None, typer.Option(help="Institution public id.")] = None,
    days: Annotated[int | None, typer.Option(min=1, help="Only the last N days.")] = None,
) -> None:
    """Summarize recorded model usage for an organisation or institution."""
    from datetime import UTC, datetime, timedelta

    from rich.table import Table

    from .storage.usage import summarize

    if org is None and institution is None:
        err.print("[red]give --org or --institution[/red]")
        raise typer.Exit(2)
    since = datetime.now(UTC) - timedelta(days=days) if days else None
    db = open_database()

    async def read() -> list[Any]:
        try:
            return await summarize(db, org=org, institution=institution, since=since)
        finally:
            await db.dispose()

    rows = run(read())
    table = Table(title=f"usage for {org or institution}")
    for column in (
        "provider",
        "model",
        "endpoint",
        "calls",
        "input",
        "output",
        "cache read",
        "cache write",
        "reasoning",
        "partial",
        "avg ms",
    ):
        table.add_column(
            column, justify="left" if column in ("provider", "model", "endpoint") else "right"
        )
    for row in rows:
        table.add_row(
            row.provider,
            row.model,
            row.endpoint,
            str(row.calls),
            str(row.input_tokens),
            str(row.output_tokens),
            str(row.cache_read_tokens),
            str(row.cache_write_tokens),
            str(row.reasoning_tokens),
            str(row.partial_calls),
            f"{row.avg_latency_ms:.0f}",
        )
    if not rows:
        err.print("no usage recorded")
        return
    Console().print(table)


@org_app.command("set-model")
def org_set_model(
    org: Annotated[str, typer.Argument(help="Organisation id.")],
    provider: Annotated[str, typer.Argument(help="anthropic, openai or google.")],
    model: Annotated[str, typer.Argument(help="Model name, passed to the provider unchanged.")],
) -> None:
    """Set an organisation's default model."""
    if provider not in ("anthropic", "openai", "google"):
        err.print(f"[red]unknown provider {provider!r}[/red]: use anthropic, openai or google")
        raise typer.Exit(2)
    db = open_database()

    async def apply() -> None:
        try:
            await orgs.set_model_assignment(db, org, provider, model)
        finally:
            await db.dispose()

    run(apply())
    err.print(f"[green]{org}[/green] now uses {provider}:{model}")


@org_app.command("show")
def org_show(org: Annotated[str, typer.Argument(help="Organisation id.")]) -> None:
    """Show an organisation's model assignment."""
    db = open_database()

    async def read() -> tuple[str, str] | None:
        try:
            return await orgs.get_model_assignment(db, org)
        finally:
            await db.dispose()

    assigned = run(read())
    settings = Settings()
    if assigned is None:
        typer.echo(f"{settings.default_provider}:{settings.default_model} (server default)")
    else:
        typer.echo(f"{assigned[0]}:{assigned[1]}")


def main() -> None:
    app()
