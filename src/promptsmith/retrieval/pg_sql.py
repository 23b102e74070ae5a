"""The SQL of `PostgresRetriever` (retrieval/postgres.py), over `retrieval_chunks`.

Every statement filters by `institution_id = :inst AND course_id = :course` in its WHERE
clause, so the tenant filter is applied before anything is scored.

Lexical half: real BM25 (k1 = 1.2, b = 0.75, Lucene idf, the same formula as
`lexical.BM25Index`) computed in SQL. The query's lexemes come from
`to_tsvector(config, query)`; chunks matching ANY of them (OR, like BM25) are found through
the GIN index; N and avgdl are counted in the partition (an index-only scan of
ix_retrieval_chunks_document, which includes doc_len); df and tf come from the matching
chunks' tsvectors (tf = number of positions of the lexeme; `doc_len` = the chunk's number of
non-stopword tokens). `max_score` is what a perfect match would score, for
`lexical_coverage`.
"""

from __future__ import annotations

from sqlalchemy import TextClause, text

K1 = 1.2
B = 0.75

PARTITION = "institution_id = :inst AND course_id = :course"

UPSERT = text(
    """
    INSERT INTO retrieval_chunks (institution_id, course_id, chunk_id, document_id, text,
                                  index_text, metadata, embedding, tsv, doc_len, updated_at)
    SELECT :inst, :course, :chunk_id, :document_id, :text, :index_text,
           CAST(CAST(:metadata AS text) AS jsonb), CAST(:embedding AS vector),
           v.tsv,
           (SELECT coalesce(sum(cardinality(positions)), 0) FROM unnest(v.tsv)),
           now()
    FROM (SELECT to_tsvector(CAST(:config AS regconfig), coalesce(:index_text, :text)) AS tsv) v
    ON CONFLICT (institution_id, course_id, chunk_id) DO UPDATE SET
        document_id = excluded.document_id, text = excluded.text,
        index_text = excluded.index_text, metadata = excluded.metadata,
        embedding = excluded.embedding, tsv = excluded.tsv, doc_len = excluded.doc_len,
        updated_at = excluded.updated_at
    """
)

DELETE_DOCUMENT = text(f"DELETE FROM retrieval_chunks WHERE {PARTITION} AND document_id = :doc")
DELETE_PARTITION = text(f"DELETE FROM retrieval_chunks WHERE {PARTITION}")
COUNT = text(f"SELECT count(*) FROM retrieval_chunks WHERE {PARTITION}")

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
# ... and, in the same round trip, the query's lexemes and their counts (lexical half).
SEARCH_SETTINGS = text(
    """
    SELECT set_config('plan_cache_mode', 'force_custom_plan', true),
           set_config('hnsw.iterative_scan', 'relaxed_order', true),
           set_config('hnsw.ef_search', :ef, true),
           set_config('hnsw.max_scan_tuples', :tuples, true),
           q.lexemes, q.qtfs
    FROM (
        SELECT array_agg(lexeme ORDER BY lexeme) AS lexemes,
               array_agg(cardinality(positions) ORDER BY lexeme) AS qtfs
        FROM unnest(to_tsvector(CAST(:config AS regconfig), :query))
    ) q
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

# :lexemes (text[]) and :qtfs (int[]) are the query's lexemes and their counts; :tsquery is
# the same lexemes OR-ed ('a' | 'b'). `postings` reads each matching chunk's tf of the query
# lexemes only (setweight + ts_filter keep just those), and df comes from the same rows:
# a chunk that contains a query lexeme is always a matching chunk.
LEXICAL = text(
    f"""
    WITH query_terms AS (
        SELECT * FROM unnest(CAST(:lexemes AS text[]), CAST(:qtfs AS int[])) AS q(lexeme, qtf)
    ),
    part AS (
        SELECT count(*) AS n, coalesce(avg(doc_len), 0) AS avgdl
        FROM retrieval_chunks WHERE {PARTITION}
    ),
    postings AS MATERIALIZED (
        SELECT r.chunk_id, r.doc_len, u.lexeme, cardinality(u.positions) AS tf
        FROM retrieval_chunks r
        CROSS JOIN LATERAL unnest(
            ts_filter(setweight(r.tsv, 'A', CAST(:lexemes AS text[])), '{{a}}')
        ) AS u
        WHERE r.institution_id = :inst AND r.course_id = :course
          AND r.tsv @@ CAST(:tsquery AS tsquery)
    ),
    terms AS (
        SELECT q.lexeme, q.qtf,
               ln(1 + (part.n - coalesce(d.df, 0) + 0.5) / (coalesce(d.df, 0) + 0.5)) AS idf
        FROM query_terms q
        CROSS JOIN part
        LEFT JOIN (SELECT lexeme, count(*) AS df FROM postings GROUP BY lexeme) d
            ON d.lexeme = q.lexeme
    ),
    scored AS (
        SELECT p.chunk_id,
               sum(t.qtf * t.idf * p.tf * {K1 + 1}
                   / (p.tf + {K1} * (1 - {B} + {B} * p.doc_len / greatest(part.avgdl, 1e-9))))
                   AS score
        FROM postings p
        JOIN terms t ON t.lexeme = p.lexeme
        CROSS JOIN part
        GROUP BY p.chunk_id
    )
    SELECT chunk_id, score, (SELECT sum(qtf * idf) * {K1 + 1} FROM terms) AS max_score
    FROM scored
    ORDER BY score DESC, chunk_id
    LIMIT :limit
    """
)


def tsquery_of(lexemes: list[str]) -> str:
    """The lexemes OR-ed, quoted so they are taken as they are (no parsing, no stemming)."""
    return " | ".join(
        "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'" for lexeme in lexemes
    )


def rows_by_id(with_cosine: bool) -> TextClause:
    """The stored fields of the given chunk ids (and their cosine to :vector)."""
    cosine = (
        "1 - (embedding <=> CAST(:vector AS vector))" if with_cosine else "CAST(NULL AS float8)"
    )
    return text(
        f"""
        SELECT chunk_id, document_id, text, CAST(metadata AS text) AS metadata,
               {cosine} AS cosine
        FROM retrieval_chunks
        WHERE {PARTITION} AND chunk_id = ANY(CAST(:ids AS text[]))
        """
    )
