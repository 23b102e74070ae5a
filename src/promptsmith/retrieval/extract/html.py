"""HTML through lxml with a hardened parser: no network, no entity expansion, no huge trees."""

from __future__ import annotations

import re

from lxml import etree
from lxml import html as lxml_html

from promptsmith.retrieval.errors import CorruptDocument
from promptsmith.retrieval.extract.document import DocumentBuilder, ExtractedDocument

_DROP = {
    "script", "style", "nav", "noscript", "template", "iframe", "object", "embed",
    "svg", "canvas", "head", "button", "select", "form", "menu",
}  # fmt: skip
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_BLOCKS = {
    "p", "div", "section", "article", "main", "header", "footer", "aside", "li", "ul", "ol",
    "dl", "dt", "dd", "table", "tr", "thead", "tbody", "blockquote", "pre",
    "figure", "figcaption", "address", "details", "summary", "hr", "body", "html",
}  # fmt: skip
_MAX_BYTES = 50 * 1024 * 1024
_TRAILING_BAR = re.compile(r"(\s*\|\s*)+$")


def _parser() -> lxml_html.HTMLParser:
    return lxml_html.HTMLParser(
        no_network=True,
        remove_comments=True,
        remove_pis=True,
        huge_tree=False,
        recover=True,
        default_doctype=False,
    )


class _Walker:
    def __init__(self) -> None:
        self.builder = DocumentBuilder("html")
        self.buffer: list[str] = []

    def flush(self) -> None:
        text = _TRAILING_BAR.sub("", "".join(self.buffer))
        self.buffer = []
        self.builder.paragraph(text)

    def walk(self, el: etree._Element) -> None:
        tag = el.tag.lower() if isinstance(el.tag, str) else ""
        if tag in _DROP or not tag:
            if el.tail:
                self.buffer.append(el.tail)
            return
        if tag in _HEADINGS:
            self.flush()
            self.builder.heading(el.text_content(), _HEADINGS[tag])
        else:
            block = tag in _BLOCKS
            if block:
                self.flush()
            if tag == "br":
                self.buffer.append("\n")
            if el.text:
                self.buffer.append(el.text)
            for child in el:
                self.walk(child)
            if block:
                self.flush()
            elif tag in ("td", "th"):
                self.buffer.append(" | ")
        if el.tail:
            self.buffer.append(el.tail)


def extract_html(data: bytes, filename: str | None = None) -> ExtractedDocument:
    if len(data) > _MAX_BYTES:
        raise CorruptDocument("HTML file too large", filename=filename)
    if not data.strip():
        return DocumentBuilder("html").build()
    try:
        root = lxml_html.document_fromstring(data, parser=_parser())
    except (etree.ParserError, ValueError) as exc:
        raise CorruptDocument(f"HTML does not parse: {exc}", filename=filename) from exc
    title_el = root.find(".//title")
    title = " ".join(title_el.text_content().split()) if title_el is not None else None
    walker = _Walker()
    body = root.find("body")
    walker.walk(body if body is not None else root)
    walker.flush()
    return walker.builder.build(title=title or None)
