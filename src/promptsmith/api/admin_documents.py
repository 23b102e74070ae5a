"""Admin API: a course's documents (upload, list, delete, retry) and ingestion jobs.

Small uploads are ingested before the response (201, or 200 when every file was already
there). Larger ones are stored and processed by a background job: 202 with the job, whose
status and per-document progress `GET /api/admin/jobs/{job_id}` reports.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from ..exceptions import NotFound
from ..qanda.ingest import IngestResult, Target
from ..qanda.jobs import run_job
from ..services import Services
from ..storage import courses, documents, institutions, jobs
from ..storage.qanda_models import PHASES, Document, IngestJob
from .admin_catalog import ADMIN_ERRORS, course_for, institution_for
from .deps import AdminPrincipal, ServicesDep
from .routing import OrgUploadRoute
from .schemas import AIErrorResponse
from .uploads import read_uploads

router = APIRouter(
    prefix="/api/admin",
    tags=["Admin: course Q&A"],
    route_class=OrgUploadRoute,
    strict_content_type=False,
    responses=ADMIN_ERRORS,
)

DOCUMENTS = "/institutions/{public_id}/courses/{course_id}/documents"
UPLOAD_PATH = r"/api/admin/institutions/[^/]+/courses/[^/]+/documents"


_JSON_DOCUMENT = {
    "type": "object",
    "properties": {
        "filename": {"type": "string"},
        "content": {"type": "string", "description": "The document as text"},
        "content_base64": {"type": "string", "description": "The document's bytes, base64"},
        "content_type": {"type": "string"},
    },
    "required": ["filename"],
}
_UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {
                    "files": {"type": "array", "items": {"type": "string", "format": "binary"}}
                },
            }
        },
        "application/json": {
            "schema": {
                "oneOf": [
                    _JSON_DOCUMENT,
                    {
                        "type": "object",
                        "properties": {"files": {"type": "array", "items": _JSON_DOCUMENT}},
                        "required": ["files"],
                    },
                ]
            }
        },
    },
}


class DocumentOut(BaseModel):
    id: str
    filename: str
    content_type: str | None
    size_bytes: int
    content_hash: str
    title: str | None
    status: str
    phases: dict[str, str]
    error: str | None
    error_phase: str | None
    attempts: int
    chunk_count: int
    job_id: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: Document) -> DocumentOut:
        return cls(
            id=row.id,
            filename=row.filename,
            content_type=row.content_type,
            size_bytes=row.size_bytes,
            content_hash=row.content_hash,
            title=row.title,
            status=row.status,
            phases={phase: row.phase_status(phase) for phase in PHASES},
            error=row.error,
            error_phase=row.error_phase,
            attempts=row.attempts,
            chunk_count=row.chunk_count,
            job_id=row.job_id,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


class UploadedDocument(DocumentOut):
    created: bool  # False: the course already had this content (nothing was redone)


class JobOut(BaseModel):
    id: str
    status: str
    total: int
    error: str | None
    institution: str
    course_id: int
    progress: dict[str, int]
    documents: list[DocumentOut]
    created_at: datetime
    updated_at: datetime


class DocumentReply(BaseModel):
    success: bool = True
    document: DocumentOut


class DocumentList(BaseModel):
    success: bool = True
    documents: list[DocumentOut]


class UploadReply(BaseModel):
    success: bool = True
    documents: list[UploadedDocument]
    job_id: str | None = None
    job: JobOut | None = None


class JobReply(BaseModel):
    success: bool = True
    job: JobOut


class Deleted(BaseModel):
    success: bool = True
    deleted: str


async def _target(
    services: Services, principal: AdminPrincipal, public_id: str, course_id: int
) -> Target:
    assert principal.org is not None
    institution = await institution_for(services, principal.org, public_id)
    return Target(institution, await course_for(services, institution, course_id))


async def _document(services: Services, target: Target, document_id: str) -> Document:
    row = await documents.get(services.db, target.course.id, document_id)
    if row is None:
        raise NotFound(message=f"No document {document_id} in course {target.course.course_id}")
    return row


def _uploaded(result: IngestResult, row: Document | None = None) -> UploadedDocument:
    out = DocumentOut.of(row or result.document)
    return UploadedDocument(**out.model_dump(), created=result.created)


async def _job_out(services: Services, job: IngestJob, target: Target) -> JobOut:
    rows = await jobs.documents(services.db, job.id)
    progress = {"ready": 0, "failed": 0, "processing": 0, "pending": 0}
    for row in rows:
        progress[row.status] = progress.get(row.status, 0) + 1
    return JobOut(
        id=job.id,
        status=job.status,
        total=job.total,
        error=job.error,
        institution=target.institution.public_id,
        course_id=target.course.course_id,
        progress=progress,
        documents=[DocumentOut.of(r) for r in rows],
        created_at=job.created_at,
        updated_at=job.updated_at,
    )


@router.post(
    DOCUMENTS,
    status_code=201,
    operation_id="post_admin_documents",
    summary="Upload documents to a course (multipart files, or JSON content)",
    responses={
        202: {"model": UploadReply, "description": "Accepted: ingesting in a background job"},
        413: {"model": AIErrorResponse, "description": "Upload too large"},
    },
    openapi_extra={"requestBody": _UPLOAD_BODY},
)
async def upload_documents(
    public_id: str,
    course_id: int,
    request: Request,
    principal: AdminPrincipal,
    services: ServicesDep,
) -> Any:
    target = await _target(services, principal, public_id, course_id)
    uploads = await read_uploads(request)
    ingestor = services.ingestor
    if sum(len(u.data) for u in uploads) <= services.settings.ingest_inline_max_bytes:
        results = [
            await ingestor.ingest(target, u.filename, u.data, content_type=u.content_type)
            for u in uploads
        ]
        reply = UploadReply(documents=[_uploaded(r) for r in results])
        status = 201 if any(r.created for r in results) else 200
        return JSONResponse(reply.model_dump(mode="json"), status_code=status)
    job = await jobs.create(services.db, target.course.id, total=len(uploads))
    stored = []
    for u in uploads:
        result = await ingestor.add(
            target, u.filename, u.data, content_type=u.content_type, job_id=job.id
        )
        if not result.created:
            await documents.set_job(services.db, result.document.id, job.id)
        stored.append(result)
    services.jobs.start(run_job(ingestor, target, job.id, [r.document.id for r in stored]))
    reply = UploadReply(
        documents=[_uploaded(r) for r in stored],
        job_id=job.id,
        job=await _job_out(services, job, target),
    )
    return JSONResponse(reply.model_dump(mode="json"), status_code=202)


@router.get(DOCUMENTS, operation_id="get_admin_documents", summary="A course's documents")
async def list_documents(
    public_id: str, course_id: int, principal: AdminPrincipal, services: ServicesDep
) -> DocumentList:
    target = await _target(services, principal, public_id, course_id)
    rows = await documents.list_for(services.db, target.course.id)
    return DocumentList(documents=[DocumentOut.of(r) for r in rows])


@router.get(DOCUMENTS + "/{document_id}", operation_id="get_admin_document", summary="One document")
async def get_document(
    public_id: str,
    course_id: int,
    document_id: str,
    principal: AdminPrincipal,
    services: ServicesDep,
) -> DocumentReply:
    target = await _target(services, principal, public_id, course_id)
    return DocumentReply(document=DocumentOut.of(await _document(services, target, document_id)))


@router.post(
    DOCUMENTS + "/{document_id}/retry",
    operation_id="post_admin_document_retry",
    summary="Run a failed document's remaining phases again",
)
async def retry_document(
    public_id: str,
    course_id: int,
    document_id: str,
    principal: AdminPrincipal,
    services: ServicesDep,
) -> DocumentReply:
    target = await _target(services, principal, public_id, course_id)
    row = await _document(services, target, document_id)
    if row.status != "ready":
        row = await services.ingestor.process(target, row.id)
    return DocumentReply(document=DocumentOut.of(row))


@router.delete(
    DOCUMENTS + "/{document_id}",
    operation_id="delete_admin_document",
    summary="Delete a document and its chunks (database and search index)",
)
async def delete_document(
    public_id: str,
    course_id: int,
    document_id: str,
    principal: AdminPrincipal,
    services: ServicesDep,
) -> Deleted:
    target = await _target(services, principal, public_id, course_id)
    row = await _document(services, target, document_id)
    if not await services.ingestor.delete(target, row.id):
        raise NotFound(message=f"No document {document_id}")
    return Deleted(deleted=row.id)


@router.get("/jobs/{job_id}", operation_id="get_admin_job", summary="An ingestion job's progress")
async def get_job(job_id: str, principal: AdminPrincipal, services: ServicesDep) -> JobReply:
    job = await jobs.get(services.db, job_id)
    course = await courses.get_by_pk(services.db, job.course_pk) if job else None
    institution = (
        await institutions.get_by_pk(services.db, course.institution_pk) if course else None
    )
    if job is None or course is None or institution is None or institution.org_id != principal.org:
        raise NotFound(message=f"No job {job_id}")
    return JobReply(job=await _job_out(services, job, Target(institution, course)))
