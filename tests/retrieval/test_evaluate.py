from __future__ import annotations

from pathlib import Path

from promptsmith.retrieval import evaluate
from promptsmith.retrieval.embeddings import MiniLMEmbedder
from promptsmith.retrieval.relevance import RelevanceFloor


def test_evalset_is_installed_and_well_formed() -> None:
    questions = evaluate.load_questions()
    courses = {p.stem for p in (evaluate.evalset_dir() / "courses").iterdir()}
    assert len(courses) == 3
    assert len(questions) >= 60
    kinds = {q.kind for q in questions}
    assert kinds == {"answerable", "unanswerable", "cross_course"}
    assert {q.course for q in questions} == courses
    for q in questions:
        assert bool(q.expected) == (q.kind == "answerable"), q.id
    assert len({q.id for q in questions}) == len(questions)


def test_every_expected_section_exists() -> None:
    from promptsmith.retrieval.extract import extract

    headings: dict[str, set[str]] = {}
    for path in (evaluate.evalset_dir() / "courses").iterdir():
        doc = extract(path.read_bytes(), filename=path.name)
        headings[path.stem] = {b.text for b in doc.blocks if b.kind == "heading"}
    for q in evaluate.load_questions():
        for section in q.expected:
            assert section in headings[q.course], (q.id, section)


def test_command_writes_a_report_with_the_hashing_embedder(tmp_path: Path) -> None:
    out = tmp_path / "eval.md"
    assert evaluate.main(["--embedder", "hashing", "--write", str(out)]) == 0
    text = out.read_text()
    for needle in ("| bm25 |", "| dense |", "| hybrid |", "recall@8", "Relevance floor", "Machine"):
        assert needle in text


def test_real_model_quality_has_not_regressed(minilm: MiniLMEmbedder) -> None:
    """A quality guard, not a speed test: the numbers in docs/retrieval-eval.md, with slack."""
    report = evaluate.run(minilm, RelevanceFloor())
    hybrid = report["retrieval"]["hybrid"]
    assert hybrid["recall@8"] >= 0.95
    assert hybrid["mrr@10"] >= 0.85
    assert report["refusal"]["configured"]["balanced"] >= 0.9
    assert report["refusal"]["configured"]["cross_course"] == 1.0
