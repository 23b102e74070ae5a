"""The Q&A service searches in PostgreSQL when it runs on PostgreSQL, in process otherwise."""

from __future__ import annotations

from typing import Any

import pytest

from promptsmith.retrieval.errors import RetrievalError
from promptsmith.services import Services


async def test_backend_follows_the_database(migrated: Services, db_url: str) -> None:
    expected = "postgres" if db_url.startswith("postgresql") else "embedded"
    assert migrated.retriever.name == expected


async def test_embedded_can_be_forced_on_postgres(make_settings: Any, db_url: str) -> None:
    services = Services.build(make_settings(database_url=db_url, retrieval_backend="embedded"))
    try:
        assert services.retriever.name == "embedded"
    finally:
        await services.db.dispose()


def test_postgres_backend_refuses_sqlite(make_settings: Any, tmp_path: Any) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    with pytest.raises(RetrievalError, match="PROMPTSMITH_DATABASE_URL"):
        Services.build(make_settings(database_url=url, retrieval_backend="postgres"))
