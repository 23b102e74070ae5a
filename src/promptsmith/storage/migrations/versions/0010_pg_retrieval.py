"""PostgreSQL: the retrieval index tables of `PostgresRetriever` (SQLite: nothing to do).

`retrieval_chunks` is the search index, not the canonical chunk store: the Q&A tables
own documents and chunks; the retriever mirrors what it needs to search (text, lexemes,
embedding) here, keyed by (institution_id, course_id, chunk_id).

- primary key (institution_id, course_id, chunk_id): the btree every partition filter and
  replace-by-id uses; (institution_id, course_id, document_id) INCLUDE (doc_len) for
  deleting a document and for rebuilding a course's totals by index-only scan;
- GIN on `tsv` (to_tsvector('english', index_text)) for the lexical half;
- HNSW (vector_cosine_ops, m=16, ef_construction=64) on `embedding` for the dense half;
  filtered queries use pgvector 0.8's iterative scan (see retrieval/postgres.py);
- `retrieval_terms` (df of each lexeme in a course) and `retrieval_partitions` (chunk count
  and total length of a course): BM25 statistics, written with the chunks.

A branch of its own off `0002_pgvector` (label `pg_retrieval`), so it never collides with
other tables' migrations; `upgrade heads` applies every branch.

Revision ID: 0010_pg_retrieval
Revises: 0002_pgvector
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0010_pg_retrieval"
down_revision = "0002_pgvector"
branch_labels = ("pg_retrieval",)
depends_on = None

DIMENSION = 384  # all-MiniLM-L6-v2; the retriever checks the embedder matches

STATEMENTS = (
    f"""
    CREATE TABLE retrieval_chunks (
        institution_id text NOT NULL,
        course_id text NOT NULL,
        chunk_id text NOT NULL,
        document_id text NOT NULL,
        text text NOT NULL,
        index_text text,
        metadata jsonb NOT NULL DEFAULT '{{}}'::jsonb,
        embedding vector({DIMENSION}) NOT NULL,
        tsv tsvector NOT NULL,
        doc_len integer NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (institution_id, course_id, chunk_id)
    )
    """,
    # Keep the tsvector inline and uncompressed (BM25 reads it for every matching chunk);
    # text and embedding go out of line (read only for the few hits; HNSW has its own copy).
    "ALTER TABLE retrieval_chunks ALTER COLUMN text SET STORAGE EXTERNAL, "
    "ALTER COLUMN embedding SET STORAGE EXTERNAL, ALTER COLUMN tsv SET STORAGE MAIN",
    "CREATE INDEX ix_retrieval_chunks_document "
    "ON retrieval_chunks (institution_id, course_id, document_id) INCLUDE (doc_len)",
    "CREATE INDEX ix_retrieval_chunks_tsv ON retrieval_chunks USING gin (tsv)",
    # BM25 statistics, kept up to date by the retriever in the transaction that writes chunks.
    """
    CREATE TABLE retrieval_terms (
        institution_id text NOT NULL,
        course_id text NOT NULL,
        lexeme text NOT NULL,
        df integer NOT NULL,
        PRIMARY KEY (institution_id, course_id, lexeme)
    )
    """,
    """
    CREATE TABLE retrieval_partitions (
        institution_id text NOT NULL,
        course_id text NOT NULL,
        n integer NOT NULL,
        total_len bigint NOT NULL,
        PRIMARY KEY (institution_id, course_id)
    )
    """,
    "CREATE INDEX ix_retrieval_chunks_embedding ON retrieval_chunks "
    "USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)",
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TABLE IF EXISTS retrieval_chunks, retrieval_terms, retrieval_partitions")
