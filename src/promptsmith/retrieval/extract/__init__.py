"""Turn an uploaded document into an `ExtractedDocument`: text + blocks with heading paths,
pages and character offsets.

    doc = extract(data, filename="week1.pdf")          # format from name / content type / bytes

Errors are per document (`promptsmith.retrieval.errors.ExtractionError` and subclasses).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePath

from promptsmith.retrieval.errors import UnsupportedFormat
from promptsmith.retrieval.extract.document import Block, ExtractedDocument
from promptsmith.retrieval.extract.docx import extract_docx
from promptsmith.retrieval.extract.html import extract_html
from promptsmith.retrieval.extract.pdf import extract_pdf
from promptsmith.retrieval.extract.text import extract_markdown, extract_text

__all__ = ["FORMATS", "Block", "ExtractedDocument", "detect_format", "extract"]

Extractor = Callable[[bytes, str | None], ExtractedDocument]

FORMATS: dict[str, Extractor] = {
    "pdf": extract_pdf,
    "docx": extract_docx,
    "html": extract_html,
    "markdown": extract_markdown,
    "text": extract_text,
}

_BY_SUFFIX = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".text": "text",
}
_BY_CONTENT_TYPE = {
    "application/pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "text/html": "html",
    "application/xhtml+xml": "html",
    "text/markdown": "markdown",
    "text/x-markdown": "markdown",
    "text/plain": "text",
}


def _sniff(data: bytes) -> str | None:
    head = data[:1024].lstrip()
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"PK\x03\x04") and b"word/" in data[:65536]:
        return "docx"
    lower = head.lower()
    if lower.startswith((b"<!doctype html", b"<html")) or b"<body" in lower:
        return "html"
    return None


def detect_format(data: bytes, filename: str | None = None, content_type: str | None = None) -> str:
    """Pick the format: the bytes' signature wins over the file name, which wins over the type."""
    sniffed = _sniff(data)
    if sniffed:
        return sniffed
    if filename:
        suffix = PurePath(filename).suffix.lower()
        if suffix in _BY_SUFFIX:
            return _BY_SUFFIX[suffix]
    if content_type:
        base = content_type.split(";", 1)[0].strip().lower()
        if base in _BY_CONTENT_TYPE:
            return _BY_CONTENT_TYPE[base]
    if filename and PurePath(filename).suffix:
        raise UnsupportedFormat(
            f"unsupported file type {PurePath(filename).suffix!r}", filename=filename
        )
    if b"\x00" in data[:4096]:
        raise UnsupportedFormat("unrecognised binary file", filename=filename)
    return "text"


def extract(
    data: bytes,
    *,
    filename: str | None = None,
    content_type: str | None = None,
    format: str | None = None,
) -> ExtractedDocument:
    """Extract one document. Raises an `ExtractionError` subclass on failure."""
    fmt = format or detect_format(data, filename, content_type)
    if fmt not in FORMATS:
        raise UnsupportedFormat(f"unsupported format {fmt!r}", filename=filename)
    if fmt == "docx" and not data.startswith(b"PK"):
        raise UnsupportedFormat("legacy .doc or non-DOCX file", filename=filename)
    return FORMATS[fmt](data, filename)
