"""Alembic environment: runs migrations on an async engine in a fresh event loop.

On PostgreSQL the whole upgrade runs in one transaction that first takes a
transaction-scoped advisory lock, so workers starting together on several hosts
queue up: the first applies the migrations, the others then find nothing to do.
(SQLite is single-host; `storage.db.upgrade` serialises it with a file lock.)
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from promptsmith.storage.models import Base

target_metadata = Base.metadata

# Any fixed 64-bit key; it only has to be the same for every promptsmith process.
MIGRATION_LOCK_KEY = 0x70726F6D70740001


def _run(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        # Taken before configure(), so alembic joins this transaction; the lock is
        # released when `_run_async` commits.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


def run_offline(url: str) -> None:
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


url = context.config.get_main_option("sqlalchemy.url") or ""
if context.is_offline_mode():
    run_offline(url)
else:
    asyncio.run(_run_async(url))
