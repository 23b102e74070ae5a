"""The ingestion phases in one call: Extract -> Chunk -> Embed -> records ready to Index.

Each phase is also usable on its own (`extract`, `chunk_document`,
`Embedder.embed_documents`, `records_from_chunks`), e.g. to report per-phase progress.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from promptsmith.retrieval.chunking import Chunk, ChunkingOptions, chunk_document
from promptsmith.retrieval.embeddings import Embedder
from promptsmith.retrieval.extract import ExtractedDocument, extract
from promptsmith.retrieval.store import ChunkRecord, records_from_chunks


@dataclass(frozen=True)
class PreparedDocument:
    document: ExtractedDocument
    chunks: list[Chunk]
    records: list[ChunkRecord]


def prepare_document(
    data: bytes,
    *,
    document_id: str,
    embedder: Embedder,
    filename: str | None = None,
    content_type: str | None = None,
    chunking: ChunkingOptions | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> PreparedDocument:
    """Extract, chunk and embed one document. Raises `ExtractionError` for a bad file."""
    document = extract(data, filename=filename, content_type=content_type)
    chunks = chunk_document(document, chunking)
    vectors = embedder.embed_documents([c.index_text for c in chunks])
    meta = {"filename": filename, "title": document.title, **(metadata or {})}
    return PreparedDocument(
        document, chunks, records_from_chunks(document_id, chunks, vectors, metadata=meta)
    )
