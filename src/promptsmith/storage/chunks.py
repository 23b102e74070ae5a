"""Chunk rows: text, citation metadata and the float32 embedding of each chunk."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from sqlalchemy import delete, func, select, update

from .db import Database
from .qanda_models import Document, DocumentChunk

T = TypeVar("T")


@dataclass(frozen=True)
class NewChunk:
    ordinal: int
    text: str
    index_text: str
    heading_path: tuple[str, ...]
    page: int | None
    page_end: int | None
    start: int
    end: int


def chunk_id(document_id: str, ordinal: int) -> str:
    return f"{document_id}:{ordinal}"


async def replace_for_document(
    db: Database, document_id: str, course_pk: int, chunks: Sequence[NewChunk]
) -> None:
    """Store a document's chunks (without embeddings), replacing any earlier ones."""
    async with db.session() as session, session.begin():
        await session.execute(delete(DocumentChunk).where(DocumentChunk.document_id == document_id))
        session.add_all(
            DocumentChunk(
                id=chunk_id(document_id, c.ordinal),
                document_id=document_id,
                course_pk=course_pk,
                ordinal=c.ordinal,
                text=c.text,
                index_text=c.index_text,
                heading_path=json.dumps(list(c.heading_path)),
                page=c.page,
                page_end=c.page_end,
                char_start=c.start,
                char_end=c.end,
            )
            for c in chunks
        )


async def set_embeddings(db: Database, document_id: str, vectors: np.ndarray) -> None:
    """Store one float32 vector per chunk, in ordinal order."""
    rows = await for_document(db, document_id)
    if len(rows) != len(vectors):
        raise ValueError(f"{len(rows)} chunks but {len(vectors)} embeddings")
    values = [
        {"id": row.id, "embedding": np.asarray(vector, dtype="<f4").tobytes()}
        for row, vector in zip(rows, vectors, strict=True)
    ]
    async with db.session() as session, session.begin():
        if values:
            await session.execute(update(DocumentChunk), values)  # bulk, by primary key


async def for_document(db: Database, document_id: str) -> list[DocumentChunk]:
    async with db.session() as session:
        rows = await session.scalars(
            select(DocumentChunk)
            .where(DocumentChunk.document_id == document_id)
            .order_by(DocumentChunk.ordinal)
        )
        return list(rows)


async def for_course(db: Database, course_pk: int) -> list[DocumentChunk]:
    """Every embedded chunk of a course (what an index of the course is built from)."""
    async with db.session() as session:
        rows = await session.scalars(
            select(DocumentChunk)
            .where(DocumentChunk.course_pk == course_pk, DocumentChunk.embedding.is_not(None))
            .order_by(DocumentChunk.document_id, DocumentChunk.ordinal)
        )
        return list(rows)


async def count_for_document(db: Database, document_id: str) -> int:
    async with db.session() as session:
        total = await session.scalar(
            select(func.count()).where(DocumentChunk.document_id == document_id)
        )
    return int(total or 0)


def embedding_of(row: DocumentChunk) -> np.ndarray:
    if row.embedding is None:
        raise ValueError(f"chunk {row.id} has no embedding")
    return np.frombuffer(row.embedding, dtype="<f4")


def heading_path_of(row: DocumentChunk) -> list[str]:
    value = json.loads(row.heading_path or "[]")
    return [str(part) for part in value]


async def records_for_course(
    db: Database, course_pk: int, make: Callable[..., T], *, document_ids: Sequence[str] = ()
) -> list[T]:
    """Build one value per embedded chunk of a course with `make(row, filename=, title=)`."""
    query = (
        select(DocumentChunk, Document.filename, Document.title)
        .join(Document, Document.id == DocumentChunk.document_id)
        .where(
            DocumentChunk.course_pk == course_pk,
            DocumentChunk.embedding.is_not(None),
            Document.embed_status == "done",
        )
        .order_by(DocumentChunk.document_id, DocumentChunk.ordinal)
    )
    if document_ids:
        query = query.where(DocumentChunk.document_id.in_(list(document_ids)))
    async with db.session() as session:
        rows = (await session.execute(query)).all()
    return [make(row, filename=filename, title=title) for row, filename, title in rows]
