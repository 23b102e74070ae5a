"""Background ingestion jobs and their documents' progress."""

from __future__ import annotations

import uuid

from sqlalchemy import select, update

from .db import Database
from .qanda_models import Document, IngestJob


async def create(db: Database, course_pk: int, total: int) -> IngestJob:
    job = IngestJob(id=str(uuid.uuid4()), course_pk=course_pk, status="queued", total=total)
    async with db.session() as session, session.begin():
        session.add(job)
    return job


async def get(db: Database, job_id: str) -> IngestJob | None:
    async with db.session() as session:
        return await session.get(IngestJob, job_id)


async def set_status(db: Database, job_id: str, status: str, error: str | None = None) -> None:
    async with db.session() as session, session.begin():
        job = await session.get(IngestJob, job_id)
        if job is not None:
            job.status, job.error = status, error


async def documents(db: Database, job_id: str) -> list[Document]:
    async with db.session() as session:
        rows = await session.scalars(
            select(Document).where(Document.job_id == job_id).order_by(Document.created_at)
        )
        return list(rows)


async def claim(db: Database, job_id: str) -> bool:
    """Take a queued job for this process; False when another process already has it."""
    async with db.session() as session, session.begin():
        result = await session.execute(
            update(IngestJob)
            .where(IngestJob.id == job_id, IngestJob.status == "queued")
            .values(status="running", error=None)
        )
    return bool(getattr(result, "rowcount", 0))


async def queued(db: Database) -> list[IngestJob]:
    async with db.session() as session:
        rows = await session.scalars(
            select(IngestJob).where(IngestJob.status == "queued").order_by(IngestJob.created_at)
        )
        return list(rows)
