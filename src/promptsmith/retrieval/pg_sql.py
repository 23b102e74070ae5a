"""The SQL of `PostgresRetriever` (retrieval/postgres.py), over `retrieval_chunks`.

Every statement filters by `institution_id = :inst AND course_id = :course` in its WHERE
clause, so the tenant filter is applied before anything is scored.

Lexical half: real BM25 (k1 = 1.2, b = 0.75, Lucene idf, the same formula as
`lexical.BM25Index`) computed in SQL. The query's lexemes come from
`to_tsvector(config, query)`; documents matching ANY of them (OR, like BM25) are found
through the GIN index; N, avgdl and each term's df are counted in the partition; tf is the
number of positions of the lexeme in the chunk's tsvector and `doc_len` the chunk's number
of (non-stopword) tokens. `max_score` is what a perfect match would score, for
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
           CAST(CAST(:metadata AS text) AS jsonb), CAST(CAST(:embedding AS text) AS vector),
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

# Transaction-local: `relaxed_order` lets the HNSW scan keep going until enough rows pass
# the partition filter (pgvector 0.8), instead of returning fewer than `LIMIT` rows.
SET_ITERATIVE_SCAN = text("SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true)")
SET_EF_SEARCH = text("SELECT set_config('hnsw.ef_search', :ef, true)")
SET_MAX_SCAN_TUPLES = text("SELECT set_config('hnsw.max_scan_tuples', :tuples, true)")

# relaxed_order may return rows slightly out of order: re-sort the materialised top rows.
DENSE = text(
    f"""
    WITH nearest AS MATERIALIZED (
        SELECT chunk_id, embedding <=> CAST(CAST(:vector AS text) AS vector) AS distance
        FROM retrieval_chunks
        WHERE {PARTITION}
        ORDER BY distance
        LIMIT :limit
    )
    SELECT chunk_id, 1 - distance AS cosine FROM nearest ORDER BY distance, chunk_id
    """
)

LEXICAL = text(
    f"""
    WITH query_terms AS (
        SELECT lexeme, cardinality(positions) AS qtf
        FROM unnest(to_tsvector(CAST(:config AS regconfig), :query))
    ),
    part AS (
        SELECT count(*) AS n, coalesce(avg(doc_len), 0) AS avgdl
        FROM retrieval_chunks WHERE {PARTITION}
    ),
    terms AS (
        SELECT t.lexeme, t.qtf, ln(1 + (part.n - d.df + 0.5) / (d.df + 0.5)) AS idf
        FROM query_terms t CROSS JOIN part
        CROSS JOIN LATERAL (
            SELECT count(*) AS df FROM retrieval_chunks r
            WHERE r.institution_id = :inst AND r.course_id = :course
              AND r.tsv @@ CAST(quote_literal(t.lexeme) AS tsquery)
        ) d
    ),
    matching AS (
        SELECT r.chunk_id, r.doc_len, r.tsv FROM retrieval_chunks r
        WHERE r.institution_id = :inst AND r.course_id = :course
          AND r.tsv @@ (SELECT CAST(string_agg(quote_literal(lexeme), ' | ') AS tsquery)
                        FROM terms)
    ),
    scored AS (
        SELECT m.chunk_id,
               sum(t.qtf * t.idf * u.tf * {K1 + 1}
                   / (u.tf + {K1} * (1 - {B} + {B} * m.doc_len / greatest(part.avgdl, 1e-9))))
                   AS score
        FROM matching m
        CROSS JOIN LATERAL (
            SELECT lexeme, cardinality(positions) AS tf FROM unnest(m.tsv)
        ) u
        JOIN terms t ON t.lexeme = u.lexeme
        CROSS JOIN part
        GROUP BY m.chunk_id
    )
    SELECT chunk_id, score, (SELECT sum(qtf * idf) * {K1 + 1} FROM terms) AS max_score
    FROM scored
    ORDER BY score DESC, chunk_id
    LIMIT :limit
    """
)


def rows_by_id(with_cosine: bool) -> TextClause:
    """The stored fields of the given chunk ids (and their cosine to :vector)."""
    cosine = (
        "1 - (embedding <=> CAST(CAST(:vector AS text) AS vector))"
        if with_cosine
        else "CAST(NULL AS float8)"
    )
    return text(
        f"""
        SELECT chunk_id, document_id, text, CAST(metadata AS text) AS metadata,
               {cosine} AS cosine
        FROM retrieval_chunks
        WHERE {PARTITION} AND chunk_id = ANY(CAST(:ids AS text[]))
        """
    )
