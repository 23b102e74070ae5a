"""What the Q&A service runs on: the embedder, the retriever and its database loader.

`Partition(institution public id, str(course_id))` names a course's index everywhere: in
the embedded store, in a PostgreSQL retriever and in tests.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence

import anyio.from_thread
import anyio.to_thread
import numpy as np

from ..retrieval.embeddings import DIMENSION, Embedder, HashingEmbedder, get_embedder
from ..retrieval.factory import use_postgres_retriever
from ..retrieval.postgres import PostgresRetriever
from ..retrieval.retriever import EmbeddedRetriever, Retriever
from ..retrieval.store import ChunkRecord, EmbeddedStore, Partition, SearchMode, SearchResult
from ..settings import Settings
from ..storage import chunks, courses, documents, institutions
from ..storage.db import Database
from ..storage.qanda_models import Course, DocumentChunk, Institution


def partition_for(institution: Institution, course: Course) -> Partition:
    return Partition(institution.public_id, str(course.course_id))


class EmbedderSource:
    """The configured embedder, built on first use (MiniLM loads in ~2 s), thread-safe.

    `PROMPTSMITH_EMBEDDER=hashing` selects the model-free `HashingEmbedder` (tests, demos).
    Tests may also hand in any `Embedder`.
    """

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self._settings = settings
        self._embedder = embedder
        self._lock = threading.Lock()

    @property
    def dimension(self) -> int:
        return self._embedder.dimension if self._embedder is not None else DIMENSION

    def get(self) -> Embedder:
        if self._embedder is None:
            with self._lock:
                if self._embedder is None:
                    self._embedder = self._build()
        return self._embedder

    async def aget(self) -> Embedder:
        if self._embedder is not None:
            return self._embedder
        return await anyio.to_thread.run_sync(self.get)

    def set(self, embedder: Embedder) -> None:
        self._embedder = embedder

    def _build(self) -> Embedder:
        if self._settings.embedder == "hashing":
            return HashingEmbedder()
        return get_embedder(self._settings.data_dir)


def record_of(row: DocumentChunk, *, filename: str, title: str | None) -> ChunkRecord:
    """The retriever's view of a stored chunk, with what a citation needs."""
    return ChunkRecord(
        chunk_id=row.id,
        document_id=row.document_id,
        text=row.text,
        embedding=chunks.embedding_of(row),
        index_text=row.index_text,
        metadata={
            "filename": filename,
            "title": title,
            "ordinal": row.ordinal,
            "heading_path": chunks.heading_path_of(row),
            "page": row.page,
            "page_end": row.page_end,
            "start": row.char_start,
            "end": row.char_end,
        },
    )


async def load_partition(db: Database, partition: Partition) -> list[ChunkRecord]:
    """Every embedded chunk of the partition's course, from the database."""
    institution = await institutions.get(db, partition.institution_id)
    if institution is None or not partition.course_id.lstrip("-").isdigit():
        return []
    course = await courses.get(db, institution, int(partition.course_id))
    if course is None:
        return []
    return await chunks.records_for_course(db, course.id, record_of)


class SyncedEmbeddedRetriever(EmbeddedRetriever):
    """The embedded retriever, kept in step with the database.

    Before a search it compares a fingerprint of the course's indexed documents with the
    one its in-memory index was built from; when another process (a second worker, the
    `promptsmith ingest` CLI) changed the course, the partition is reloaded.
    """

    def __init__(self, store: EmbeddedStore, db: Database) -> None:
        super().__init__(store)
        self.db = db
        self._versions: dict[Partition, tuple[int, str | None]] = {}

    async def _version(self, partition: Partition) -> tuple[int, str | None] | None:
        if not partition.course_id.lstrip("-").isdigit():
            return None
        return await documents.indexed_version(
            self.db, partition.institution_id, int(partition.course_id)
        )

    async def _remember(self, partition: Partition) -> None:
        version = await self._version(partition)
        if version is not None:
            self._versions[partition] = version

    async def add(self, partition: Partition, chunks: Sequence[ChunkRecord]) -> None:
        await self._sync(partition)
        await super().add(partition, chunks)

    async def delete_document(self, partition: Partition, document_id: str) -> int:
        await self._sync(partition)
        removed = await super().delete_document(partition, document_id)
        await self._remember(partition)
        return removed

    async def _sync(self, partition: Partition) -> None:
        version = await self._version(partition)
        known = self._versions.get(partition)
        if known is not None and version != known:
            await anyio.to_thread.run_sync(self.store.unload, partition)
        if version is not None:
            self._versions[partition] = version

    async def search(
        self,
        partition: Partition,
        query_text: str,
        query_vector: np.ndarray | None,
        k: int = 8,
        *,
        mode: SearchMode = "hybrid",
    ) -> SearchResult:
        await self._sync(partition)
        return await super().search(partition, query_text, query_vector, k, mode=mode)

    async def indexed(self, partition: Partition) -> None:
        """Call after this process finished indexing a document (its own change)."""
        await self._remember(partition)


def build_retriever(settings: Settings, db: Database, dimension: int = DIMENSION) -> Retriever:
    """The search backend for this deployment.

    On PostgreSQL (unless `PROMPTSMITH_RETRIEVAL_BACKEND=embedded`) the index lives in the
    database (pgvector HNSW + tsvector/GIN), shared by every worker and host. Otherwise it is
    the embedded store: in-process indexes, filled from the database on first use.
    """
    if use_postgres_retriever(settings, db.engine):
        return PostgresRetriever(db.engine, dimension, ef_search=settings.retrieval_ef_search)

    def loader(partition: Partition) -> Iterable[ChunkRecord]:
        # The store calls this from a worker thread that anyio started.
        return anyio.from_thread.run(load_partition, db, partition)

    return SyncedEmbeddedRetriever(EmbeddedStore(dimension, loader=loader), db)
