"""Real test documents built in memory: a hand-rolled PDF writer and DOCX via python-docx."""

from __future__ import annotations

import io
import zlib


def _pdf_string(text: str) -> bytes:
    escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    return b"(" + escaped.encode("latin-1") + b")"


def make_pdf(
    pages: list[list[str]],
    *,
    outline: list[tuple[str, int]] | None = None,
    image_pages: set[int] | None = None,
) -> bytes:
    """A valid PDF. `pages` holds each page's text lines (Helvetica 11pt); an empty list plus
    the page's index in `image_pages` gives a "scanned" page: an image and no text layer.
    `outline` is a list of (title, page index) bookmarks."""
    image_pages = image_pages or set()
    objects: list[bytes] = []

    def reserve() -> int:
        objects.append(b"")
        return len(objects)

    catalog, pages_id, font = reserve(), reserve(), reserve()
    objects[font - 1] = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
    image = reserve()
    pixels = zlib.compress(bytes(range(0, 256, 16)) * 16)
    objects[image - 1] = (
        b"<< /Type /XObject /Subtype /Image /Width 16 /Height 16 /ColorSpace /DeviceGray "
        b"/BitsPerComponent 8 /Filter /FlateDecode /Length %d >>\nstream\n"
        % len(pixels)
        + pixels
        + b"\nendstream"
    )
    page_ids = []
    for index, lines in enumerate(pages):
        ops = []
        if index in image_pages:
            ops.append(b"q 500 0 0 700 50 50 cm /Im1 Do Q")
        if lines:
            ops.append(b"BT /F1 11 Tf 14 TL 72 760 Td")
            for line in lines:
                ops.append(_pdf_string(line) + b" Tj T*")
            ops.append(b"ET")
        content = b"\n".join(ops)
        content_id = reserve()
        objects[content_id - 1] = (
            b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream"
        )
        page_id = reserve()
        objects[page_id - 1] = (
            b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Contents %d 0 R "
            b"/Resources << /Font << /F1 %d 0 R >> /XObject << /Im1 %d 0 R >> >> >>"
            % (pages_id, content_id, font, image)
        )
        page_ids.append(page_id)
    kids = b" ".join(b"%d 0 R" % p for p in page_ids)
    objects[pages_id - 1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(page_ids))
    outline_ref = b""
    if outline:
        root = reserve()
        items = [reserve() for _ in outline]
        for i, (title, page) in enumerate(outline):
            links = b""
            if i > 0:
                links += b" /Prev %d 0 R" % items[i - 1]
            if i + 1 < len(items):
                links += b" /Next %d 0 R" % items[i + 1]
            objects[items[i] - 1] = (
                b"<< /Title "
                + _pdf_string(title)
                + b" /Parent %d 0 R /Dest [%d 0 R /XYZ 0 792 0]%s >>"
                % (root, page_ids[page], links)
            )
        objects[root - 1] = b"<< /Type /Outlines /First %d 0 R /Last %d 0 R /Count %d >>" % (
            items[0],
            items[-1],
            len(items),
        )
        outline_ref = b" /Outlines %d 0 R" % root
    objects[catalog - 1] = b"<< /Type /Catalog /Pages %d 0 R%s >>" % (pages_id, outline_ref)

    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(
        b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n"
        % (len(objects) + 1, catalog, xref)
    )
    return out.getvalue()


def make_docx(items: list[tuple[str, str]], table: list[list[str]] | None = None) -> bytes:
    """`items` are (style, text) pairs: style "h1".."h3", "title" or "p"."""
    import docx

    document = docx.Document()
    document.core_properties.title = "Test Handbook"
    for style, text in items:
        if style == "title":
            document.add_heading(text, level=0)
        elif style.startswith("h"):
            document.add_heading(text, level=int(style[1:]))
        else:
            document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.cell(r, c).text = value
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
