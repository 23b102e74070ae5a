"""Ingestion: real generated documents, idempotence by hash, per-phase failure and retry."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from qanda_fixtures import astronomy_files, cooking_files, make_target, scanned_pdf

from promptsmith.qanda.wiring import partition_for
from promptsmith.retrieval.embeddings import HashingEmbedder
from promptsmith.services import Services
from promptsmith.storage import chunks, documents


class FlakyEmbedder(HashingEmbedder):
    """Fails the first `failures` calls to embed_documents, then works."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if self.failures > 0:
            self.failures -= 1
            raise RuntimeError("embedding backend unavailable")
        return super().embed_documents(texts)


async def test_every_format_is_ingested_and_searchable(migrated: Services) -> None:
    target = await make_target(migrated)
    files = {**astronomy_files(), **cooking_files()}
    for name, data in files.items():
        result = await migrated.ingestor.ingest(target, name, data)
        doc = result.document
        assert result.created and doc.status == "ready", (name, doc.error)
        assert [doc.phase_status(p) for p in ("extract", "chunk", "embed", "index")] == ["done"] * 4
        assert doc.chunk_count >= 1
    partition = partition_for(target.institution, target.course)
    assert await migrated.retriever.count(partition) == sum(
        d.chunk_count for d in await documents.list_for(migrated.db, target.course.id)
    )
    query = "Great Red Spot storm"
    vector = migrated.embedders.get().embed_query(query)
    result = await migrated.retriever.search(partition, query, vector, k=3)
    top = result.hits[0]
    assert "Red Spot" in top.text and top.metadata["filename"] == "planets.pdf"
    assert top.metadata["page"] == 1


async def test_same_content_twice_is_a_no_op(migrated: Services) -> None:
    target = await make_target(migrated)
    data = cooking_files()["pasta.md"]
    first = await migrated.ingestor.ingest(target, "pasta.md", data)
    runs = sum(migrated.ingestor.phase_runs.values())
    again = await migrated.ingestor.ingest(target, "copy-of-pasta.md", data)
    assert not again.created and again.document.id == first.document.id
    assert sum(migrated.ingestor.phase_runs.values()) == runs  # nothing re-ran
    assert len(await documents.list_for(migrated.db, target.course.id)) == 1
    partition = partition_for(target.institution, target.course)
    assert await migrated.retriever.count(partition) == first.document.chunk_count


async def test_scanned_pdf_fails_with_a_clear_error_and_no_chunks(migrated: Services) -> None:
    target = await make_target(migrated)
    result = await migrated.ingestor.ingest(target, "scan.pdf", scanned_pdf())
    doc = result.document
    assert doc.status == "failed" and doc.error_phase == "extract"
    assert "OCR" in (doc.error or "") or "text layer" in (doc.error or "").lower()
    assert migrated.ingestor.phase_runs["extract"] == 1  # not retried: it cannot succeed
    assert await chunks.count_for_document(migrated.db, doc.id) == 0


async def test_transient_phase_failure_is_retried(migrated: Services) -> None:
    migrated.embedders.set(FlakyEmbedder(failures=1))
    target = await make_target(migrated)
    result = await migrated.ingestor.ingest(target, "bread.html", cooking_files()["bread.html"])
    assert result.document.status == "ready"
    assert migrated.ingestor.phase_runs["embed"] == 2
    assert migrated.ingestor.phase_runs["extract"] == 1


async def test_failed_phase_resumes_without_redoing_earlier_phases(migrated: Services) -> None:
    attempts = migrated.ingestor.attempts
    migrated.embedders.set(FlakyEmbedder(failures=attempts))
    target = await make_target(migrated)
    data = cooking_files()["bread.html"]
    failed = (await migrated.ingestor.ingest(target, "bread.html", data)).document
    assert failed.status == "failed" and failed.error_phase == "embed"
    assert "embedding backend unavailable" in (failed.error or "")
    assert (failed.extract_status, failed.chunk_status) == ("done", "done")
    assert failed.index_status == "pending"
    chunk_ids = [c.id for c in await chunks.for_document(migrated.db, failed.id)]
    partition = partition_for(target.institution, target.course)
    assert await migrated.retriever.count(partition) == 0

    retried = await migrated.ingestor.ingest(target, "bread.html", data)  # same bytes again
    assert retried.document.id == failed.id and retried.document.status == "ready"
    assert migrated.ingestor.phase_runs["extract"] == 1
    assert migrated.ingestor.phase_runs["chunk"] == 1
    assert [c.id for c in await chunks.for_document(migrated.db, failed.id)] == chunk_ids
    assert await migrated.retriever.count(partition) == len(chunk_ids)


async def test_delete_removes_chunks_from_db_and_index(migrated: Services) -> None:
    target = await make_target(migrated)
    doc = (await migrated.ingestor.ingest(target, "pasta.md", cooking_files()["pasta.md"])).document
    partition = partition_for(target.institution, target.course)
    assert await migrated.retriever.count(partition) > 0
    assert await migrated.ingestor.delete(target, doc.id)
    assert await migrated.retriever.count(partition) == 0
    assert await chunks.count_for_document(migrated.db, doc.id) == 0
    assert not await migrated.ingestor.delete(target, doc.id)


async def test_index_is_rebuilt_from_the_database(migrated: Services) -> None:
    """A fresh process (new retriever) loads a course's chunks from the database."""
    target = await make_target(migrated)
    for name, data in astronomy_files().items():
        await migrated.ingestor.ingest(target, name, data)
    partition = partition_for(target.institution, target.course)
    expected = await migrated.retriever.count(partition)
    from promptsmith.qanda.wiring import build_retriever

    fresh = build_retriever(migrated.settings, migrated.db)
    assert await fresh.count(partition) == expected > 0


@pytest.mark.parametrize("course_ids", [(1, 2)])
async def test_courses_do_not_share_an_index(
    migrated: Services, course_ids: tuple[int, int]
) -> None:
    astronomy = await make_target(migrated, course_id=course_ids[0])
    cooking = await make_target(
        migrated, public_id=astronomy.institution.public_id, course_id=course_ids[1]
    )
    for name, data in astronomy_files().items():
        await migrated.ingestor.ingest(astronomy, name, data)
    for name, data in cooking_files().items():
        await migrated.ingestor.ingest(cooking, name, data)
    query = "sourdough starter"
    vector = migrated.embedders.get().embed_query(query)
    result = await migrated.retriever.search(
        partition_for(astronomy.institution, astronomy.course), query, vector
    )
    assert all(h.metadata["filename"] in astronomy_files() for h in result.hits)


async def test_changes_by_another_process_are_picked_up(migrated: Services) -> None:
    """A second worker (or the ingest CLI) on the same database: the index follows."""
    target = await make_target(migrated)
    await migrated.ingestor.ingest(target, "pasta.md", cooking_files()["pasta.md"])
    partition = partition_for(target.institution, target.course)
    query = "sourdough starter proofing"
    vector = migrated.embedders.get().embed_query(query)
    before = await migrated.retriever.search(partition, query, vector)
    assert {h.metadata["filename"] for h in before.hits} == {"pasta.md"}

    other = Services.build(migrated.settings)
    try:
        added = await other.ingestor.ingest(target, "bread.html", cooking_files()["bread.html"])
        after = await migrated.retriever.search(partition, query, vector)
        assert after.hits[0].metadata["filename"] == "bread.html"
        await other.ingestor.delete(target, added.document.id)
    finally:
        await other.db.dispose()
    final = await migrated.retriever.search(partition, query, vector)
    assert {h.metadata["filename"] for h in final.hits} == {"pasta.md"}


async def test_queued_jobs_resume_at_start_and_run_once(migrated: Services) -> None:
    """A job a shutdown left queued is picked up by the next start, by one process only."""
    from promptsmith.app import create_app
    from promptsmith.storage import jobs

    target = await make_target(migrated)
    job = await jobs.create(migrated.db, target.course.id, total=2)
    for name, data in cooking_files().items():
        await migrated.ingestor.add(target, name, data, job_id=job.id)
    first, second = (Services.build(migrated.settings) for _ in range(2))
    app_one, app_two = create_app(first.settings, first), create_app(second.settings, second)
    async with app_one.router.lifespan_context(app_one), app_two.router.lifespan_context(app_two):
        await first.jobs.wait()
        await second.jobs.wait()
    done = await jobs.get(migrated.db, job.id)
    assert done is not None and done.status == "succeeded"
    assert sorted(d.status for d in await jobs.documents(migrated.db, job.id)) == ["ready"] * 2
    runs = first.ingestor.phase_runs + second.ingestor.phase_runs
    assert runs["extract"] == 2  # each document once, whichever process claimed the job
