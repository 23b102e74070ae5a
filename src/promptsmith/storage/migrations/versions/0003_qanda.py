"""Course Q&A: institutions, assistants, courses, documents, chunks, ingestion jobs.

Revision ID: 0003_qanda
Revises: 0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_qanda"
down_revision = "0001"
branch_labels = None
depends_on = None


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer, primary_key=True, autoincrement=True)


def _created() -> sa.Column[object]:
    return sa.Column("created_at", sa.DateTime(timezone=True), nullable=False)


def _fk(name: str, target: str) -> sa.Column[int]:
    return sa.Column(name, sa.Integer, sa.ForeignKey(target, ondelete="CASCADE"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "institutions",
        _id(),
        sa.Column("public_id", sa.String(36), nullable=False, unique=True),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("org_id", sa.String(200), nullable=False),
        _created(),
    )
    op.create_index("ix_institutions_org_id", "institutions", ["org_id"])
    op.create_table(
        "assistants",
        _id(),
        _fk("institution_pk", "institutions.id"),
        sa.Column("assistant_id", sa.String(200), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("instructions", sa.Text, nullable=False),
        sa.Column("provider", sa.String(40)),
        sa.Column("model", sa.String(200)),
        _created(),
        sa.UniqueConstraint("institution_pk", "assistant_id", name="uq_assistant_id"),
    )
    op.create_index("ix_assistants_institution_pk", "assistants", ["institution_pk"])
    op.create_table(
        "courses",
        _id(),
        _fk("institution_pk", "institutions.id"),
        sa.Column("course_id", sa.BigInteger, nullable=False),
        sa.Column("course_name", sa.String(300), nullable=False),
        _created(),
        sa.UniqueConstraint("institution_pk", "course_id", name="uq_course_id"),
    )
    op.create_index("ix_courses_institution_pk", "courses", ["institution_pk"])
    _documents()
    _chunks()
    op.create_table(
        "ingest_jobs",
        sa.Column("id", sa.String(36), primary_key=True),
        _fk("course_pk", "courses.id"),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("total", sa.Integer, nullable=False),
        sa.Column("error", sa.Text),
        _created(),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_ingest_jobs_course_pk", "ingest_jobs", ["course_pk"])


def _documents() -> None:
    phases = [
        sa.Column(f"{phase}_status", sa.String(20), nullable=False)
        for phase in ("extract", "chunk", "embed", "index")
    ]
    op.create_table(
        "documents",
        sa.Column("id", sa.String(36), primary_key=True),
        _fk("course_pk", "courses.id"),
        sa.Column("filename", sa.String(500), nullable=False),
        sa.Column("content_type", sa.String(200)),
        sa.Column("size_bytes", sa.Integer, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.Column("title", sa.String(500)),
        sa.Column("extracted", sa.Text),
        sa.Column("status", sa.String(20), nullable=False),
        *phases,
        sa.Column("error", sa.Text),
        sa.Column("error_phase", sa.String(20)),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("chunk_count", sa.Integer, nullable=False),
        sa.Column("job_id", sa.String(36)),
        _created(),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("course_pk", "content_hash", name="uq_document_hash"),
    )
    op.create_index("ix_documents_course_pk", "documents", ["course_pk"])
    op.create_index("ix_documents_job_id", "documents", ["job_id"])


def _chunks() -> None:
    op.create_table(
        "chunks",
        sa.Column("id", sa.String(80), primary_key=True),
        sa.Column(
            "document_id",
            sa.String(36),
            sa.ForeignKey("documents.id", ondelete="CASCADE"),
            nullable=False,
        ),
        _fk("course_pk", "courses.id"),
        sa.Column("ordinal", sa.Integer, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("index_text", sa.Text, nullable=False),
        sa.Column("heading_path", sa.Text, nullable=False),
        sa.Column("page", sa.Integer),
        sa.Column("page_end", sa.Integer),
        sa.Column("char_start", sa.Integer, nullable=False),
        sa.Column("char_end", sa.Integer, nullable=False),
        sa.Column("embedding", sa.LargeBinary),
    )
    op.create_index("ix_chunks_course_pk", "chunks", ["course_pk"])
    op.create_index("ix_chunks_document_ordinal", "chunks", ["document_id", "ordinal"])


def downgrade() -> None:
    for table in ("ingest_jobs", "chunks", "documents", "courses", "assistants", "institutions"):
        op.drop_table(table)
