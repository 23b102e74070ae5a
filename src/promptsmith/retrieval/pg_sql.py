"""The SQL of `PostgresRetriever` (retrieval/postgres.py), over `retrieval_chunks`.

Every statement filters by `institution_id = :inst AND course_id = :course` in its WHERE
clause, so the tenant filter is applied before anything is scored.

Writes keep BM25 statistics next to the chunks: `retrieval_terms` (df of every lexeme in a
course) and `retrieval_partitions` (N and total length of a course), updated in the same
transaction as the chunks, under a per-course advisory lock (writes to one course are
serialised, as in the embedded store). pg_lexical.py uses them to score BM25 exactly without
reading every chunk that contains a common query word.
"""

from __future__ import annotations

from sqlalchemy import TextClause, text

K1 = 1.2
B = 0.75

PARTITION = "institution_id = :inst AND course_id = :course"

LOCK_PARTITION = text(
    "SELECT pg_advisory_xact_lock(hashtextextended(:inst || chr(31) || :course, 7027))"
)

INSERT = text(
    """
    INSERT INTO retrieval_chunks (institution_id, course_id, chunk_id, document_id, text,
                                  index_text, metadata, embedding, tsv, doc_len, updated_at)
    SELECT :inst, :course, :chunk_id, :document_id, :text, :index_text,
           CAST(CAST(:metadata AS text) AS jsonb), CAST(:embedding AS vector),
           v.tsv,
           (SELECT coalesce(sum(cardinality(positions)), 0) FROM unnest(v.tsv)),
           now()
    FROM (SELECT to_tsvector(CAST(:config AS regconfig), coalesce(:index_text, :text)) AS tsv) v
    """
)


def forget(condition: str) -> TextClause:
    """Delete the partition's chunks matching `condition`, take them out of the BM25
    statistics, and return how many there were."""
    return text(
        f"""
        WITH gone AS (
            DELETE FROM retrieval_chunks WHERE {PARTITION} AND {condition}
            RETURNING tsv, doc_len
        ),
        lexemes AS (
            SELECT lexeme, count(*) AS n
            FROM gone CROSS JOIN LATERAL unnest(tsvector_to_array(gone.tsv)) AS lexeme
            GROUP BY lexeme
        ),
        terms AS (
            UPDATE retrieval_terms t SET df = t.df - lexemes.n
            FROM lexemes
            WHERE t.institution_id = :inst AND t.course_id = :course
              AND t.lexeme = lexemes.lexeme
            RETURNING 1
        ),
        totals AS (
            UPDATE retrieval_partitions p SET n = p.n - g.n, total_len = p.total_len - g.len
            FROM (SELECT count(*) AS n, coalesce(sum(doc_len), 0) AS len FROM gone) g
            WHERE p.institution_id = :inst AND p.course_id = :course
            RETURNING 1
        )
        SELECT count(*) FROM gone
        """
    )


FORGET_CHUNKS = forget("chunk_id = ANY(CAST(:ids AS text[]))")
FORGET_DOCUMENT = forget("document_id = :doc")

COUNT_ADDED = text(
    f"""
    WITH added AS (
        SELECT tsv, doc_len FROM retrieval_chunks
        WHERE {PARTITION} AND chunk_id = ANY(CAST(:ids AS text[]))
    ),
    terms AS (
        INSERT INTO retrieval_terms (institution_id, course_id, lexeme, df)
        SELECT :inst, :course, lexeme, count(*)
        FROM added CROSS JOIN LATERAL unnest(tsvector_to_array(added.tsv)) AS lexeme
        GROUP BY lexeme
        ORDER BY lexeme
        ON CONFLICT (institution_id, course_id, lexeme)
            DO UPDATE SET df = retrieval_terms.df + excluded.df
        RETURNING 1
    )
    INSERT INTO retrieval_partitions (institution_id, course_id, n, total_len)
    SELECT :inst, :course, count(*), coalesce(sum(doc_len), 0) FROM added
    ON CONFLICT (institution_id, course_id) DO UPDATE SET
        n = retrieval_partitions.n + excluded.n,
        total_len = retrieval_partitions.total_len + excluded.total_len
    """
)

DELETE_PARTITION = (
    text(f"DELETE FROM retrieval_chunks WHERE {PARTITION}"),
    text(f"DELETE FROM retrieval_terms WHERE {PARTITION}"),
    text(f"DELETE FROM retrieval_partitions WHERE {PARTITION}"),
)
# Recompute a course's statistics from its chunks (after a bulk load with COPY).
REBUILD_STATISTICS = (
    *DELETE_PARTITION[1:],
    text(
        f"""
        INSERT INTO retrieval_terms (institution_id, course_id, lexeme, df)
        SELECT :inst, :course, lexeme, count(*)
        FROM retrieval_chunks CROSS JOIN LATERAL unnest(tsvector_to_array(tsv)) AS lexeme
        WHERE {PARTITION}
        GROUP BY lexeme
        """
    ),
    text(
        f"""
        INSERT INTO retrieval_partitions (institution_id, course_id, n, total_len)
        SELECT :inst, :course, count(*), coalesce(sum(doc_len), 0)
        FROM retrieval_chunks WHERE {PARTITION}
        HAVING count(*) > 0
        """
    ),
)
PARTITIONS = text("SELECT DISTINCT institution_id, course_id FROM retrieval_chunks ORDER BY 1, 2")
COUNT = text(f"SELECT count(*) FROM retrieval_chunks WHERE {PARTITION}")

PGVECTOR_VERSION = text("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
EMBEDDING_TYPE = text(
    "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
    "WHERE attrelid = CAST('retrieval_chunks' AS regclass) AND attname = 'embedding'"
)

# Transaction-local settings of a search, in one round trip:
# - `relaxed_order` lets the HNSW scan keep going until enough rows pass the partition
#   filter (pgvector 0.8) instead of returning fewer than LIMIT rows; `ef_search` is the
#   candidate list, `max_scan_tuples` bounds how far an iterative scan goes;
# - custom plans: asyncpg prepares statements, and a generic plan (no parameter values)
#   cannot tell a large course from a small one or use the GIN index well.
# ... and, in the same round trip, the course's BM25 statistics for the query's lexemes.
SEARCH_SETTINGS = text(
    """
    SELECT set_config('plan_cache_mode', 'force_custom_plan', true),
           set_config('hnsw.iterative_scan', 'relaxed_order', true),
           set_config('hnsw.ef_search', :ef, true),
           set_config('hnsw.max_scan_tuples', :tuples, true),
           coalesce(p.n, 0) AS n, coalesce(p.total_len, 0) AS total_len,
           q.lexemes, q.qtfs, q.dfs
    FROM (
        SELECT array_agg(v.lexeme ORDER BY v.lexeme) AS lexemes,
               array_agg(cardinality(v.positions) ORDER BY v.lexeme) AS qtfs,
               array_agg(coalesce(t.df, 0) ORDER BY v.lexeme) AS dfs
        FROM unnest(to_tsvector(CAST(:config AS regconfig), :query)) AS v
        LEFT JOIN retrieval_terms t
            ON t.institution_id = :inst AND t.course_id = :course AND t.lexeme = v.lexeme
    ) q
    LEFT JOIN retrieval_partitions p ON p.institution_id = :inst AND p.course_id = :course
    """
)

# relaxed_order may return rows slightly out of order: re-sort the materialised top rows.
DENSE = text(
    f"""
    WITH nearest AS MATERIALIZED (
        SELECT chunk_id, embedding <=> CAST(:vector AS vector) AS distance
        FROM retrieval_chunks
        WHERE {PARTITION}
        ORDER BY distance
        LIMIT :limit
    )
    SELECT chunk_id, 1 - distance AS cosine FROM nearest ORDER BY distance, chunk_id
    """
)

# BM25 of the chunks that contain any lexeme of :tsquery (found through the GIN index), over
# all the query's :lexemes with their :weights (qtf x idf). setweight + ts_filter keep only
# the query's lexemes of each chunk's tsvector; tf = their number of positions.
BM25 = text(
    f"""
    WITH query_terms AS (
        SELECT * FROM unnest(CAST(:lexemes AS text[]), CAST(:weights AS float8[]))
            AS q(lexeme, weight)
    ),
    postings AS (
        SELECT r.chunk_id, r.doc_len, u.lexeme, cardinality(u.positions) AS tf
        FROM retrieval_chunks r
        CROSS JOIN LATERAL unnest(
            ts_filter(setweight(r.tsv, 'A', CAST(:lexemes AS text[])), '{{a}}')
        ) AS u
        WHERE r.institution_id = :inst AND r.course_id = :course
          AND r.tsv @@ CAST(:tsquery AS tsquery)
    )
    SELECT p.chunk_id,
           sum(q.weight * p.tf * {K1 + 1}
               / (p.tf + {K1} * (1 - {B} + {B} * p.doc_len / CAST(:avgdl AS float8))))
               AS score
    FROM postings p JOIN query_terms q ON q.lexeme = p.lexeme
    GROUP BY p.chunk_id
    ORDER BY score DESC, p.chunk_id
    LIMIT :limit
    """
)


def tsquery_of(lexemes: list[str]) -> str:
    """The lexemes OR-ed, quoted so they are taken as they are (no parsing, no stemming)."""
    return " | ".join(
        "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'" for lexeme in lexemes
    )


def _rows_by_id(cosine: str) -> TextClause:
    return text(
        f"""
        SELECT chunk_id, document_id, text, CAST(metadata AS text) AS metadata,
               {cosine} AS cosine
        FROM retrieval_chunks
        WHERE {PARTITION} AND chunk_id = ANY(CAST(:ids AS text[]))
        """
    )


# The stored fields of the given chunk ids, with their cosine to :vector (or NULL).
ROWS_BY_ID = _rows_by_id("1 - (embedding <=> CAST(:vector AS vector))")
ROWS_BY_ID_NO_VECTOR = _rows_by_id("CAST(NULL AS float8)")
