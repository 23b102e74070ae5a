"""Background ingestion jobs: large uploads are stored, then processed by a task.

The job row says `queued`, `running`, `succeeded` (every document ready) or `failed` (at
least one document failed; each document has its own status and error). Tasks live in the
app process; they are cancelled at shutdown (the documents keep their per-phase status, so
uploading the same files again resumes them).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Sequence
from typing import Any

from ..storage import jobs
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
    await jobs.set_status(db, job_id, "running")
    failed = 0
    try:
        for document_id in document_ids:
            document = await ingestor.process(target, document_id)
            failed += document.status != "ready"
    except asyncio.CancelledError:
        await asyncio.shield(jobs.set_status(db, job_id, "failed", "interrupted (shutdown)"))
        raise
    except Exception as exc:
        logger.exception("ingestion job %s failed", job_id)
        await jobs.set_status(db, job_id, "failed", f"{type(exc).__name__}: {exc}")
        return
    error = f"{failed} of {len(document_ids)} documents failed" if failed else None
    await jobs.set_status(db, job_id, "failed" if failed else "succeeded", error)
