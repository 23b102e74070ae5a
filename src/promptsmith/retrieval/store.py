"""The chunk store: what ingestion writes to and what Q&A searches.

Everything is partitioned by `Partition(institution_id, course_id)`. A partition is its own
index, so a search only ever scores that partition's chunks: the tenant filter is applied
before scoring, not after, and no other course's or institution's chunk can come back.

`ChunkStore` is the interface; `EmbeddedStore` is the in-process implementation (numpy +
BM25). The async `Retriever` contract (retriever.py) wraps it for the service; a PostgreSQL
+ pgvector retriever implements that contract.

Persistence is the caller's: `EmbeddedStore(loader=...)` calls `loader(partition)` the first
time a partition is touched (search, add or delete) and indexes what it returns — typically
the partition's chunk rows from the database. After that, call `add` / `delete_document`
whenever the database changes. `add` replaces by chunk id, so adding chunks that the
loader already returned is harmless.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol

import numpy as np

from promptsmith.retrieval.chunking import Chunk
from promptsmith.retrieval.errors import PartitionError
from promptsmith.retrieval.hybrid import RRF_K, FusedHit, SearchMode, fuse_for_mode, mode_score
from promptsmith.retrieval.lexical import BM25Index
from promptsmith.retrieval.vector import VectorIndex

CANDIDATES = 50  # per retriever, before fusion


@dataclass(frozen=True)
class Partition:
    """One tenant's course: the unit of isolation and of indexing."""

    institution_id: str
    course_id: str

    def __post_init__(self) -> None:
        for name in ("institution_id", "course_id"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise PartitionError(f"{name} must be a non-empty string, got {value!r}")


@dataclass(frozen=True)
class ChunkRecord:
    """One chunk as stored: ids, text, metadata and its embedding."""

    chunk_id: str
    document_id: str
    text: str
    embedding: np.ndarray
    index_text: str | None = None  # what BM25 indexes; defaults to `text`
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SearchHit:
    chunk_id: str
    document_id: str
    text: str
    metadata: Mapping[str, Any]
    score: float  # RRF score in hybrid mode, else the retriever's own score
    cosine: float | None  # cosine similarity to the query (None without a query vector)
    retrievers: frozenset[str]
    lexical_rank: int | None = None
    lexical_score: float | None = None
    dense_rank: int | None = None


@dataclass(frozen=True)
class SearchResult:
    hits: list[SearchHit]
    top_cosine: float | None  # best cosine in the whole partition (the dense top 1)
    top_lexical: float | None  # best BM25 score in the partition
    lexical_coverage: float = 0.0  # top BM25 score / the score of a perfect match, in [0, 1]
    mode: SearchMode = "hybrid"


class ChunkStore(Protocol):
    """What ingestion and Q&A need from a chunk store, whatever the backend."""

    def add(self, partition: Partition, chunks: Sequence[ChunkRecord]) -> None:
        """Index chunks (replacing any with the same chunk id)."""
        ...

    def delete_document(self, partition: Partition, document_id: str) -> int:
        """Remove every chunk of a document; return how many were removed."""
        ...

    def delete_partition(self, partition: Partition) -> None: ...

    def count(self, partition: Partition) -> int: ...

    def search(
        self,
        partition: Partition,
        query_text: str,
        query_vector: np.ndarray | None,
        k: int = 8,
        *,
        mode: SearchMode = "hybrid",
    ) -> SearchResult: ...


def records_from_chunks(
    document_id: str,
    chunks: Sequence[Chunk],
    embeddings: np.ndarray,
    *,
    metadata: Mapping[str, Any] | None = None,
) -> list[ChunkRecord]:
    """ChunkRecords for a document's chunks; ids are `"{document_id}:{ordinal}"`."""
    if len(chunks) != len(embeddings):
        raise PartitionError("one embedding per chunk is needed")
    base = dict(metadata or {})
    return [
        ChunkRecord(
            chunk_id=f"{document_id}:{c.ordinal}",
            document_id=document_id,
            text=c.text,
            embedding=embeddings[i],
            index_text=c.index_text,
            metadata={
                **base,
                "ordinal": c.ordinal,
                "heading_path": list(c.heading_path),
                "page": c.page,
                "page_end": c.page_end,
                "start": c.start,
                "end": c.end,
            },
        )
        for i, c in enumerate(chunks)
    ]


@dataclass(frozen=True)
class _Stored:
    document_id: str
    text: str
    metadata: Mapping[str, Any]


class _PartitionIndex:
    def __init__(self, dimension: int) -> None:
        self.lock = threading.Lock()
        self.loaded = False
        self.lexical = BM25Index()
        self.vectors = VectorIndex(dimension)
        self.chunks: dict[str, _Stored] = {}
        self.by_document: dict[str, set[str]] = {}

    def add(self, records: Sequence[ChunkRecord]) -> None:
        ids = [r.chunk_id for r in records]
        if len(set(ids)) != len(ids):
            raise PartitionError("duplicate chunk ids in one batch")
        vectors = [np.asarray(r.embedding, np.float32).reshape(-1) for r in records]
        if len({len(v) for v in vectors}) > 1:
            raise PartitionError("embeddings of one batch differ in dimension")
        matrix = np.stack(vectors)
        self.vectors.add(ids, matrix)  # validates the dimension before anything changes
        self.lexical.add(ids, [r.index_text or r.text for r in records])
        for r in records:
            old = self.chunks.get(r.chunk_id)
            if old is not None and old.document_id != r.document_id:
                self.by_document.get(old.document_id, set()).discard(r.chunk_id)
            metadata = MappingProxyType(dict(r.metadata))  # read-only: hits share it
            self.chunks[r.chunk_id] = _Stored(r.document_id, r.text, metadata)
            self.by_document.setdefault(r.document_id, set()).add(r.chunk_id)

    def delete_document(self, document_id: str) -> int:
        ids = self.by_document.pop(document_id, set())
        self.vectors.remove(ids)
        self.lexical.remove(ids)
        for chunk_id in ids:
            self.chunks.pop(chunk_id, None)
        return len(ids)


Loader = Callable[[Partition], Iterable[ChunkRecord]]


def _coverage(lexical: BM25Index, query: str, ranked: list[tuple[str, float]]) -> float:
    if not ranked:
        return 0.0
    best = lexical.max_score(query)
    return min(1.0, ranked[0][1] / best) if best > 0 else 0.0


class EmbeddedStore:
    """In-process `ChunkStore`: one BM25 index and one vector matrix per partition."""

    def __init__(
        self,
        dimension: int,
        *,
        loader: Loader | None = None,
        candidates: int = CANDIDATES,
        rrf_k: int = RRF_K,
        load_batch: int = 4096,
    ) -> None:
        self.dimension = dimension
        self.candidates = candidates
        self.rrf_k = rrf_k
        self._loader = loader
        self._load_batch = load_batch
        self._partitions: dict[Partition, _PartitionIndex] = {}
        self._lock = threading.Lock()

    def _index(self, partition: Partition) -> _PartitionIndex:
        if not isinstance(partition, Partition):
            raise PartitionError("a Partition(institution_id, course_id) is required")
        with self._lock:
            index = self._partitions.get(partition)
            if index is None:
                index = self._partitions[partition] = _PartitionIndex(self.dimension)
        if not index.loaded:
            with index.lock:
                if not index.loaded:
                    self._load(partition, index)
        return index

    def _load(self, partition: Partition, index: _PartitionIndex) -> None:
        if self._loader is not None:
            batch: list[ChunkRecord] = []
            for record in self._loader(partition):
                batch.append(record)
                if len(batch) >= self._load_batch:
                    index.add(batch)
                    batch = []
            if batch:
                index.add(batch)
        index.loaded = True

    def add(self, partition: Partition, chunks: Sequence[ChunkRecord]) -> None:
        if not chunks:
            return
        index = self._index(partition)
        with index.lock:
            index.add(chunks)

    def delete_document(self, partition: Partition, document_id: str) -> int:
        index = self._index(partition)
        with index.lock:
            return index.delete_document(document_id)

    def delete_partition(self, partition: Partition) -> None:
        """Forget a partition entirely (the course is gone)."""
        with self._lock:
            self._partitions.pop(partition, None)

    def unload(self, partition: Partition) -> None:
        """Free a partition's memory; the loader brings it back on next use."""
        self.delete_partition(partition)

    def loaded_partitions(self) -> list[Partition]:
        with self._lock:
            return [p for p, index in self._partitions.items() if index.loaded]

    def count(self, partition: Partition) -> int:
        return len(self._index(partition).chunks)

    def document_ids(self, partition: Partition) -> set[str]:
        index = self._index(partition)
        with index.lock:
            return {d for d, ids in index.by_document.items() if ids}

    def search(
        self,
        partition: Partition,
        query_text: str,
        query_vector: np.ndarray | None,
        k: int = 8,
        *,
        mode: SearchMode = "hybrid",
    ) -> SearchResult:
        index = self._index(partition)
        lexical = index.lexical.search(query_text, self.candidates) if mode != "dense" else []
        dense: list[tuple[str, float]] = []
        if query_vector is not None and mode != "bm25":
            dense = index.vectors.search(query_vector, self.candidates)
        fused = fuse_for_mode(lexical, dense, mode, k, self.rrf_k)
        hits = [h for h in (self._hit(index, f, query_vector, mode) for f in fused) if h]
        return SearchResult(
            hits=hits,
            top_cosine=dense[0][1] if dense else None,
            top_lexical=lexical[0][1] if lexical else None,
            lexical_coverage=_coverage(index.lexical, query_text, lexical),
            mode=mode,
        )

    @staticmethod
    def _hit(
        index: _PartitionIndex, fused: FusedHit, query: np.ndarray | None, mode: SearchMode
    ) -> SearchHit | None:
        stored = index.chunks.get(fused.id)
        if stored is None:  # deleted while we were searching
            return None
        cosine = fused.dense_score
        if cosine is None and query is not None:
            vector = index.vectors.vector(fused.id)
            if vector is not None:
                q = np.asarray(query, np.float32).reshape(-1)
                cosine = float(vector @ (q / max(float(np.linalg.norm(q)), 1e-12)))
        return SearchHit(
            chunk_id=fused.id,
            document_id=stored.document_id,
            text=stored.text,
            metadata=stored.metadata,
            score=mode_score(fused, mode),
            cosine=cosine,
            retrievers=fused.retrievers,
            lexical_rank=fused.lexical_rank,
            lexical_score=fused.lexical_score,
            dense_rank=fused.dense_rank,
        )
