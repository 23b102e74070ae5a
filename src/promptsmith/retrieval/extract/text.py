"""Plain text and Markdown."""

from __future__ import annotations

import re

from promptsmith.retrieval.errors import CorruptDocument
from promptsmith.retrieval.extract.document import DocumentBuilder, ExtractedDocument

_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_LIST_ITEM = re.compile(r"^ {0,3}(?:[-*+]|\d{1,9}[.)])[ \t]+")
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_EMPHASIS = re.compile(r"(\*\*|__|`)(?=\S)(.+?)(?<=\S)\1")


def decode_text(data: bytes, filename: str | None = None) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    if b"\x00" in data[:4096]:
        raise CorruptDocument("looks like binary data, not text", filename=filename)
    return data.decode("latin-1")


def _paragraphs(lines: list[str]) -> list[str]:
    """Split lines into paragraphs at blank lines."""
    out: list[str] = []
    current: list[str] = []
    for line in lines:
        if line.strip():
            current.append(line)
        elif current:
            out.append("\n".join(current))
            current = []
    if current:
        out.append("\n".join(current))
    return out


def extract_text(data: bytes, filename: str | None = None) -> ExtractedDocument:
    text = decode_text(data, filename).replace("\r\n", "\n").replace("\r", "\n")
    builder = DocumentBuilder("text")
    for para in _paragraphs(text.split("\n")):
        builder.paragraph(para)
    return builder.build()


def _inline(text: str) -> str:
    text = _IMAGE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    return _EMPHASIS.sub(r"\2", text)


class _MarkdownReader:
    def __init__(self) -> None:
        self.builder = DocumentBuilder("markdown")
        self.pending: list[str] = []

    def flush(self) -> None:
        if self.pending:
            self.builder.paragraph(_inline("\n".join(self.pending)))
            self.pending = []

    def read(self, lines: list[str]) -> ExtractedDocument:
        i = _skip_front_matter(lines)
        fence: str | None = None
        while i < len(lines):
            line = lines[i]
            i += 1
            if fence is not None:
                if line.strip().startswith(fence):
                    fence = None
                    self.flush()
                else:
                    self.pending.append(line)
                continue
            if m := _FENCE.match(line):
                self.flush()
                fence = m.group(1)
                continue
            if m := _ATX.match(line):
                self.flush()
                self.builder.heading(_inline(m.group(2) or ""), len(m.group(1)))
                continue
            if self.pending and _SETEXT.match(line) and len(self.pending) == 1:
                title = self.pending.pop()
                self.builder.heading(_inline(title), 1 if line.strip()[0] == "=" else 2)
                continue
            if not line.strip():
                self.flush()
                continue
            if _LIST_ITEM.match(line) and self.pending and not _LIST_ITEM.match(self.pending[0]):
                self.flush()
            self.pending.append(line)
        self.flush()
        return self.builder.build()


def _skip_front_matter(lines: list[str]) -> int:
    if lines and lines[0].strip() == "---":
        for j in range(1, min(len(lines), 200)):
            if lines[j].strip() in ("---", "..."):
                return j + 1
    return 0


def extract_markdown(data: bytes, filename: str | None = None) -> ExtractedDocument:
    text = decode_text(data, filename).replace("\r\n", "\n").replace("\r", "\n")
    return _MarkdownReader().read(text.split("\n"))
