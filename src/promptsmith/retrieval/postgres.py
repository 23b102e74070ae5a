"""`PostgresRetriever`: the `Retriever` contract over PostgreSQL + pgvector.

The index is the `retrieval_chunks` table (migration 0010_pg_retrieval); the Q&A tables
stay the canonical copy. Every query filters by institution AND course in its WHERE clause.

- Dense half: HNSW with `vector_cosine_ops`. Filtered queries run with
  `hnsw.iterative_scan = relaxed_order` (pgvector 0.8): the index scan keeps going until
  `LIMIT` rows of the partition have been found (or `hnsw.max_scan_tuples` is reached),
  then the rows are re-sorted by exact distance. On a small course the planner takes the
  partition btree and sorts exactly instead, which is what we want.
- Lexical half: BM25 computed in SQL over a tsvector + GIN (pg_lexical.py, pg_sql.py), same
  formula and parameters as the embedded store's `BM25Index`, with per-course statistics
  kept up to date on every write and MaxScore pruning; the tokenizer is PostgreSQL's
  (`english` text search config: stemming and stopwords), so scores differ slightly.
- Writes to one course are serialised by a transaction-level advisory lock.
- Hybrid: top 50 of each, fused by `rrf_fuse` (k = 60), exactly as `EmbeddedStore`.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import numpy as np
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from promptsmith.retrieval import pg_sql
from promptsmith.retrieval.errors import PartitionError, RetrievalError
from promptsmith.retrieval.hybrid import RRF_K, FusedHit, fuse_for_mode, mode_score
from promptsmith.retrieval.pg_lexical import CourseStatistics, QueryTerm, bm25_top
from promptsmith.retrieval.store import (
    CANDIDATES,
    ChunkRecord,
    Partition,
    SearchHit,
    SearchMode,
    SearchResult,
)

logger = logging.getLogger("promptsmith.retrieval.postgres")

DEFAULT_EF_SEARCH = 100  # >= 2 x the 50 dense candidates
DEFAULT_MAX_SCAN_TUPLES = 20_000  # pgvector's default bound on an iterative scan
TEXT_SEARCH_CONFIG = "english"
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def vector_literal(vector: np.ndarray) -> str:
    """pgvector's text form, '[0.1,0.2,...]'."""
    return "[" + ",".join(map(repr, np.asarray(vector, np.float32).reshape(-1).tolist())) + "]"


def query_words(query: str) -> str:
    """Only the query's words: no operators or punctuation reach the tsquery."""
    return " ".join(_WORD.findall(query.replace("\x00", " ")))


def _check_partition(partition: object) -> Partition:
    if not isinstance(partition, Partition):
        raise PartitionError("a Partition(institution_id, course_id) is required")
    return partition


def _keys(partition: Partition) -> dict[str, str]:
    return {"inst": partition.institution_id, "course": partition.course_id}


def _clean(value: str) -> str:
    return value.replace("\x00", "")  # PostgreSQL text cannot hold NUL


class PostgresRetriever:
    """`Retriever` whose index lives in PostgreSQL (`retrieval_chunks`)."""

    name = "postgres"

    def __init__(
        self,
        engine: AsyncEngine,
        dimension: int,
        *,
        candidates: int = CANDIDATES,
        rrf_k: int = RRF_K,
        ef_search: int = DEFAULT_EF_SEARCH,
        max_scan_tuples: int = DEFAULT_MAX_SCAN_TUPLES,
        text_search_config: str = TEXT_SEARCH_CONFIG,
        dispose_engine: bool = False,
    ) -> None:
        if engine.dialect.name != "postgresql":
            raise RetrievalError("PostgresRetriever needs a PostgreSQL engine")
        self.engine = engine
        self.dimension = dimension
        self.candidates = candidates
        self.rrf_k = rrf_k
        self.ef_search = max(ef_search, candidates)
        self.max_scan_tuples = max_scan_tuples
        self.config = text_search_config
        self._dispose_engine = dispose_engine
        self._checked = False

    async def _check_schema(self, connection: AsyncConnection) -> None:
        if self._checked:
            return
        column = await connection.scalar(pg_sql.EMBEDDING_TYPE)
        if column != f"vector({self.dimension})":
            raise RetrievalError(
                f"retrieval_chunks.embedding is {column}, the embedder gives "
                f"vector({self.dimension}): run `promptsmith db upgrade` / use a matching model"
            )
        version = str(await connection.scalar(pg_sql.PGVECTOR_VERSION) or "0")
        if tuple(int(p) for p in re.findall(r"\d+", version)[:2]) < (0, 8):
            logger.warning(
                "pgvector %s has no iterative index scans: dense search on a large course may "
                "return fewer than %d candidates; upgrade to pgvector 0.8 or newer",
                version,
                self.candidates,
            )
        self._checked = True

    def _row(self, partition: Partition, record: ChunkRecord) -> dict[str, Any]:
        vector = np.asarray(record.embedding, np.float32).reshape(-1)
        if vector.shape[0] != self.dimension:
            raise PartitionError(
                f"embeddings must have {self.dimension} dimensions, got {vector.shape[0]}"
            )
        return {
            **_keys(partition),
            "chunk_id": record.chunk_id,
            "document_id": record.document_id,
            "text": _clean(record.text),
            "index_text": None if record.index_text is None else _clean(record.index_text),
            "metadata": _clean(json.dumps(dict(record.metadata), default=str)),
            "embedding": vector_literal(vector),
            "config": self.config,
        }

    async def add(self, partition: Partition, chunks: Sequence[ChunkRecord]) -> None:
        keys = _keys(_check_partition(partition))
        if not chunks:
            return
        ids = [c.chunk_id for c in chunks]
        if len(set(ids)) != len(ids):
            raise PartitionError("duplicate chunk ids in one batch")
        rows = [self._row(partition, c) for c in chunks]  # validates before writing
        async with self.engine.begin() as connection:
            await self._check_schema(connection)
            await connection.execute(pg_sql.LOCK_PARTITION, keys)
            await connection.execute(pg_sql.FORGET_CHUNKS, {**keys, "ids": ids})  # replaced
            await connection.execute(pg_sql.INSERT, rows)
            await connection.execute(pg_sql.COUNT_ADDED, {**keys, "ids": ids})

    async def delete_document(self, partition: Partition, document_id: str) -> int:
        keys = _keys(_check_partition(partition))
        async with self.engine.begin() as connection:
            await connection.execute(pg_sql.LOCK_PARTITION, keys)
            removed = await connection.scalar(pg_sql.FORGET_DOCUMENT, {**keys, "doc": document_id})
        return int(removed or 0)

    async def delete_partition(self, partition: Partition) -> None:
        keys = _keys(_check_partition(partition))
        async with self.engine.begin() as connection:
            await connection.execute(pg_sql.LOCK_PARTITION, keys)
            for statement in pg_sql.DELETE_PARTITION:
                await connection.execute(statement, keys)

    async def rebuild_statistics(self, partition: Partition | None = None) -> None:
        """Recompute the BM25 statistics of one course (or all) from the chunk rows, e.g.
        after loading `retrieval_chunks` in bulk with COPY."""
        async with self.engine.begin() as connection:
            if partition is None:
                found = (await connection.execute(pg_sql.PARTITIONS)).all()
                partitions = [Partition(r.institution_id, r.course_id) for r in found]
            else:
                partitions = [_check_partition(partition)]
            for each in partitions:
                keys = _keys(each)
                await connection.execute(pg_sql.LOCK_PARTITION, keys)
                for statement in pg_sql.REBUILD_STATISTICS:
                    await connection.execute(statement, keys)

    async def count(self, partition: Partition) -> int:
        async with self.engine.connect() as connection:
            value = await connection.scalar(pg_sql.COUNT, _keys(_check_partition(partition)))
        return int(value or 0)

    async def search(
        self,
        partition: Partition,
        query_text: str,
        query_vector: np.ndarray | None,
        k: int = 8,
        *,
        mode: SearchMode = "hybrid",
    ) -> SearchResult:
        keys = _keys(_check_partition(partition))
        vector = self._query_vector(query_vector)
        async with self.engine.begin() as connection:
            await self._check_schema(connection)
            stats = await self.search_settings(
                connection, partition, query_text if mode != "dense" else ""
            )
            lexical = await bm25_top(connection, keys, stats, self.candidates)
            max_score = stats.max_score()
            dense: list[tuple[str, float]] = []
            if mode != "bm25" and vector is not None:
                dense = await self._dense(connection, keys, vector)
            fused = fuse_for_mode(lexical, dense, mode, k, self.rrf_k)
            hits = await self._hits(connection, keys, fused, vector, mode)
        top = lexical[0][1] if lexical else None
        return SearchResult(
            hits=hits,
            top_cosine=dense[0][1] if dense else None,
            top_lexical=top,
            lexical_coverage=min(1.0, top / max_score) if top and max_score > 0 else 0.0,
            mode=mode,
        )

    def _query_vector(self, query_vector: np.ndarray | None) -> str | None:
        if query_vector is None:
            return None
        vector = np.asarray(query_vector, np.float32).reshape(-1)
        if vector.shape[0] != self.dimension:
            raise PartitionError(f"query vector must have {self.dimension} dimensions")
        if not np.any(vector):
            return None  # cosine to a zero vector is undefined
        return vector_literal(vector)

    async def search_settings(
        self, connection: AsyncConnection, partition: Partition, query_text: str = ""
    ) -> CourseStatistics:
        """Set the transaction-local settings of a search (see pg_sql.SEARCH_SETTINGS) and
        read the course's BM25 statistics for the query's lexemes."""
        params = {
            **_keys(partition),
            "ef": str(self.ef_search),
            "tuples": str(self.max_scan_tuples),
            "config": self.config,
            "query": query_words(query_text),
        }
        row = (await connection.execute(pg_sql.SEARCH_SETTINGS, params)).one()
        terms = [
            QueryTerm(str(lexeme), max(1, int(qtf)), max(0, int(df)))
            for lexeme, qtf, df in zip(
                row.lexemes or [], row.qtfs or [], row.dfs or [], strict=True
            )
        ]
        return CourseStatistics(int(row.n), int(row.total_len), terms)

    async def _dense(
        self, connection: AsyncConnection, keys: Mapping[str, str], vector: str
    ) -> list[tuple[str, float]]:
        params = {**keys, "vector": vector, "limit": self.candidates}
        rows = (await connection.execute(pg_sql.DENSE, params)).all()
        return [(str(r.chunk_id), float(r.cosine)) for r in rows]

    async def _hits(
        self,
        connection: AsyncConnection,
        keys: Mapping[str, str],
        fused: list[FusedHit],
        vector: str | None,
        mode: SearchMode,
    ) -> list[SearchHit]:
        if not fused:
            return []
        params: dict[str, Any] = {**keys, "ids": [f.id for f in fused]}
        if vector is not None:
            params["vector"] = vector
        statement = pg_sql.ROWS_BY_ID if vector is not None else pg_sql.ROWS_BY_ID_NO_VECTOR
        stored = {r.chunk_id: r for r in (await connection.execute(statement, params)).all()}
        return [_hit(f, stored[f.id], mode) for f in fused if f.id in stored]

    async def aclose(self) -> None:
        if self._dispose_engine:
            await self.engine.dispose()


def _hit(fused: FusedHit, row: Any, mode: SearchMode) -> SearchHit:
    cosine = fused.dense_score if fused.dense_score is not None else row.cosine
    return SearchHit(
        chunk_id=fused.id,
        document_id=row.document_id,
        text=row.text,
        metadata=MappingProxyType(json.loads(row.metadata)),
        score=mode_score(fused, mode),
        cosine=None if cosine is None else float(cosine),
        retrievers=fused.retrievers,
        lexical_rank=fused.lexical_rank,
        lexical_score=fused.lexical_score,
        dense_rank=fused.dense_rank,
    )
