"""Q&A fixtures; the generated documents and catalogue helpers live in qanda_fixtures.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from promptsmith.services import Services


@pytest.fixture
async def migrated(make_settings: Any, db_url: str) -> AsyncIterator[Services]:
    """Services on a migrated database, SQLite and PostgreSQL (without an app around them)."""
    services = Services.build(make_settings(database_url=db_url))
    await services.db.migrate()
    try:
        yield services
    finally:
        await services.db.dispose()
