"""Usage rows (`models.UsageRecord`, `storage/usage.py`): write and read, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import func, select

from promptsmith.providers.base import Usage
from promptsmith.providers.router import CallContext, UsageEntry
from promptsmith.storage.db import Database
from promptsmith.storage.models import UsageRecord
from promptsmith.storage.usage import UsageWriter, summarize


def record(org: str | None, at: datetime, **fields: object) -> UsageRecord:
    values: dict[str, object] = {
        "endpoint": "nl-create",
        "provider": "openai",
        "model": "gpt-4o-mini",
        "org_id": org,
        "created_at": at,
    }
    values.update(fields)
    return UsageRecord(**values)


async def test_insert_and_read_back(database: Database) -> None:
    at = datetime(2026, 3, 1, 12, 30, 15, 123000, tzinfo=UTC)
    async with database.session() as session, session.begin():
        session.add(
            record(
                "acme",
                at,
                request_id="req-1",
                user_id="ada",
                input_tokens=1200,
                output_tokens=345,
                cache_read_tokens=1000,
                cache_write_tokens=7,
                reasoning_tokens=64,
                latency_ms=812.5,
                status="error",
                partial=True,
            )
        )
    async with database.session() as session:
        row = (await session.scalars(select(UsageRecord))).one()
    assert row.id >= 1
    assert (row.org_id, row.user_id, row.request_id) == ("acme", "ada", "req-1")
    assert (row.input_tokens, row.output_tokens) == (1200, 345)
    assert (row.cache_read_tokens, row.cache_write_tokens, row.reasoning_tokens) == (1000, 7, 64)
    assert row.latency_ms == 812.5
    assert (row.status, row.partial) == ("error", True)
    assert row.created_at == at
    assert row.created_at.tzinfo is not None


async def test_defaults(database: Database) -> None:
    async with database.session() as session, session.begin():
        session.add(UsageRecord(endpoint="qanda-stream", provider="anthropic", model="m"))
    async with database.session() as session:
        row = (await session.scalars(select(UsageRecord))).one()
    assert (row.input_tokens, row.output_tokens, row.status, row.partial) == (0, 0, "ok", False)
    assert row.created_at is not None


async def test_ids_increase_and_queries_stay_within_a_tenant(database: Database) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    async with database.session() as session, session.begin():
        for day in range(5):
            session.add(record("acme", start + timedelta(days=day), input_tokens=10))
            session.add(record("globex", start + timedelta(days=day), input_tokens=1000))
        session.add(
            record(None, start, institution_id="uni-1", endpoint="qanda-stream", input_tokens=3)
        )
    async with database.session() as session:
        ids = list(await session.scalars(select(UsageRecord.id).order_by(UsageRecord.id)))
        acme_recent = await session.scalar(
            select(func.sum(UsageRecord.input_tokens)).where(
                UsageRecord.org_id == "acme",
                UsageRecord.created_at >= start + timedelta(days=2),
            )
        )
        institution = await session.scalar(
            select(func.count()).where(UsageRecord.institution_id == "uni-1")
        )
    assert len(ids) == 11 and ids == sorted(set(ids))
    assert acme_recent == 30
    assert institution == 1


async def test_timestamps_are_utc_on_both_backends(database: Database) -> None:
    plus_two = timezone(timedelta(hours=2))
    async with database.session() as session, session.begin():
        session.add(record("acme", datetime(2026, 6, 1, 14, 0, tzinfo=plus_two)))
        session.add(record("naive", datetime(2026, 6, 1, 12, 0)))
    async with database.session() as session:
        rows = list(await session.scalars(select(UsageRecord).order_by(UsageRecord.id)))
        later = await session.scalar(
            select(func.count()).where(
                UsageRecord.created_at > datetime(2026, 6, 1, 11, 59, tzinfo=UTC)
            )
        )
    expected = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    assert [row.created_at for row in rows] == [expected, expected]
    assert all(row.created_at.utcoffset() == timedelta(0) for row in rows)
    assert later == 2


def entry(org: str | None, institution: str | None = None, **usage: int) -> UsageEntry:
    return UsageEntry(
        context=CallContext("nl-create", "req", org=org, institution=institution, user="u"),
        provider="openai",
        model="gpt-4o-mini",
        usage=Usage(**usage),
        latency_ms=100.0,
        status="ok",
        partial=False,
    )


async def test_writer_and_summary(database: Database) -> None:
    writer = UsageWriter(database)
    for _ in range(3):
        writer.record(entry("acme", input_tokens=10, output_tokens=2, reasoning_tokens=1))
    writer.record(entry("globex", input_tokens=1000))
    writer.record(entry(None, "uni-1", input_tokens=5))
    await writer.flush()

    [acme] = await summarize(database, org="acme")
    assert (acme.calls, acme.input_tokens, acme.output_tokens) == (3, 30, 6)
    assert acme.reasoning_tokens == 3
    assert (acme.partial_calls, acme.avg_latency_ms) == (0, 100.0)
    [uni] = await summarize(database, institution="uni-1")
    assert (uni.calls, uni.input_tokens) == (1, 5)
    assert await summarize(database, org="acme", since=datetime.now(UTC) + timedelta(hours=1)) == []
    assert await summarize(database, org="nobody") == []
