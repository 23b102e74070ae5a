from __future__ import annotations

import pytest
from docbuilders import make_docx, make_pdf

from promptsmith.retrieval.errors import (
    CorruptDocument,
    EncryptedDocument,
    ExtractionError,
    NoTextLayer,
    UnsupportedFormat,
)
from promptsmith.retrieval.extract import ExtractedDocument, detect_format, extract


def assert_offsets(doc: ExtractedDocument) -> None:
    for block in doc.blocks:
        assert doc.text[block.start : block.end] == block.text


def paragraphs(doc: ExtractedDocument) -> list[str]:
    return [b.text for b in doc.blocks if b.kind == "paragraph"]


# --- PDF -------------------------------------------------------------------------------


def test_pdf_text_pages_and_numbered_headings() -> None:
    pdf = make_pdf(
        [
            ["1 Introduction", "Statistics is the science of data. It has many uses.", "1.1 Scope"],
            ["This course covers sampling and inference.", "2 Methods", "We use R in the labs."],
        ]
    )
    doc = extract(pdf, filename="notes.pdf")
    assert doc.format == "pdf"
    assert doc.page_count == 2
    headings = [(b.text, b.level, b.page) for b in doc.blocks if b.kind == "heading"]
    assert headings == [("1 Introduction", 1, 1), ("1.1 Scope", 2, 1), ("2 Methods", 1, 2)]
    body = {b.text: b for b in doc.blocks if b.kind == "paragraph"}
    sampling = body["This course covers sampling and inference."]
    assert sampling.page == 2
    assert sampling.heading_path == ("1 Introduction", "1.1 Scope")
    assert body["We use R in the labs."].heading_path == ("2 Methods",)
    assert_offsets(doc)


def test_pdf_outline_gives_headings() -> None:
    pdf = make_pdf(
        [["Welcome", "Opening words of the course."], ["Chapter body text on page two."]],
        outline=[("Welcome", 0), ("Chapter Two", 1)],
    )
    doc = extract(pdf, filename="book.pdf")
    blocks = [(b.kind, b.text, b.page, b.heading_path) for b in doc.blocks]
    assert blocks == [
        ("heading", "Welcome", 1, ("Welcome",)),
        ("paragraph", "Opening words of the course.", 1, ("Welcome",)),
        ("heading", "Chapter Two", 2, ("Chapter Two",)),
        ("paragraph", "Chapter body text on page two.", 2, ("Chapter Two",)),
    ]


def test_scanned_pdf_raises_a_clear_per_document_error() -> None:
    scan = make_pdf([[], []], image_pages={0, 1})
    with pytest.raises(NoTextLayer) as info:
        extract(scan, filename="scan.pdf")
    assert info.value.code == "no_text_layer"
    assert info.value.filename == "scan.pdf"
    assert "OCR" in str(info.value)


def test_pdf_with_one_scanned_page_keeps_the_text_and_warns() -> None:
    pdf = make_pdf([["Real text on the first page of this file."], []], image_pages={1})
    doc = extract(pdf, filename="mixed.pdf")
    assert paragraphs(doc) == ["Real text on the first page of this file."]
    assert doc.warnings == ("page 2 has no text layer",)


def encrypted_pdf(user_password: str) -> bytes:
    from io import BytesIO

    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(BytesIO(make_pdf([["Secret course notes."]]))))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="RC4-128")
    buffer = BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def test_password_protected_pdf() -> None:
    with pytest.raises(EncryptedDocument) as info:
        extract(encrypted_pdf("pw"), filename="locked.pdf")
    assert info.value.code == "encrypted"
    # Owner-password-only PDFs (print/copy restrictions) open with an empty password.
    assert paragraphs(extract(encrypted_pdf(""), filename="restricted.pdf")) == [
        "Secret course notes."
    ]


def test_corrupt_pdf() -> None:
    with pytest.raises(CorruptDocument):
        extract(b"%PDF-1.4\nthis is not really a pdf", filename="broken.pdf")


def test_pdf_hyphenation_is_joined() -> None:
    pdf = make_pdf([["The experi-", "ment was long and the results were clear to everyone here."]])
    assert "experiment was long" in extract(pdf).text


# --- DOCX ------------------------------------------------------------------------------


def test_docx_headings_from_styles_and_tables_in_order() -> None:
    data = make_docx(
        [
            ("title", "Lab Handbook"),
            ("h1", "Safety"),
            ("p", "Wear goggles at all times."),
            ("h2", "Spills"),
            ("p", "Report every spill to the technician."),
            ("h1", "Grading"),
        ],
        table=[["Item", "Weight"], ["Reports", "40%"]],
    )
    doc = extract(data, filename="handbook.docx")
    assert doc.format == "docx"
    assert doc.title == "Test Handbook"  # the core properties' title
    body = {b.text: b.heading_path for b in doc.blocks if b.kind == "paragraph"}
    assert body["Wear goggles at all times."] == ("Lab Handbook", "Safety")
    assert body["Report every spill to the technician."] == ("Lab Handbook", "Safety", "Spills")
    assert body["Reports | 40%"] == ("Lab Handbook", "Grading")
    assert_offsets(doc)


def test_not_a_docx() -> None:
    with pytest.raises(ExtractionError):
        extract(b"PK\x03\x04garbage word/ garbage", filename="x.docx")
    with pytest.raises(UnsupportedFormat):
        extract(b"\xd0\xcf\x11\xe0legacy", filename="old.doc")


# --- HTML ------------------------------------------------------------------------------

HTML = b"""<!DOCTYPE html><html><head><title>Week 3</title>
<style>.x { color: red }</style><script>alert('hi')</script></head>
<body><nav><a href="/">Home</a> | <a href="/next">Next</a></nav>
<h1>Week 3</h1><p>Intro &amp; overview of <b>osmosis</b>.</p>
<h2>Details</h2><ul><li>First point</li><li>Second point</li></ul>
<table><tr><td>Water</td><td>moves</td></tr></table>
<noscript>Enable JavaScript</noscript>
<h3>Deep</h3><p>Line one<br>line two</p></body></html>"""


def test_html_headings_blocks_and_dropped_elements() -> None:
    doc = extract(HTML, filename="week3.html")
    assert doc.title == "Week 3"
    assert "alert" not in doc.text
    assert "color: red" not in doc.text
    assert "Home" not in doc.text
    assert "JavaScript" not in doc.text
    body = {b.text: b.heading_path for b in doc.blocks if b.kind == "paragraph"}
    assert body["Intro & overview of osmosis."] == ("Week 3",)
    assert body["First point"] == ("Week 3", "Details")
    assert body["Second point"] == ("Week 3", "Details")
    assert body["Line one\nline two"] == ("Week 3", "Details", "Deep")
    assert body["Water | moves"] == ("Week 3", "Details")
    assert_offsets(doc)


def test_html_parser_does_not_expand_external_entities(tmp_path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    data = (
        f'<?xml version="1.0"?><!DOCTYPE html [<!ENTITY xxe SYSTEM "file://{secret}">]>'
        "<html><body><p>Value: &xxe;</p></body></html>"
    ).encode()
    doc = extract(data, filename="evil.html")
    assert "TOP-SECRET-VALUE" not in doc.text


def test_html_billion_laughs_does_not_blow_up() -> None:
    entities = '<!ENTITY a "aaaaaaaaaa">' + "".join(
        f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8)
    )
    data = f"<!DOCTYPE html [{entities}]><html><body><p>&i;</p></body></html>".encode()
    doc = extract(data, filename="lol.html")
    assert len(doc.text) < 10_000


# --- Markdown and text -------------------------------------------------------------------

MARKDOWN = """---
title: ignored front matter
---
# Cells

Cells are the **unit** of life. See [the notes](http://example.com).

## Membranes

The membrane is a bilayer.

```python
# not a heading
x = 1
```

Setext Heading
--------------

- item one
- item two
"""


def test_markdown_headings_fences_and_inline_markup() -> None:
    doc = extract(MARKDOWN.encode(), filename="cells.md")
    assert doc.format == "markdown"
    headings = [(b.text, b.level) for b in doc.blocks if b.kind == "heading"]
    assert headings == [("Cells", 1), ("Membranes", 2), ("Setext Heading", 2)]
    body = {b.text: b.heading_path for b in doc.blocks if b.kind == "paragraph"}
    assert body["Cells are the unit of life. See the notes."] == ("Cells",)
    assert body["# not a heading\nx = 1"] == ("Cells", "Membranes")
    assert body["- item one\n- item two"] == ("Cells", "Setext Heading")
    assert "ignored front matter" not in doc.text
    assert_offsets(doc)


def test_text_paragraphs_and_encodings() -> None:
    doc = extract("Première ligne.\n\n\nSecond paragraph\nstill second.".encode("cp1252"))
    assert doc.format == "text"
    assert paragraphs(doc) == ["Première ligne.", "Second paragraph\nstill second."]
    assert extract("\ufeffbom text".encode()).text == "bom text"


@pytest.mark.parametrize(
    ("data", "filename", "content_type", "expected"),
    [
        (b"%PDF-1.7 ...", "renamed.txt", None, "pdf"),
        (b"<!doctype html><p>x</p>", None, None, "html"),
        (b"# title", "a.md", None, "markdown"),
        (b"plain", None, "text/markdown; charset=utf-8", "markdown"),
        (b"plain", None, None, "text"),
    ],
)
def test_detect_format(
    data: bytes, filename: str | None, content_type: str | None, expected: str
) -> None:
    assert detect_format(data, filename, content_type) == expected


def test_unsupported_formats() -> None:
    with pytest.raises(UnsupportedFormat):
        extract(b"\x89PNG\r\n\x1a\n\x00\x00", filename="photo.png")
    with pytest.raises(UnsupportedFormat):
        extract(b"\x00\x01\x02binary")


def test_empty_documents_have_no_blocks() -> None:
    assert extract(b"", filename="empty.txt").is_empty
    assert extract(b"<html><body><script>x()</script></body></html>").is_empty
