"""Evaluate retrieval on the bundled evaluation set.

    python -m promptsmith.retrieval.evaluate [--write docs/retrieval-eval.md] [--embedder hashing]

Each course in `evalset/courses/` becomes its own partition (extract -> chunk -> embed ->
index). For every answerable question in `evalset/questions.jsonl` a hit is relevant when
the last element of its heading path is one of the question's expected sections; we report
recall@1/5/8 and MRR@10 for BM25, dense and hybrid search. Unanswerable questions and
cross-course questions (asked against the wrong course) should be refused: the relevance
floor is calibrated on the whole set (balanced accuracy) and also checked by
leave-one-course-out, which calibrates on two courses and tests on the third.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

from promptsmith.retrieval.embeddings import Embedder, HashingEmbedder
from promptsmith.retrieval.machine import describe_machine, today
from promptsmith.retrieval.pipeline import prepare_document
from promptsmith.retrieval.relevance import (
    DEFAULT_MIN_EVIDENCE,
    RelevanceFloor,
    calibrate_threshold,
)
from promptsmith.retrieval.store import EmbeddedStore, Partition, SearchMode, SearchResult

MODES: tuple[SearchMode, ...] = ("bm25", "dense", "hybrid")
KS = (1, 5, 8)
MRR_DEPTH = 10
INSTITUTION = "eval-institution"


@dataclass(frozen=True)
class Question:
    id: str
    course: str
    kind: str  # answerable | unanswerable | cross_course
    question: str
    expected: tuple[str, ...]


@dataclass
class Outcome:
    question: Question
    ranks: dict[str, int | None]  # mode -> 1-based rank of the first relevant hit
    evidence: float  # relevance-floor evidence of the hybrid search
    top_cosine: float = 0.0
    coverage: float = 0.0


def evalset_dir() -> Path:
    return Path(str(resources.files("promptsmith.retrieval") / "evalset"))


def load_questions(path: Path | None = None) -> list[Question]:
    path = path or evalset_dir() / "questions.jsonl"
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            raw = json.loads(line)
            out.append(
                Question(
                    raw["id"], raw["course"], raw["kind"], raw["question"], tuple(raw["expected"])
                )
            )
    return out


def build_store(
    embedder: Embedder, courses_dir: Path | None = None
) -> tuple[EmbeddedStore, dict[str, int]]:
    """Index every course file into its own partition; returns the store and chunk counts."""
    courses_dir = courses_dir or evalset_dir() / "courses"
    store = EmbeddedStore(embedder.dimension)
    counts: dict[str, int] = {}
    for path in sorted(courses_dir.iterdir()):
        if path.name.startswith("."):
            continue
        course = path.stem
        prepared = prepare_document(
            path.read_bytes(), document_id=course, embedder=embedder, filename=path.name
        )
        store.add(Partition(INSTITUTION, course), prepared.records)
        counts[course] = len(prepared.records)
    return store, counts


def _first_relevant(result: SearchResult, expected: Sequence[str]) -> int | None:
    for rank, hit in enumerate(result.hits, start=1):
        path = hit.metadata.get("heading_path") or []
        if path and path[-1] in expected:
            return rank
    return None


def run(embedder: Embedder, floor: RelevanceFloor | None = None) -> dict[str, Any]:
    floor = floor or RelevanceFloor()
    started = time.perf_counter()
    store, counts = build_store(embedder)
    index_seconds = time.perf_counter() - started
    outcomes: list[Outcome] = []
    for q in load_questions():
        partition = Partition(INSTITUTION, q.course)
        vector = embedder.embed_query(q.question)
        ranks: dict[str, int | None] = {}
        evidence, cosine, coverage = 0.0, 0.0, 0.0
        for mode in MODES:
            result = store.search(partition, q.question, vector, k=MRR_DEPTH, mode=mode)
            ranks[mode] = _first_relevant(result, q.expected) if q.expected else None
            if mode == "hybrid":
                evidence = floor.evidence(result)
                cosine, coverage = result.top_cosine or 0.0, result.lexical_coverage
        outcomes.append(Outcome(q, ranks, evidence, cosine, coverage))
    return {
        "embedder": embedder.model_name,
        "chunks": counts,
        "index_seconds": index_seconds,
        "outcomes": outcomes,
        "retrieval": _retrieval_metrics(outcomes),
        "refusal": _refusal_metrics(outcomes, floor),
    }


def _retrieval_metrics(outcomes: list[Outcome]) -> dict[str, dict[str, float]]:
    answerable = [o for o in outcomes if o.question.kind == "answerable"]
    metrics: dict[str, dict[str, float]] = {}
    for mode in MODES:
        ranks = [o.ranks[mode] for o in answerable]
        row = {f"recall@{k}": sum(r is not None and r <= k for r in ranks) / len(ranks) for k in KS}
        row["mrr@10"] = sum(1.0 / r for r in ranks if r is not None) / len(ranks)
        metrics[mode] = row
    return metrics


def _accuracy(outcomes: list[Outcome], threshold: float) -> dict[str, float]:
    def rate(kind: str) -> float:
        group = [o for o in outcomes if o.question.kind == kind]
        if not group:
            return float("nan")
        should_answer = kind == "answerable"
        return sum((o.evidence >= threshold) == should_answer for o in group) / len(group)

    rates = {kind: rate(kind) for kind in ("answerable", "unanswerable", "cross_course")}
    refuse = [o for o in outcomes if o.question.kind != "answerable"]
    rates["refusal_overall"] = sum(o.evidence < threshold for o in refuse) / max(len(refuse), 1)
    rates["balanced"] = (rates["answerable"] + rates["refusal_overall"]) / 2
    return rates


def _refusal_metrics(outcomes: list[Outcome], floor: RelevanceFloor) -> dict[str, Any]:
    def calibrate(group: list[Outcome]) -> float:
        pos = [o.evidence for o in group if o.question.kind == "answerable"]
        neg = [o.evidence for o in group if o.question.kind != "answerable"]
        return calibrate_threshold(pos, neg)

    calibrated = calibrate(outcomes)
    held_out: dict[str, Any] = {}
    for course in sorted({o.question.course for o in outcomes}):
        train = [o for o in outcomes if o.question.course != course]
        test = [o for o in outcomes if o.question.course == course]
        cut = calibrate(train)
        held_out[course] = {"threshold": cut, **_accuracy(test, cut)}
    sweep = []
    for tenth in range(11):
        weight = tenth / 10
        scored = [replace(o, evidence=o.top_cosine + weight * o.coverage) for o in outcomes]
        cut = calibrate(scored)
        sweep.append((weight, cut, _accuracy(scored, cut)["balanced"]))
    return {
        "weight_sweep": sweep,
        "configured_threshold": floor.min_evidence,
        "configured": _accuracy(outcomes, floor.min_evidence),
        "calibrated_threshold": calibrated,
        "calibrated": _accuracy(outcomes, calibrated),
        "leave_one_course_out": held_out,
    }


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def render_markdown(report: dict[str, Any]) -> str:
    outcomes: list[Outcome] = report["outcomes"]
    kinds = {
        k: sum(o.question.kind == k for o in outcomes)
        for k in ("answerable", "unanswerable", "cross_course")
    }
    lines = [
        "# Retrieval evaluation",
        "",
        f"- Date: {today()}",
        f"- Machine: {describe_machine()}",
        "- Command: `python -m promptsmith.retrieval.evaluate --write docs/retrieval-eval.md`",
        f"- Embedder: {report['embedder']}; chunks per course: "
        + ", ".join(f"{c} {n}" for c, n in report["chunks"].items())
        + f" (indexed in {report['index_seconds']:.1f} s)",
        f"- Questions: {len(outcomes)} — {kinds['answerable']} answerable, "
        f"{kinds['unanswerable']} unanswerable, {kinds['cross_course']} cross-course",
        "",
        "## Retrieval (answerable questions)",
        "",
        "A hit is relevant when its section (last heading) is one of the question's "
        "expected sections.",
        "",
        "| retriever | recall@1 | recall@5 | recall@8 | MRR@10 |",
        "|---|---|---|---|---|",
    ]
    for mode, row in report["retrieval"].items():
        cells = [_pct(row[f"recall@{k}"]) for k in KS] + [f"{row['mrr@10']:.3f}"]
        lines.append(f"| {mode} | " + " | ".join(cells) + " |")
    ref = report["refusal"]
    lines += [
        "",
        "## Relevance floor (ragOnly refusals)",
        "",
        "Evidence = best dense cosine in the partition + lexical_weight x lexical coverage "
        "(best BM25 score / score of a perfect match). Below the threshold the assistant "
        "says nothing relevant was found. See `promptsmith/retrieval/relevance.py`.",
        "",
        "| threshold | answers answerable | refuses unanswerable | refuses cross-course "
        "| balanced accuracy |",
        "|---|---|---|---|---|",
    ]
    for label, key, cut in (
        ("configured (`DEFAULT_MIN_EVIDENCE`)", "configured", ref["configured_threshold"]),
        ("calibrated on this set", "calibrated", ref["calibrated_threshold"]),
    ):
        acc = ref[key]
        lines.append(
            f"| {label} = {cut:.3f} | {_pct(acc['answerable'])} | {_pct(acc['unanswerable'])} | "
            f"{_pct(acc['cross_course'])} | {_pct(acc['balanced'])} |"
        )
    lines += ["", "Leave one course out (calibrate on the other two, test on this one):", ""]
    lines += [
        "| held-out course | threshold | answers answerable | refuses the rest |",
        "|---|---|---|---|",
    ]
    for course, acc in ref["leave_one_course_out"].items():
        lines.append(
            f"| {course} | {acc['threshold']:.3f} | {_pct(acc['answerable'])} "
            f"| {_pct(acc['refusal_overall'])} |"
        )
    lines += ["", "Lexical weight sweep (threshold calibrated for each weight, whole set):", ""]
    lines += ["| lexical_weight | threshold | balanced accuracy |", "|---|---|---|"]
    lines += [f"| {w:.1f} | {cut:.3f} | {_pct(acc)} |" for w, cut, acc in ref["weight_sweep"]]
    lines += [
        "",
        "How the floor was calibrated: every question is searched in its partition (cross-course",
        "questions in the wrong course); answerable questions are positives, unanswerable and",
        "cross-course ones negatives. For each lexical weight the threshold maximising balanced",
        "accuracy is found (`relevance.calibrate_threshold`); the defaults in `relevance.py` are",
        "the weight 0.5 (low in the plateau, so dense similarity stays the main signal) and its",
        "threshold, rounded. To recalibrate for your own courses, add",
        "questions to `evalset/questions.jsonl` (or a copy), rerun this command and copy the",
        "calibrated threshold into `RelevanceFloor(min_evidence=...)`. With ~100 questions the",
        "threshold is uncertain by a few hundredths; the leave-one-course-out rows show how it",
        "moves when a course is unseen.",
    ]
    misses = [
        o for o in outcomes if o.question.kind == "answerable" and (o.ranks["hybrid"] or 99) > 8
    ]
    lines += ["", "## Hybrid misses (not in the top 8)", ""]
    lines += [f"- `{o.question.id}` {o.question.question}" for o in misses] or ["- none"]
    lines += ["", "## Evidence per question kind (hybrid)", ""]
    for kind in ("answerable", "unanswerable", "cross_course"):
        values = sorted(o.evidence for o in outcomes if o.question.kind == kind)
        if values:
            mid = values[len(values) // 2]
            lines.append(f"- {kind}: min {values[0]:.3f}, median {mid:.3f}, max {values[-1]:.3f}")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m promptsmith.retrieval.evaluate", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--write", type=Path, help="also write the Markdown report to this file")
    parser.add_argument("--embedder", choices=["minilm", "hashing"], default="minilm")
    parser.add_argument(
        "--data-dir", type=Path, help="where the model cache lives (default: settings)"
    )
    parser.add_argument("--min-evidence", type=float, default=DEFAULT_MIN_EVIDENCE)
    args = parser.parse_args(argv)
    embedder: Embedder
    if args.embedder == "hashing":
        embedder = HashingEmbedder()
    else:
        from promptsmith.retrieval.embeddings import get_embedder
        from promptsmith.settings import Settings

        embedder = get_embedder(args.data_dir or Settings().data_dir)
    report = run(embedder, RelevanceFloor(min_evidence=args.min_evidence))
    text = render_markdown(report)
    sys.stdout.write(text)
    if args.write:
        args.write.parent.mkdir(parents=True, exist_ok=True)
        args.write.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
