"""Documents of a course: the uploaded bytes, their hash, and per-phase ingestion status."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from .db import Database
from .qanda_models import Document


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def find_by_hash(db: Database, course_pk: int, digest: str) -> Document | None:
    async with db.session() as session:
        return await session.scalar(
            select(Document).where(Document.course_pk == course_pk, Document.content_hash == digest)
        )


async def create_or_get(
    db: Database,
    course_pk: int,
    *,
    filename: str,
    data: bytes,
    content_type: str | None = None,
    job_id: str | None = None,
) -> tuple[Document, bool]:
    """The course's document with this content, creating it if new; `(document, created)`."""
    digest = content_hash(data)
    existing = await find_by_hash(db, course_pk, digest)
    if existing is not None:
        return existing, False
    document = Document(
        id=str(uuid.uuid4()),
        course_pk=course_pk,
        filename=filename,
        content_type=content_type,
        size_bytes=len(data),
        content_hash=digest,
        content=data,
        status="pending",
        extract_status="pending",
        chunk_status="pending",
        embed_status="pending",
        index_status="pending",
        attempts=0,
        chunk_count=0,
        job_id=job_id,
    )
    try:
        async with db.session() as session, session.begin():
            session.add(document)
    except IntegrityError:  # the same content uploaded concurrently
        raced = await find_by_hash(db, course_pk, digest)
        if raced is None:
            raise
        return raced, False
    return document, True


async def get(db: Database, course_pk: int, document_id: str) -> Document | None:
    async with db.session() as session:
        return await session.scalar(
            select(Document).where(Document.course_pk == course_pk, Document.id == document_id)
        )


async def get_by_id(db: Database, document_id: str) -> Document | None:
    async with db.session() as session:
        return await session.get(Document, document_id)


async def read_content(db: Database, document_id: str) -> bytes:
    async with db.session() as session:
        data = await session.scalar(select(Document.content).where(Document.id == document_id))
    if data is None:
        raise LookupError(f"document {document_id} has no content")
    return bytes(data)


async def list_for(db: Database, course_pk: int) -> list[Document]:
    async with db.session() as session:
        rows = await session.scalars(
            select(Document).where(Document.course_pk == course_pk).order_by(Document.created_at)
        )
        return list(rows)


async def update(db: Database, document_id: str, **values: Any) -> Document:
    async with db.session() as session, session.begin():
        document = await session.get(Document, document_id)
        if document is None:
            raise LookupError(f"document {document_id} is gone")
        for name, value in values.items():
            setattr(document, name, value)
    return document


async def set_job(db: Database, document_id: str, job_id: str) -> None:
    await update(db, document_id, job_id=job_id)


async def delete(db: Database, document_id: str) -> bool:
    async with db.session() as session, session.begin():
        document = await session.get(Document, document_id)
        if document is None:
            return False
        await session.delete(document)
    return True


async def indexed_version(
    db: Database, institution_public_id: str, course_id: int
) -> tuple[int, str | None]:
    """A cheap fingerprint of a course's indexed documents: (count, latest update)."""
    from .qanda_models import Course, Institution

    query = (
        select(func.count(Document.id), func.max(Document.updated_at))
        .join(Course, Course.id == Document.course_pk)
        .join(Institution, Institution.id == Course.institution_pk)
        .where(
            Institution.public_id == institution_public_id,
            Course.course_id == course_id,
            Document.index_status == "done",
        )
    )
    async with db.session() as session:
        count, latest = (await session.execute(query)).one()
    return int(count or 0), str(latest) if latest is not None else None
