from __future__ import annotations

import itertools
import random
import re

import pytest
from docbuilders import make_pdf

from promptsmith.retrieval.chunking import Chunk, ChunkingOptions, chunk_document
from promptsmith.retrieval.extract import ExtractedDocument, extract
from promptsmith.retrieval.sentences import sentence_spans

WORDS = "cell membrane protein energy sample mean test river empire treaty law court".split()  # noqa: SIM905


def sentence(rng: random.Random, low: int = 6, high: int = 24) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(low, high))]
    return " ".join(words).capitalize() + "."


def paragraph(rng: random.Random, sentences: int) -> str:
    return " ".join(sentence(rng) for _ in range(sentences))


def course_markdown(seed: int = 7) -> str:
    rng = random.Random(seed)
    parts = ["# Course", "", paragraph(rng, 3), ""]
    for section in range(4):
        parts += [f"## Section {section}", ""]
        for _ in range(rng.randint(2, 9)):
            parts += [paragraph(rng, rng.randint(2, 7)), ""]
        parts += [f"### Sub {section}", "", paragraph(rng, 2), ""]
    return "\n".join(parts)


@pytest.fixture
def doc() -> ExtractedDocument:
    return extract(course_markdown().encode(), filename="course.md")


@pytest.fixture
def chunks(doc: ExtractedDocument) -> list[Chunk]:
    return chunk_document(doc)


def test_spans_map_back_to_the_text(doc: ExtractedDocument, chunks: list[Chunk]) -> None:
    for chunk in chunks:
        assert doc.text[chunk.start : chunk.end] == chunk.text
        assert chunk.word_count == len(chunk.text.split())


def test_ordinals_are_sequential(chunks: list[Chunk]) -> None:
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))


def test_sizes_stay_near_the_target(chunks: list[Chunk]) -> None:
    opts = ChunkingOptions()
    assert max(c.word_count for c in chunks) <= opts.max_words
    # Chunks below the minimum only happen at the end of a (short) section.
    sections: dict[tuple[str, ...], list[Chunk]] = {}
    for c in chunks:
        sections.setdefault(c.heading_path, []).append(c)
    for group in sections.values():
        for c in group[:-1]:
            assert c.word_count >= opts.min_words


def test_chunks_never_cross_a_heading(doc: ExtractedDocument, chunks: list[Chunk]) -> None:
    headings = [b for b in doc.blocks if b.kind == "heading"]
    for chunk in chunks:
        assert not any(chunk.start <= h.start < chunk.end for h in headings)
        inside = [b for b in doc.blocks if b.start >= chunk.start and b.end <= chunk.end]
        assert all(b.heading_path == chunk.heading_path for b in inside)


def test_chunks_end_at_sentence_boundaries(chunks: list[Chunk]) -> None:
    for chunk in chunks:
        assert chunk.text.endswith(".")
        assert chunk.text[0].isupper()


def test_consecutive_chunks_of_a_section_overlap(chunks: list[Chunk]) -> None:
    opts = ChunkingOptions()
    pairs = [(a, b) for a, b in itertools.pairwise(chunks) if a.heading_path == b.heading_path]
    assert pairs, "the fixture should have multi-chunk sections"
    for a, b in pairs:
        assert b.start < a.end, "no overlap"
        overlap_words = len(a.text[b.start - a.start :].split())
        assert 0 < overlap_words <= opts.overlap_words * 1.5


def test_every_word_is_covered(doc: ExtractedDocument, chunks: list[Chunk]) -> None:
    for block in (b for b in doc.blocks if b.kind == "paragraph"):
        for word in re.finditer(r"\S+", doc.text[block.start : block.end]):
            position = block.start + word.start()
            assert any(c.start <= position < c.end for c in chunks)


def test_short_section_stays_whole_and_index_text_has_headings() -> None:
    doc = extract(b"# Unit\n\n## Intro\n\nOne sentence. Two sentences.\n", filename="a.md")
    (chunk,) = chunk_document(doc)
    assert chunk.text == "One sentence. Two sentences."
    assert chunk.heading_path == ("Unit", "Intro")
    assert chunk.index_text == "Unit > Intro\nOne sentence. Two sentences."


def test_balanced_split_of_a_medium_section() -> None:
    opts = ChunkingOptions()
    rng = random.Random(3)
    sentences: list[str] = []
    while sum(len(x.split()) for x in sentences) < opts.max_words + 60:
        sentences.append(sentence(rng, 10, 14))
    doc = extract(("# T\n\n" + " ".join(sentences)).encode(), filename="a.md")
    first, second = chunk_document(doc)
    # ~300 words become two similar chunks (not target + remainder).
    assert abs(first.word_count - second.word_count) <= 40
    assert second.start < first.end


def test_an_enormous_sentence_is_cut_between_words() -> None:
    giant = " ".join(["word"] * 700) + "."
    doc = extract(giant.encode(), filename="a.txt")
    chunks = chunk_document(doc)
    assert len(chunks) >= 3
    assert all(c.word_count <= ChunkingOptions().max_words for c in chunks)
    assert all(doc.text[c.start : c.end] == c.text for c in chunks)


def test_pdf_chunks_carry_pages() -> None:
    rng = random.Random(5)
    page1 = [sentence(rng) for _ in range(30)]
    page2 = [sentence(rng) for _ in range(30)]
    doc = extract(make_pdf([page1, page2]), filename="p.pdf")
    chunks = chunk_document(doc)
    assert chunks[0].page == 1
    assert chunks[-1].page_end == 2
    for c in chunks:
        assert c.page is not None
        assert c.page_end is not None
        assert c.page <= c.page_end


def test_empty_document_has_no_chunks() -> None:
    assert chunk_document(extract(b"", filename="e.txt")) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("One. Two! Three? Four", ["One.", "Two!", "Three?", "Four"]),
        ("Dr. Smith met Mr. Jones. They talked.", ["Dr. Smith met Mr. Jones.", "They talked."]),
        ("See e.g. the table. Also fig. 3 here.", ["See e.g. the table.", "Also fig. 3 here."]),
        ("J. S. Bach wrote it. Done.", ["J. S. Bach wrote it.", "Done."]),
        ("Pi is 3.14 exactly. Next.", ["Pi is 3.14 exactly.", "Next."]),
        ('He said "Stop." Then left.', ['He said "Stop."', "Then left."]),
        ("line one\nline two", ["line one", "line two"]),
        ("lower. case continues", ["lower. case continues"]),
    ],
)
def test_sentence_spans(text: str, expected: list[str]) -> None:
    assert [text[s:e] for s, e in sentence_spans(text)] == expected
