"""The async `Retriever` contract that the Q&A service talks to, whatever the backend.

`EmbeddedRetriever` wraps the in-process `EmbeddedStore` (SQLite deployments): its calls are
CPU-bound, so they run in a worker thread. A PostgreSQL + pgvector retriever implements the
same Protocol with the database as the index (HNSW for the dense half, tsvector + GIN for the
lexical half). Both take a `Partition(institution_id, course_id)` on every call and must filter
by it before scoring: a search never scores another course's or institution's chunks.

Persistence of the canonical chunk rows is the Q&A storage layer's job; a retriever only keeps
(or mirrors) what it needs to search. Call `add` after chunks are committed, `delete_document`
after a document is deleted, `delete_partition` when a course is deleted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import anyio.to_thread
import numpy as np

from promptsmith.retrieval.store import (
    ChunkRecord,
    EmbeddedStore,
    Partition,
    SearchMode,
    SearchResult,
)


@runtime_checkable
class Retriever(Protocol):
    """What ingestion and Q&A need from a search backend."""

    name: str

    async def add(self, partition: Partition, chunks: Sequence[ChunkRecord]) -> None:
        """Index chunks, replacing any with the same chunk id."""
        ...

    async def delete_document(self, partition: Partition, document_id: str) -> int:
        """Remove every chunk of a document; return how many were removed."""
        ...

    async def delete_partition(self, partition: Partition) -> None: ...

    async def count(self, partition: Partition) -> int: ...

    async def search(
        self,
        partition: Partition,
        query_text: str,
        query_vector: np.ndarray | None,
        k: int = 8,
        *,
        mode: SearchMode = "hybrid",
    ) -> SearchResult:
        """BM25 top 50 + dense top 50 fused by RRF (k=60) in hybrid mode; top `k` hits."""
        ...

    async def aclose(self) -> None: ...


class EmbeddedRetriever:
    """`Retriever` over an in-process `EmbeddedStore`, run off the event loop."""

    name = "embedded"

    def __init__(self, store: EmbeddedStore) -> None:
        self.store = store

    async def add(self, partition: Partition, chunks: Sequence[ChunkRecord]) -> None:
        await anyio.to_thread.run_sync(self.store.add, partition, chunks)

    async def delete_document(self, partition: Partition, document_id: str) -> int:
        return await anyio.to_thread.run_sync(self.store.delete_document, partition, document_id)

    async def delete_partition(self, partition: Partition) -> None:
        await anyio.to_thread.run_sync(self.store.delete_partition, partition)

    async def count(self, partition: Partition) -> int:
        return await anyio.to_thread.run_sync(self.store.count, partition)

    async def search(
        self,
        partition: Partition,
        query_text: str,
        query_vector: np.ndarray | None,
        k: int = 8,
        *,
        mode: SearchMode = "hybrid",
    ) -> SearchResult:
        def run() -> SearchResult:
            return self.store.search(partition, query_text, query_vector, k, mode=mode)

        return await anyio.to_thread.run_sync(run)

    async def aclose(self) -> None:
        return None
