"""Background ingestion jobs: large uploads are stored, then processed by a task.

The job row says `queued`, `running`, `succeeded` (every document ready) or `failed` (at
least one document failed; each document has its own status and error). Tasks live in the
app process. A job cancelled by a shutdown goes back to `queued`, and the next app start
resumes queued jobs (a process claims a job atomically, so several workers never run the
same one); each document continues from its own unfinished phase.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Sequence
from typing import Any

from ..storage import courses, institutions, jobs
from .ingest import Ingestor, Target

logger = logging.getLogger("promptsmith.jobs")


class JobRunner:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def wait(self) -> None:
        """Wait for every running job (tests, CLI)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)


async def run_job(
    ingestor: Ingestor, target: Target, job_id: str, document_ids: Sequence[str]
) -> None:
    """Process a job's documents one after another and record the outcome."""
    db = ingestor.db
    if not await jobs.claim(db, job_id):
        return
    failed = 0
    try:
        for document_id in document_ids:
            document = await ingestor.process(target, document_id)
            failed += document.status != "ready"
    except asyncio.CancelledError:
        interrupted = "interrupted by a shutdown; resumes at the next start"
        await asyncio.shield(jobs.set_status(db, job_id, "queued", interrupted))
        raise
    except Exception as exc:
        logger.exception("ingestion job %s failed", job_id)
        await jobs.set_status(db, job_id, "failed", f"{type(exc).__name__}: {exc}")
        return
    error = f"{failed} of {len(document_ids)} documents failed" if failed else None
    await jobs.set_status(db, job_id, "failed" if failed else "succeeded", error)


async def resume_jobs(runner: JobRunner, ingestor: Ingestor) -> int:
    """Start the queued jobs (left by a shutdown); returns how many were found."""
    db = ingestor.db
    pending = await jobs.queued(db)
    for job in pending:
        course = await courses.get_by_pk(db, job.course_pk)
        institution = await institutions.get_by_pk(db, course.institution_pk) if course else None
        if course is None or institution is None:
            continue
        document_ids = [d.id for d in await jobs.documents(db, job.id)]
        runner.start(run_job(ingestor, Target(institution, course), job.id, document_ids))
    return len(pending)
