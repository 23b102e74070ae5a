"""The organisation repository (`storage/orgs.py`), on SQLite and PostgreSQL."""

from __future__ import annotations

from promptsmith.storage import orgs
from promptsmith.storage.db import Database


async def test_unknown_org_has_no_assignment(database: Database) -> None:
    assert await orgs.get_model_assignment(database, "nobody") is None


async def test_set_overwrite_and_clear(database: Database) -> None:
    await orgs.set_model_assignment(database, "acme", "openai", "gpt-4o-mini")
    assert await orgs.get_model_assignment(database, "acme") == ("openai", "gpt-4o-mini")
    await orgs.set_model_assignment(database, "acme", "google", "gemini-2.5-flash")
    assert await orgs.get_model_assignment(database, "acme") == ("google", "gemini-2.5-flash")
    await orgs.clear_model_assignment(database, "acme")
    assert await orgs.get_model_assignment(database, "acme") is None
    await orgs.clear_model_assignment(database, "never-set")


async def test_assignments_never_cross_orgs(database: Database) -> None:
    await orgs.set_model_assignment(database, "acme", "openai", "acme-model")
    await orgs.set_model_assignment(database, "Acme", "anthropic", "other-model")
    assert await orgs.get_model_assignment(database, "acme") == ("openai", "acme-model")
    assert await orgs.get_model_assignment(database, "Acme") == ("anthropic", "other-model")
    assert await orgs.get_model_assignment(database, "acme ") is None
    await orgs.clear_model_assignment(database, "Acme")
    assert await orgs.get_model_assignment(database, "acme") == ("openai", "acme-model")


async def test_ids_and_names_round_trip_exactly(database: Database) -> None:
    org = "ørg-ünïcode-" + "x" * 180
    model = "vendor/model:tag@sha256-" + "ü" * 100
    await orgs.set_model_assignment(database, org, "openai", model)
    assert await orgs.get_model_assignment(database, org) == ("openai", model)
