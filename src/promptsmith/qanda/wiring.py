"""What the Q&A service runs on: the embedder, the retriever and its database loader.

`Partition(institution public id, str(course_id))` names a course's index everywhere: in
the embedded store, in a PostgreSQL retriever and in tests.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

import anyio.from_thread

from ..retrieval.embeddings import DIMENSION, Embedder, HashingEmbedder, get_embedder
from ..retrieval.retriever import EmbeddedRetriever, Retriever
from ..retrieval.store import ChunkRecord, EmbeddedStore, Partition
from ..settings import Settings
from ..storage import chunks, courses, institutions
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


def build_retriever(settings: Settings, db: Database, dimension: int = DIMENSION) -> Retriever:
    """The embedded retriever: in-process indexes, filled from the database on first use."""

    def loader(partition: Partition) -> Iterable[ChunkRecord]:
        # The store calls this from a worker thread that anyio started.
        return anyio.from_thread.run(load_partition, db, partition)

    return EmbeddedRetriever(EmbeddedStore(dimension, loader=loader))
