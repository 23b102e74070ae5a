"""The extracted-document structure every format is turned into.

`ExtractedDocument.text` is the plain text of the whole document: blocks joined by a blank
line. Each `Block` knows its `[start, end)` span in that text, the heading path it sits
under and its page (PDF only), so chunks and citations can point back into the document.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

BlockKind = Literal["heading", "paragraph"]
BLOCK_SEPARATOR = "\n\n"


@dataclass(frozen=True)
class Block:
    kind: BlockKind
    text: str
    start: int
    end: int
    heading_path: tuple[str, ...]
    page: int | None = None
    level: int = 0  # heading level 1-6 for headings, 0 otherwise


@dataclass(frozen=True)
class ExtractedDocument:
    format: str
    text: str
    blocks: tuple[Block, ...]
    title: str | None = None
    page_count: int | None = None
    warnings: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not any(b.kind == "paragraph" for b in self.blocks)


@dataclass
class DocumentBuilder:
    """Appends blocks while tracking offsets and the current heading path."""

    format: str
    _parts: list[str] = field(default_factory=list)
    _blocks: list[Block] = field(default_factory=list)
    _headings: list[tuple[int, str]] = field(default_factory=list)
    _length: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def heading_path(self) -> tuple[str, ...]:
        return tuple(text for _, text in self._headings)

    def heading(self, text: str, level: int, page: int | None = None) -> None:
        text = normalize_space(text)
        if not text:
            return
        level = max(1, min(level, 6))
        while self._headings and self._headings[-1][0] >= level:
            self._headings.pop()
        self._headings.append((level, text))
        self._append("heading", text, page, level)

    def paragraph(self, text: str, page: int | None = None) -> None:
        text = clean_paragraph(text)
        if text:
            self._append("paragraph", text, page, 0)

    def _append(self, kind: BlockKind, text: str, page: int | None, level: int) -> None:
        if self._parts:
            self._parts.append(BLOCK_SEPARATOR)
            self._length += len(BLOCK_SEPARATOR)
        start = self._length
        self._parts.append(text)
        self._length += len(text)
        block = Block(kind, text, start, self._length, self.heading_path, page, level)
        self._blocks.append(block)

    def build(
        self, *, title: str | None = None, page_count: int | None = None
    ) -> ExtractedDocument:
        if title is None:
            title = next((b.text for b in self._blocks if b.kind == "heading"), None)
        return ExtractedDocument(
            format=self.format,
            text="".join(self._parts),
            blocks=tuple(self._blocks),
            title=title,
            page_count=page_count,
            warnings=tuple(self.warnings),
        )


def normalize_space(text: str) -> str:
    return " ".join(text.split())


def clean_paragraph(text: str) -> str:
    """Collapse runs of spaces inside lines; keep single line breaks (lists, verse, code)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return "\n".join(line for line in lines if line).strip()
