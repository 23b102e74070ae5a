"""DOCX through python-docx: paragraphs and tables in document order; headings from styles."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from io import BytesIO

from promptsmith.retrieval.errors import CorruptDocument
from promptsmith.retrieval.extract.document import DocumentBuilder, ExtractedDocument

_HEADING_STYLE = re.compile(r"^(?:heading|überschrift|titre|título)\s*(\d)$", re.IGNORECASE)


def _heading_level(style_name: str) -> int | None:
    name = style_name.strip()
    if name.lower() == "title":
        return 1
    if m := _HEADING_STYLE.match(name):
        return int(m.group(1))
    return None


def _style(paragraph: object) -> str:
    style = getattr(paragraph, "style", None)
    return (getattr(style, "name", "") or "").strip().lower()


def _body_items(document: object) -> Iterator[object]:
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    body = document.element.body  # type: ignore[attr-defined]
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            yield Paragraph(child, document)  # type: ignore[arg-type]
        elif tag == "tbl":
            yield Table(child, document)  # type: ignore[arg-type]


def extract_docx(data: bytes, filename: str | None = None) -> ExtractedDocument:
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table

    try:
        document = docx.Document(BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise CorruptDocument(f"not a readable DOCX file: {exc}", filename=filename) from exc
    builder = DocumentBuilder("docx")
    items = list(_body_items(document))
    # With a Title paragraph, "Heading 1" sections sit under the title, as h2 under h1.
    shift = int(any(_style(i) == "title" for i in items if not isinstance(i, Table)))
    for item in items:
        if isinstance(item, Table):
            for row in item.rows:
                cells = [" ".join(c.text.split()) for c in row.cells]
                builder.paragraph(" | ".join(dict.fromkeys(c for c in cells if c)))
            continue
        text = item.text  # type: ignore[attr-defined]
        level = _heading_level(_style(item))
        if level is not None:
            builder.heading(text, level if _style(item) == "title" else level + shift)
        else:
            builder.paragraph(text)
    title = document.core_properties.title or None
    return builder.build(title=title)
