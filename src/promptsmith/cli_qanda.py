"""CLI for course Q&A: institutions, assistants, courses, and document ingestion."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .exceptions import ApiError
from .services import Services
from .settings import Settings
from .storage import assistants, courses, institutions
from .storage.qanda_models import Course, Institution

T = TypeVar("T")
err = Console(stderr=True)
institution_app = typer.Typer(no_args_is_help=True, help="Institutions (course Q&A tenants).")
assistant_app = typer.Typer(no_args_is_help=True, help="Assistants of an institution.")
course_app = typer.Typer(no_args_is_help=True, help="Courses of an institution.")

SUFFIXES = {".pdf", ".docx", ".html", ".htm", ".md", ".markdown", ".txt", ".text"}
PROVIDERS = ("anthropic", "openai", "google")


def with_services(work: Callable[[Services], Awaitable[T]]) -> T:
    """Run `work` against the configured database (migrated), then clean up."""
    import asyncio

    async def main() -> T:
        services = Services.build(Settings())
        await services.db.migrate()
        try:
            return await work(services)
        except ApiError as exc:
            err.print(f"[red]{exc.error}[/red]: {exc.message or ''}")
            raise typer.Exit(1) from exc
        finally:
            await services.retriever.aclose()
            await services.db.dispose()
            await services.close_redis()

    return asyncio.run(main())


async def _institution(services: Services, public_id: str) -> Institution:
    found = await institutions.get(services.db, public_id)
    if found is None:
        err.print(f"[red]no institution {public_id}[/red]")
        raise typer.Exit(1)
    return found


async def _course(services: Services, public_id: str, course_id: int) -> Course:
    institution = await _institution(services, public_id)
    found = await courses.get(services.db, institution, course_id)
    if found is None:
        err.print(f"[red]no course {course_id} in institution {public_id}[/red]")
        raise typer.Exit(1)
    return found


def _check_uuid(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not a UUID") from exc


@institution_app.command("create")
def institution_create(
    public_id: Annotated[str, typer.Option("--public-id", help="The institution's UUID.")],
    name: Annotated[str, typer.Option(help="Display name.")],
    org: Annotated[str, typer.Option(help="Owning organisation (the admin `org` claim).")] = (
        "default"
    ),
) -> None:
    """Create an institution."""
    public_id = _check_uuid(public_id)

    async def work(services: Services) -> None:
        await institutions.create(services.db, public_id=public_id, name=name, org_id=org)

    with_services(work)
    err.print(f"[green]institution {public_id}[/green] ({name}) created in org {org}")


@assistant_app.command("create")
def assistant_create(
    institution: Annotated[str, typer.Option(help="Institution public id.")],
    assistant_id: Annotated[str, typer.Option("--id", help="Assistant id.")],
    name: Annotated[str, typer.Option(help="Display name.")],
    instructions_file: Annotated[
        Path | None, typer.Option(help="XML instructions (a prompt file).", exists=True)
    ] = None,
    provider: Annotated[str | None, typer.Option(help="anthropic, openai or google.")] = None,
    model: Annotated[str | None, typer.Option(help="Model name for this assistant.")] = None,
) -> None:
    """Create an assistant of an institution."""
    if (provider is None) != (model is None):
        raise typer.BadParameter("give both --provider and --model, or neither")
    if provider is not None and provider not in PROVIDERS:
        raise typer.BadParameter(f"unknown provider {provider!r}: use {', '.join(PROVIDERS)}")
    text = instructions_file.read_text(encoding="utf-8") if instructions_file else ""

    async def work(services: Services) -> None:
        owner = await _institution(services, institution)
        await assistants.create(
            services.db,
            owner,
            assistant_id=assistant_id,
            name=name,
            instructions=text,
            provider=provider,
            model=model,
        )

    with_services(work)
    err.print(f"[green]assistant {assistant_id}[/green] created")


@course_app.command("create")
def course_create(
    institution: Annotated[str, typer.Option(help="Institution public id.")],
    course_id: Annotated[int, typer.Option("--course-id", min=0, help="Course id (integer).")],
    name: Annotated[str, typer.Option(help="Course name.")],
) -> None:
    """Create a course of an institution."""

    async def work(services: Services) -> None:
        owner = await _institution(services, institution)
        await courses.create(services.db, owner, course_id=course_id, course_name=name)

    with_services(work)
    err.print(f"[green]course {course_id}[/green] ({name}) created")


def files_under(paths: list[Path]) -> Iterator[Path]:
    """The given files, and the supported documents in the given folders (recursively)."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and child.suffix.lower() in SUFFIXES:
                    yield child
        elif path.is_file():
            yield path
        else:
            raise typer.BadParameter(f"{path} does not exist")


def ingest(
    institution: Annotated[str, typer.Option(help="Institution public id.")],
    course_id: Annotated[int, typer.Option("--course-id", help="Course id.")],
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to ingest.")],
) -> None:
    """Ingest documents into a course (same content again is skipped)."""
    from .qanda.ingest import Target

    files = list(files_under(paths))
    if not files:
        err.print("[yellow]no documents found[/yellow]")
        raise typer.Exit(1)

    async def work(services: Services) -> int:
        course = await _course(services, institution, course_id)
        target = Target(await _institution(services, institution), course)
        failed = 0
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=err) as progress:
            task = progress.add_task("ingesting", total=len(files))
            for path in files:
                progress.update(task, description=path.name)
                result = await services.ingestor.ingest(target, path.name, path.read_bytes())
                document = result.document
                if document.status != "ready":
                    failed += 1
                    progress.console.print(f"[red]failed[/red] {path}: {document.error}")
                elif not result.created:
                    progress.console.print(f"[dim]unchanged[/dim] {path}")
                else:
                    chunks = document.chunk_count
                    progress.console.print(f"[green]ready[/green] {path} ({chunks} chunks)")
                progress.advance(task)
        return failed

    failed = with_services(work)
    err.print(f"{len(files) - failed} of {len(files)} documents ready")
    if failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(institution_app, name="institution")
    app.add_typer(assistant_app, name="assistant")
    app.add_typer(course_app, name="course")
    app.command("ingest")(ingest)
