"""Ingestion: Extract -> Chunk -> Embed -> Index, each phase committed and retried on its own.

A document row records each phase's status (`pending`, `running`, `done`, `failed`). Running
a document runs only the phases that are not `done`, so a failed phase is retried without
redoing the ones before it (the Extract output and the chunks are in the database). A phase
that fails with a transient error is attempted up to `attempts` times; an extraction error
(a scanned PDF, a corrupt or unsupported file) fails at once with its message.

Re-ingesting the same bytes into the same course finds the document by its SHA-256: a
`ready` document is a no-op, a `failed` one resumes from its failed phase.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio.to_thread

from ..retrieval.chunking import ChunkingOptions, chunk_document
from ..retrieval.errors import ExtractionError
from ..retrieval.extract import extract
from ..retrieval.extract.document import Block, ExtractedDocument
from ..retrieval.retriever import Retriever
from ..storage import chunks, documents
from ..storage.db import Database
from ..storage.qanda_models import PHASES, Course, Document, Institution
from .wiring import EmbedderSource, partition_for, record_of

logger = logging.getLogger("promptsmith.ingest")


@dataclass(frozen=True)
class Target:
    """Where documents go: a course of an institution."""

    institution: Institution
    course: Course


@dataclass(frozen=True)
class IngestResult:
    document: Document
    created: bool  # a new document row (False: the same content was already there)


class PhaseError(Exception):
    """A phase failed for good: no point in trying it again with the same input."""


def _encode_extracted(doc: ExtractedDocument) -> str:
    blocks = [
        [b.kind, b.text, b.start, b.end, list(b.heading_path), b.page, b.level] for b in doc.blocks
    ]
    return json.dumps(
        {
            "format": doc.format,
            "text": doc.text,
            "title": doc.title,
            "page_count": doc.page_count,
            "warnings": list(doc.warnings),
            "blocks": blocks,
        }
    )


def _decode_extracted(raw: str) -> ExtractedDocument:
    data = json.loads(raw)
    blocks = tuple(
        Block(kind, text, start, end, tuple(path), page, level)
        for kind, text, start, end, path, page, level in data["blocks"]
    )
    return ExtractedDocument(
        format=data["format"],
        text=data["text"],
        blocks=blocks,
        title=data["title"],
        page_count=data["page_count"],
        warnings=tuple(data["warnings"]),
    )


Phase = Callable[[Document, Target], Awaitable[dict[str, Any]]]


class Ingestor:
    def __init__(
        self,
        db: Database,
        retriever: Retriever,
        embedders: EmbedderSource,
        *,
        attempts: int = 3,
        chunking: ChunkingOptions | None = None,
    ) -> None:
        self.db = db
        self.retriever = retriever
        self.embedders = embedders
        self.attempts = attempts
        self.chunking = chunking
        self.phase_runs: Counter[str] = Counter()  # attempts per phase, for tests and metrics
        self._locks: dict[str, asyncio.Lock] = {}
        self._phases: dict[str, Phase] = {
            "extract": self._extract,
            "chunk": self._chunk,
            "embed": self._embed,
            "index": self._index,
        }

    async def add(
        self,
        target: Target,
        filename: str,
        data: bytes,
        *,
        content_type: str | None = None,
        job_id: str | None = None,
    ) -> IngestResult:
        """Store the upload (or find it by hash) without processing it."""
        document, created = await documents.create_or_get(
            self.db,
            target.course.id,
            filename=filename,
            data=data,
            content_type=content_type,
            job_id=job_id,
        )
        return IngestResult(document, created)

    async def ingest(
        self, target: Target, filename: str, data: bytes, *, content_type: str | None = None
    ) -> IngestResult:
        """Store and process one document; a no-op for content the course already has."""
        result = await self.add(target, filename, data, content_type=content_type)
        if result.document.status == "ready":
            return result
        return IngestResult(await self.process(target, result.document.id), result.created)

    async def process(self, target: Target, document_id: str) -> Document:
        """Run the document's phases that are not done yet; return its final state."""
        # One run per document at a time in this process (a lock per document id).
        async with self._locks.setdefault(document_id, asyncio.Lock()):
            document = await documents.update(
                self.db, document_id, status="processing", error=None, error_phase=None
            )
            for phase in PHASES:
                if document.phase_status(phase) == "done":
                    continue
                document = await self._run_phase(phase, document, target)
                if document.phase_status(phase) != "done":
                    return document
            document = await documents.update(self.db, document_id, status="ready")
            await self._indexed(target)
            return document

    async def _indexed(self, target: Target) -> None:
        """Tell a retriever that tracks database changes that this one was its own."""
        indexed = getattr(self.retriever, "indexed", None)
        if indexed is not None:
            await indexed(partition_for(target.institution, target.course))

    async def _run_phase(self, phase: str, document: Document, target: Target) -> Document:
        error = ""
        for _ in range(self.attempts):
            self.phase_runs[phase] += 1
            document = await documents.update(
                self.db,
                document.id,
                attempts=document.attempts + 1,
                **{f"{phase}_status": "running"},
            )
            try:
                values = await self._phases[phase](document, target)
            except (ExtractionError, PhaseError) as exc:
                error = str(exc)
                break
            except Exception as exc:
                logger.warning("%s phase of document %s failed: %s", phase, document.id, exc)
                error = f"{type(exc).__name__}: {exc}"
                continue
            return await documents.update(
                self.db, document.id, **values, **{f"{phase}_status": "done"}
            )
        return await documents.update(
            self.db,
            document.id,
            status="failed",
            error=error or f"{phase} failed",
            error_phase=phase,
            **{f"{phase}_status": "failed"},
        )

    async def _extract(self, document: Document, target: Target) -> dict[str, Any]:
        data = await documents.read_content(self.db, document.id)

        def run() -> ExtractedDocument:
            return extract(data, filename=document.filename, content_type=document.content_type)

        extracted = await anyio.to_thread.run_sync(run)
        if extracted.is_empty:
            raise PhaseError(f"{document.filename}: no text found in the document")
        title = (extracted.title or "")[:500] or None
        return {"extracted": _encode_extracted(extracted), "title": title}

    async def _chunk(self, document: Document, target: Target) -> dict[str, Any]:
        if not document.extracted:
            raise PhaseError("the Extract phase left no output; re-upload the document")
        extracted = _decode_extracted(document.extracted)
        pieces = chunk_document(extracted, self.chunking)
        if not pieces:
            raise PhaseError(f"{document.filename}: no text to index")
        new = [
            chunks.NewChunk(
                c.ordinal, c.text, c.index_text, c.heading_path, c.page, c.page_end, c.start, c.end
            )
            for c in pieces
        ]
        await chunks.replace_for_document(self.db, document.id, target.course.id, new)
        return {"chunk_count": len(new)}

    async def _embed(self, document: Document, target: Target) -> dict[str, Any]:
        rows = await chunks.for_document(self.db, document.id)
        embedder = await self.embedders.aget()
        texts = [row.index_text for row in rows]
        vectors = await anyio.to_thread.run_sync(embedder.embed_documents, texts)
        await chunks.set_embeddings(self.db, document.id, vectors)
        return {}

    async def _index(self, document: Document, target: Target) -> dict[str, Any]:
        records = await chunks.records_for_course(
            self.db, target.course.id, record_of, document_ids=[document.id]
        )
        partition = partition_for(target.institution, target.course)
        await self.retriever.delete_document(partition, document.id)
        await self.retriever.add(partition, records)
        return {}

    async def delete(self, target: Target, document_id: str) -> bool:
        """Delete a document and its chunks, from the database and from the retriever."""
        if not await documents.delete(self.db, document_id):
            return False
        await self.retriever.delete_document(
            partition_for(target.institution, target.course), document_id
        )
        return True
