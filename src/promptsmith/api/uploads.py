"""Reading document uploads: multipart/form-data files, or JSON with text or base64 content."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath
from typing import Annotated, Any

from fastapi import Request
from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError, model_validator
from starlette.datastructures import UploadFile

from ..exceptions import BadRequest
from ..retrieval.errors import UnsupportedFormat
from ..retrieval.extract import detect_format

MAX_FILES = 100


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes
    content_type: str | None = None


class JsonDocument(BaseModel):
    model_config = ConfigDict(extra="forbid")

    filename: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    content: str | None = None
    content_base64: str | None = None
    content_type: str | None = None

    @model_validator(mode="after")
    def _one_content(self) -> JsonDocument:
        if (self.content is None) == (self.content_base64 is None):
            raise ValueError("give exactly one of content (text) or content_base64")
        return self


def clean_filename(name: str) -> str:
    """The last path component only (uploads may send full client paths)."""
    base = PureWindowsPath(PurePosixPath(name).name).name.strip()
    return base[:500] or "document"


async def read_uploads(request: Request) -> list[Upload]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        uploads = await _multipart(request)
    else:
        uploads = _json(await _json_body(request))
    if not uploads:
        raise BadRequest(
            "No documents",
            "Send files as multipart/form-data (field 'file' or 'files'), or JSON "
            "{filename, content} / {filename, content_base64}.",
        )
    if len(uploads) > MAX_FILES:
        raise BadRequest("Too many files", f"Send at most {MAX_FILES} files per request.")
    for upload in uploads:
        _check(upload)
    return uploads


async def _json_body(request: Request) -> Any:
    body = await request.body()
    if not body:
        raise BadRequest("Request body is required", "Send a JSON object or a multipart upload.")
    return await request.json()


async def _multipart(request: Request) -> list[Upload]:
    try:
        form = await request.form(max_files=MAX_FILES, max_fields=MAX_FILES)
    except Exception as exc:  # malformed multipart bodies
        raise BadRequest("Malformed multipart body", str(exc)) from exc
    uploads: list[Upload] = []
    for _, value in form.multi_items():
        if isinstance(value, UploadFile):
            data = await value.read()
            uploads.append(Upload(clean_filename(value.filename or ""), data, value.content_type))
    await form.close()
    return uploads


def _json(body: Any) -> list[Upload]:
    items = body.get("files") if isinstance(body, dict) and "files" in body else [body]
    if not isinstance(items, list):
        raise BadRequest("Invalid request body", "files must be a list of documents")
    uploads = []
    for item in items:
        try:
            document = JsonDocument.model_validate(item)
        except ValidationError as exc:
            problem = "; ".join(e["msg"] for e in exc.errors())
            raise BadRequest("Invalid request body", problem) from exc
        uploads.append(
            Upload(clean_filename(document.filename), _bytes(document), document.content_type)
        )
    return uploads


def _bytes(document: JsonDocument) -> bytes:
    if document.content is not None:
        return document.content.encode()
    try:
        return base64.b64decode(document.content_base64 or "", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadRequest("Invalid request body", "content_base64 is not valid base64") from exc


def _check(upload: Upload) -> None:
    if not upload.data:
        raise BadRequest("Empty document", f"{upload.filename} is empty.")
    try:
        detect_format(upload.data, upload.filename, upload.content_type)
    except UnsupportedFormat as exc:
        raise BadRequest(
            "Unsupported document type",
            f"{upload.filename}: {exc}. Supported: PDF, DOCX, HTML, Markdown, plain text.",
        ) from exc
