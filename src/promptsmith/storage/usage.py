"""Usage accounting: every upstream call's tokens and latency, written in the background.

The router calls `UsageWriter.record()` on hot and cancellation paths, so it never
blocks: entries go on a queue that a background task drains into `usage_records`
in batches. `flush()` waits until everything queued so far is written.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from ..providers.router import UsageEntry
from .db import Database
from .models import UsageRecord

logger = logging.getLogger("promptsmith.usage")

MAX_QUEUED = 10_000
BATCH = 200


class UsageWriter:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._queue: asyncio.Queue[UsageEntry] | None = None
        self._task: asyncio.Task[None] | None = None
        self.dropped = 0

    def record(self, entry: UsageEntry) -> None:
        if self._queue is None:
            self._queue = asyncio.Queue(MAX_QUEUED)
        try:
            self._queue.put_nowait(entry)
        except asyncio.QueueFull:
            self.dropped += 1
            logger.warning("usage queue full; dropped an entry", extra={"dropped": self.dropped})
            return
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._drain())

    async def flush(self) -> None:
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def _drain(self) -> None:
        assert self._queue is not None
        while not self._queue.empty():
            batch = [self._queue.get_nowait() for _ in range(min(BATCH, self._queue.qsize()))]
            try:
                await self._write(batch)
            except Exception:
                logger.exception("could not write %d usage entries", len(batch))

    async def _write(self, batch: list[UsageEntry]) -> None:
        async with self._db.session() as session, session.begin():
            session.add_all([_row(entry) for entry in batch])


def _row(entry: UsageEntry) -> UsageRecord:
    usage, context = entry.usage, entry.context
    return UsageRecord(
        request_id=context.request_id or None,
        endpoint=context.endpoint,
        org_id=context.org,
        institution_id=context.institution,
        user_id=context.user,
        provider=entry.provider,
        model=entry.model,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=usage.cache_read_tokens,
        cache_write_tokens=usage.cache_write_tokens,
        reasoning_tokens=usage.reasoning_tokens,
        latency_ms=round(entry.latency_ms, 2),
        status=entry.status,
        partial=entry.partial,
    )


@dataclass(frozen=True, slots=True)
class UsageSummaryRow:
    provider: str
    model: str
    endpoint: str
    calls: int
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    reasoning_tokens: int
    partial_calls: int
    avg_latency_ms: float


async def summarize(
    db: Database,
    *,
    org: str | None = None,
    institution: str | None = None,
    since: datetime | None = None,
) -> list[UsageSummaryRow]:
    """Totals per provider, model and endpoint for one org or institution."""
    r = UsageRecord
    query = select(
        r.provider,
        r.model,
        r.endpoint,
        func.count(),
        func.coalesce(func.sum(r.input_tokens), 0),
        func.coalesce(func.sum(r.output_tokens), 0),
        func.coalesce(func.sum(r.cache_read_tokens), 0),
        func.coalesce(func.sum(r.cache_write_tokens), 0),
        func.coalesce(func.sum(r.reasoning_tokens), 0),
        func.coalesce(func.sum(func.cast(r.partial, r.input_tokens.type)), 0),
        func.coalesce(func.avg(r.latency_ms), 0.0),
    ).group_by(r.provider, r.model, r.endpoint)
    if org is not None:
        query = query.where(r.org_id == org)
    if institution is not None:
        query = query.where(r.institution_id == institution)
    if since is not None:
        query = query.where(r.created_at >= since)
    async with db.session() as session:
        rows = (await session.execute(query.order_by(r.provider, r.model, r.endpoint))).all()
    return [
        UsageSummaryRow(
            provider,
            model,
            endpoint,
            int(calls),
            int(inp),
            int(out),
            int(cr),
            int(cw),
            int(reasoning),
            int(partial),
            float(latency),
        )
        for provider, model, endpoint, calls, inp, out, cr, cw, reasoning, partial, latency in rows
    ]
