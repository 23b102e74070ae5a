"""PDF text layer through pypdf, page by page. Headings come from the outline (bookmarks)
when the file has one, otherwise from numbered heading lines ("2.3 Sampling error").

A PDF with no text layer at all (a scan) raises `NoTextLayer`: it needs OCR, and an empty
document must never be indexed as if it were fine. Single pages without text are kept as
warnings on the document.
"""

from __future__ import annotations

import re
import statistics
import warnings
from io import BytesIO
from typing import Any

from promptsmith.retrieval.errors import CorruptDocument, EncryptedDocument, NoTextLayer
from promptsmith.retrieval.extract.document import (
    DocumentBuilder,
    ExtractedDocument,
    normalize_space,
)

_NUMBERED_HEADING = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){0,4})\.?\s+([A-Z][^\n]{1,80})$")
_SENTENCE_END = re.compile(r"[.!?:;\"'”’)\]]$")
_MIN_TEXT_CHARS = 16


def _outline_headings(reader: Any) -> dict[int, list[tuple[int, str]]]:
    """page index -> [(level, title)] from the PDF outline, in outline order."""
    found: dict[int, list[tuple[int, str]]] = {}

    def visit(items: list[Any], level: int) -> None:
        for item in items:
            if isinstance(item, list):
                visit(item, level + 1)
                continue
            try:
                page = reader.get_destination_page_number(item)
            except Exception:  # a broken bookmark must not lose the document
                continue
            title = normalize_space(str(getattr(item, "title", "") or ""))
            if title and page is not None and page >= 0:
                found.setdefault(page, []).append((level, title))

    try:
        visit(list(reader.outline), 1)
    except Exception:
        return {}
    return found


def _is_numbered_heading(line: str) -> bool:
    return bool(_NUMBERED_HEADING.match(line)) and not line.endswith(".")


def _hyphenated(text: str) -> bool:
    return text.endswith("-") and len(text) > 1 and text[-2].isalpha()


def _lines_to_paragraphs(lines: list[str]) -> list[str]:
    """Re-flow pypdf's one-line-per-text-line output into paragraphs."""
    lengths = [len(line) for line in lines if line.strip()]
    typical = statistics.median(lengths) if lengths else 0
    paragraphs: list[str] = []
    current = ""
    for raw in lines:
        line = raw.strip()
        if not line or _is_numbered_heading(line):
            if current:
                paragraphs.append(current)
                current = ""
            if line:
                paragraphs.append(line)
            continue
        if _hyphenated(current) and line[0].islower():
            current = current[:-1] + line
        else:
            current = f"{current} {line}" if current else line
        if _SENTENCE_END.search(line) and len(line) < 0.75 * typical:
            paragraphs.append(current)
            current = ""
    if current:
        paragraphs.append(current)
    return paragraphs


def _open(data: bytes, filename: str | None) -> Any:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise EncryptedDocument("the PDF is password-protected", filename=filename)
        _ = len(reader.pages)
    except EncryptedDocument:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise CorruptDocument(f"not a readable PDF: {exc}", filename=filename) from exc
    except Exception as exc:  # pypdf raises a wide range of errors on damaged files
        if "crypt" in f"{type(exc).__name__} {exc}".lower():
            raise EncryptedDocument(f"cannot decrypt the PDF: {exc}", filename=filename) from exc
        raise CorruptDocument(f"not a readable PDF: {exc}", filename=filename) from exc
    return reader


def _emit_page(
    builder: DocumentBuilder, text: str, page_no: int, outline: list[tuple[int, str]]
) -> None:
    pending = list(outline)
    lines = text.replace("\r", "\n").split("\n")
    if pending:
        titles = {t.lower(): (lvl, t) for lvl, t in pending}
        body: list[str] = []
        for line in lines:
            key = normalize_space(line).lower()
            if key in titles:
                for para in _lines_to_paragraphs(body):
                    builder.paragraph(para, page_no)
                body = []
                level, title = titles.pop(key)
                pending = [p for p in pending if p[1] != title]
                builder.heading(title, level, page_no)
            else:
                body.append(line)
        # Bookmarks whose title is not printed on the page still start a section there.
        for level, title in pending:
            builder.heading(title, level, page_no)
        lines = body
    for para in _lines_to_paragraphs(lines):
        m = _NUMBERED_HEADING.match(para) if not outline else None
        if m and _is_numbered_heading(para):
            builder.heading(para, m.group(1).count(".") + 1, page_no)
        else:
            builder.paragraph(para, page_no)


def extract_pdf(data: bytes, filename: str | None = None) -> ExtractedDocument:
    reader = _open(data, filename)
    builder = DocumentBuilder("pdf")
    outline = _outline_headings(reader)
    total_chars = 0
    page_count = len(reader.pages)
    if page_count == 0:
        raise CorruptDocument("the PDF has no pages", filename=filename)
    for index, page in enumerate(reader.pages):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                text = page.extract_text() or ""
        except Exception as exc:  # one broken page must not lose the rest
            builder.warnings.append(f"page {index + 1}: text extraction failed ({exc})")
            continue
        chars = len("".join(text.split()))
        total_chars += chars
        if chars == 0:
            builder.warnings.append(f"page {index + 1} has no text layer")
            continue
        _emit_page(builder, text, index + 1, outline.get(index, []))
    doc = builder.build(page_count=page_count)
    if total_chars < _MIN_TEXT_CHARS or doc.is_empty:
        raise NoTextLayer(
            f"the PDF has no text layer ({page_count} page(s), probably scanned); "
            "it needs OCR before it can be indexed",
            filename=filename,
        )
    return doc
