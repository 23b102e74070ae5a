"""Course Q&A tables: institutions, assistants, courses, documents, chunks, ingestion jobs.

Tenancy: an institution belongs to an organisation (`org_id`); everything else hangs off an
institution, and documents and chunks carry their course's primary key so a partition's
chunks are one indexed lookup. Deleting a course or document cascades to its chunks.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, UTCDateTime, utcnow

PHASES = ("extract", "chunk", "embed", "index")


class Institution(Base):
    __tablename__ = "institutions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    org_id: Mapped[str] = mapped_column(String(200), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Assistant(Base):
    __tablename__ = "assistants"
    __table_args__ = (UniqueConstraint("institution_pk", "assistant_id", name="uq_assistant_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    institution_pk: Mapped[int] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE"), index=True
    )
    assistant_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(300))
    instructions: Mapped[str] = mapped_column(Text, default="")
    provider: Mapped[str | None] = mapped_column(String(40))
    model: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Course(Base):
    __tablename__ = "courses"
    __table_args__ = (UniqueConstraint("institution_pk", "course_id", name="uq_course_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    institution_pk: Mapped[int] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE"), index=True
    )
    course_id: Mapped[int] = mapped_column(BigInteger)
    course_name: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Document(Base):
    """An uploaded file and where its ingestion stands, phase by phase."""

    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("course_pk", "content_hash", name="uq_document_hash"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    course_pk: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(500))
    content_type: Mapped[str | None] = mapped_column(String(200))
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    content_hash: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)  # read on its own
    title: Mapped[str | None] = mapped_column(String(500))
    extracted: Mapped[str | None] = mapped_column(Text)  # the Extract phase's output (JSON)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    extract_status: Mapped[str] = mapped_column(String(20), default="pending")
    chunk_status: Mapped[str] = mapped_column(String(20), default="pending")
    embed_status: Mapped[str] = mapped_column(String(20), default="pending")
    index_status: Mapped[str] = mapped_column(String(20), default="pending")
    error: Mapped[str | None] = mapped_column(Text)
    error_phase: Mapped[str | None] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    chunk_count: Mapped[int] = mapped_column(Integer, default=0)
    job_id: Mapped[str | None] = mapped_column(String(36), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def phase_status(self, phase: str) -> str:
        return str(getattr(self, f"{phase}_status"))

    def set_phase_status(self, phase: str, status: str) -> None:
        setattr(self, f"{phase}_status", status)


class DocumentChunk(Base):
    __tablename__ = "chunks"
    __table_args__ = (Index("ix_chunks_document_ordinal", "document_id", "ordinal"),)

    id: Mapped[str] = mapped_column(String(80), primary_key=True)  # "{document_id}:{ordinal}"
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    course_pk: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    ordinal: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    index_text: Mapped[str] = mapped_column(Text)
    heading_path: Mapped[str] = mapped_column(Text, default="[]")  # JSON list
    page: Mapped[int | None] = mapped_column(Integer)
    page_end: Mapped[int | None] = mapped_column(Integer)
    char_start: Mapped[int] = mapped_column(Integer)
    char_end: Mapped[int] = mapped_column(Integer)
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)  # float32, little-endian


class IngestJob(Base):
    """A background ingestion of one upload (one or more documents)."""

    __tablename__ = "ingest_jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    course_pk: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="queued")
    total: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
