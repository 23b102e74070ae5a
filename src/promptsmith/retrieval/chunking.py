"""Split an extracted document into overlapping chunks of about 180-200 words.

Rules, in order of strength:
1. A chunk never crosses a heading: each section (the blocks under one heading path) is
   chunked on its own, so a chunk's heading path is exact.
2. A chunk ends at a sentence boundary; a paragraph boundary is preferred when one is near
   the target size. Only a sentence longer than `max_words` is cut between words.
3. Sizes are balanced inside a section (a 300-word section becomes two ~165-word chunks, not
   200 + 100), and a section up to `max_words` stays whole.
4. Consecutive chunks of a section overlap by whole trailing sentences worth about
   `overlap` x `target_words` words.

Every chunk records `[start, end)` into `ExtractedDocument.text`, so
`doc.text[chunk.start:chunk.end] == chunk.text`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from promptsmith.retrieval.extract.document import Block, ExtractedDocument
from promptsmith.retrieval.sentences import sentence_spans

_WORD = re.compile(r"\S+")
HEADING_SEPARATOR = " > "


@dataclass(frozen=True)
class Chunk:
    ordinal: int
    text: str
    start: int
    end: int
    heading_path: tuple[str, ...]
    page: int | None
    page_end: int | None
    word_count: int

    @property
    def index_text(self) -> str:
        """What gets embedded and indexed: the heading path gives the chunk its context."""
        if not self.heading_path:
            return self.text
        return f"{HEADING_SEPARATOR.join(self.heading_path)}\n{self.text}"


@dataclass(frozen=True)
class ChunkingOptions:
    """Sizes in words. The defaults aim a little under 200 words: all-MiniLM-L6-v2 reads only
    the first 256 word pieces (~190 English words), so larger chunks lose their tail for the
    dense retriever (BM25 still sees it). On the evaluation set, 180/230 beat 200/260 on dense
    recall@1 (0.94 vs 0.89) with everything else equal or better."""

    target_words: int = 180
    overlap: float = 0.15
    max_words: int = 230  # a whole section up to this size stays one chunk
    min_words: int = 110  # never end a chunk below this many words unless the section ends

    @property
    def overlap_words(self) -> int:
        return round(self.target_words * self.overlap)


@dataclass(frozen=True)
class _Unit:
    start: int
    end: int
    words: int
    paragraph_start: bool
    page: int | None


def _units(text: str, blocks: list[Block], max_words: int) -> list[_Unit]:
    units: list[_Unit] = []
    for block in blocks:
        first = True
        for s, e in sentence_spans(text, block.start, block.end):
            words = [(m.start(), m.end()) for m in _WORD.finditer(text, s, e)]
            for i in range(0, len(words), max_words):
                piece = words[i : i + max_words]
                units.append(_Unit(piece[0][0], piece[-1][1], len(piece), first, block.page))
                first = False
    return units


def _sections(doc: ExtractedDocument) -> list[tuple[tuple[str, ...], list[Block]]]:
    sections: list[tuple[tuple[str, ...], list[Block]]] = []
    current: list[Block] = []
    path: tuple[str, ...] = ()
    for block in doc.blocks:
        if block.kind == "heading" or block.heading_path != path:
            if current:
                sections.append((path, current))
            current = []
            path = block.heading_path
        if block.kind == "paragraph":
            current.append(block)
    if current:
        sections.append((path, current))
    return sections


def _choose_end(units: list[_Unit], i: int, goal: float, opts: ChunkingOptions) -> int:
    """Index one past the last unit of the chunk starting at `i`."""
    best, best_cost, words = i + 1, math.inf, 0
    for j in range(i, len(units)):
        words += units[j].words
        if j > i and words > opts.max_words:
            break
        at_paragraph = j + 1 == len(units) or units[j + 1].paragraph_start
        cost = abs(words - goal) / goal - (0.15 if at_paragraph else 0.0)
        if words < opts.min_words and j + 1 < len(units):
            cost += 1.0
        if cost < best_cost:
            best, best_cost = j + 1, cost
    return best


def _overlap_start(units: list[_Unit], i: int, end: int, opts: ChunkingOptions) -> int:
    start, words = end, 0
    while start - 1 > i and words + units[start - 1].words <= opts.overlap_words * 1.5:
        start -= 1
        words += units[start].words
    return start


def _pack(units: list[_Unit], opts: ChunkingOptions) -> list[tuple[int, int]]:
    """Unit ranges `[i, j)` for the chunks of one section."""
    ranges: list[tuple[int, int]] = []
    suffix = [0] * (len(units) + 1)  # suffix[i]: words in units[i:]
    for k in range(len(units) - 1, -1, -1):
        suffix[k] = suffix[k + 1] + units[k].words
    i = 0
    while i < len(units):
        remaining = suffix[i]
        if remaining <= opts.max_words:
            ranges.append((i, len(units)))
            break
        step = opts.target_words - opts.overlap_words
        chunks_left = max(2, math.ceil((remaining - opts.overlap_words) / step))
        goal = min(float(opts.target_words), opts.overlap_words + remaining / chunks_left)
        end = _choose_end(units, i, goal, opts)
        ranges.append((i, end))
        if end >= len(units):
            break
        i = max(i + 1, _overlap_start(units, i, end, opts))
    return ranges


def chunk_document(doc: ExtractedDocument, options: ChunkingOptions | None = None) -> list[Chunk]:
    """Chunks of the whole document, numbered in reading order from 0."""
    opts = options or ChunkingOptions()
    chunks: list[Chunk] = []
    for path, blocks in _sections(doc):
        units = _units(doc.text, blocks, opts.max_words)
        for i, j in _pack(units, opts):
            part = units[i:j]
            start, end = part[0].start, part[-1].end
            pages = [u.page for u in part if u.page is not None]
            chunks.append(
                Chunk(
                    ordinal=len(chunks),
                    text=doc.text[start:end],
                    start=start,
                    end=end,
                    heading_path=path,
                    page=pages[0] if pages else None,
                    page_end=pages[-1] if pages else None,
                    word_count=sum(u.words for u in part),
                )
            )
    return chunks
