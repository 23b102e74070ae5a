"""Migrations on both backends: from scratch, idempotent, reversible, and race-free."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, make_url

from promptsmith.storage.db import Database, alembic_config, upgrade
from promptsmith.storage.models import Base
from promptsmith.testing_pg import PostgresServer, run_async

CLI = Path(sys.executable).parent / "promptsmith"


def script_heads(url: str) -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config(url)).get_heads())


async def applied_heads(db: Database) -> set[str]:
    def read(connection: Connection) -> set[str]:
        return set(MigrationContext.configure(connection).get_current_heads())

    async with db.engine.connect() as connection:
        return await connection.run_sync(read)


async def table_names(db: Database) -> set[str]:
    async with db.engine.connect() as connection:
        return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))


async def test_from_scratch_builds_every_model_table(database: Database) -> None:
    assert await applied_heads(database) == script_heads(database.url)
    assert set(Base.metadata.tables) <= await table_names(database)


async def test_upgrade_again_is_a_no_op(database: Database) -> None:
    before = await applied_heads(database)
    await asyncio.to_thread(upgrade, database.url)
    assert await applied_heads(database) == before


async def test_downgrade_to_base_and_back(database: Database) -> None:
    from alembic import command

    await asyncio.to_thread(command.downgrade, alembic_config(database.url), "base")
    assert not set(Base.metadata.tables) & await table_names(database)
    await asyncio.to_thread(upgrade, database.url)
    assert await applied_heads(database) == script_heads(database.url)


@pytest.mark.postgres
async def test_postgres_has_pgvector(postgres_url: str) -> None:
    await asyncio.to_thread(upgrade, postgres_url)
    db = Database(postgres_url)
    try:
        async with db.engine.connect() as connection:
            version = await connection.scalar(
                text("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
            )
            distance = await connection.scalar(
                text("SELECT '[1,2,3]'::vector <-> '[1,2,5]'::vector")
            )
    finally:
        await db.dispose()
    assert version is not None
    assert tuple(int(part) for part in version.split(".")[:2]) >= (0, 8)
    assert distance == pytest.approx(2.0)


def test_workers_starting_together_migrate_once(db_url: str, tmp_path: Path) -> None:
    """Several `promptsmith db upgrade` at once on an empty database all succeed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMPTSMITH_")}
    env |= {"PROMPTSMITH_DATABASE_URL": db_url, "PROMPTSMITH_DATA_DIR": str(tmp_path / "var")}
    processes = [
        subprocess.Popen(
            [str(CLI), "db", "upgrade"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(3)
    ]
    results = [process.communicate(timeout=120) for process in processes]
    for process, (_, stderr) in zip(processes, results, strict=True):
        assert process.returncode == 0, stderr.decode()

    async def check() -> set[str]:
        db = Database(db_url)
        try:
            return await applied_heads(db)
        finally:
            await db.dispose()

    assert run_async(check) == script_heads(db_url)


@pytest.fixture
def app_role(postgres_server: PostgresServer) -> Iterator[str]:
    """A plain login role (no superuser), as a managed service gives an application."""
    role = f"app_{uuid.uuid4().hex[:10]}"
    postgres_server.execute(f'CREATE ROLE "{role}" LOGIN')
    try:
        yield role
    finally:
        postgres_server.execute(f'DROP ROLE IF EXISTS "{role}"')


def owned_database(server: PostgresServer, role: str) -> str:
    url = server.create_database()
    name = make_url(url).database
    server.execute(f'ALTER DATABASE "{name}" OWNER TO "{role}"')
    return make_url(url).set(username=role).render_as_string(hide_password=False)


@pytest.mark.postgres
def test_app_role_migrates_once_an_admin_created_the_extension(
    postgres_server: PostgresServer, app_role: str
) -> None:
    url = owned_database(postgres_server, app_role)
    try:
        postgres_server.execute(
            "CREATE EXTENSION IF NOT EXISTS vector", database=make_url(url).database
        )
        upgrade(url)
    finally:
        postgres_server.drop_database(url)


@pytest.mark.postgres
def test_app_role_without_the_extension_gets_a_clear_error(
    postgres_server: PostgresServer, app_role: str
) -> None:
    url = owned_database(postgres_server, app_role)
    try:
        with pytest.raises(RuntimeError, match="CREATE EXTENSION IF NOT EXISTS vector"):
            upgrade(url)
    finally:
        postgres_server.drop_database(url)
