"""Retrieval quality and the relevance floor on PostgreSQL beside the embedded store: one
command, results into docs/benchmarks.md ("## PostgreSQL retrieval quality").

    .venv/bin/python bench/pg_retrieval_eval.py [--embedder minilm|hashing] [--no-write]

The bundled evaluation set (promptsmith.retrieval.evaluate: 3 courses, answerable,
unanswerable and cross-course questions) is indexed into both backends with the same chunks
and vectors; every question is asked of both. Reported per backend: recall@1/5/8 and MRR@10
per mode, and the `RelevanceFloor` (calibrated on the embedded store) at its configured
threshold, plus the threshold a PostgreSQL deployment would calibrate to.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
from pathlib import Path
from typing import Any

from promptsmith.retrieval.embeddings import Embedder, HashingEmbedder
from promptsmith.retrieval.evaluate import (
    INSTITUTION,
    MODES,
    Outcome,
    _first_relevant,
    _refusal_metrics,
    _retrieval_metrics,
    evalset_dir,
    load_questions,
)
from promptsmith.retrieval.machine import describe_machine, today
from promptsmith.retrieval.pipeline import prepare_document
from promptsmith.retrieval.postgres import PostgresRetriever
from promptsmith.retrieval.relevance import RelevanceFloor
from promptsmith.retrieval.retriever import EmbeddedRetriever, Retriever
from promptsmith.retrieval.store import EmbeddedStore, Partition
from promptsmith.storage.db import create_engine, upgrade
from promptsmith.testing_pg import PostgresServer, start_pgserver

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "docs" / "benchmarks.md"
TITLE = "## PostgreSQL retrieval quality"


async def index(embedder: Embedder, retrievers: list[Retriever]) -> None:
    for path in sorted((evalset_dir() / "courses").iterdir()):
        if path.name.startswith("."):
            continue
        prepared = prepare_document(
            path.read_bytes(), document_id=path.stem, embedder=embedder, filename=path.name
        )
        for retriever in retrievers:
            await retriever.add(Partition(INSTITUTION, path.stem), prepared.records)


async def outcomes_of(
    retriever: Retriever, embedder: Embedder, floor: RelevanceFloor
) -> list[Outcome]:
    out = []
    for q in load_questions():
        partition = Partition(INSTITUTION, q.course)
        vector = embedder.embed_query(q.question)
        ranks: dict[str, int | None] = {}
        evidence, cosine, coverage = 0.0, 0.0, 0.0
        for mode in MODES:
            result = await retriever.search(partition, q.question, vector, k=10, mode=mode)
            ranks[mode] = _first_relevant(result, q.expected) if q.expected else None
            if mode == "hybrid":
                evidence = floor.evidence(result)
                cosine, coverage = result.top_cosine or 0.0, result.lexical_coverage
        out.append(Outcome(q, ranks, evidence, cosine, coverage))
    return out


def pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def render(embedder: Embedder, reports: dict[str, dict[str, Any]], floor: RelevanceFloor) -> str:
    lines = [
        TITLE,
        "",
        f"`.venv/bin/python bench/pg_retrieval_eval.py`, run {today()}: {describe_machine()}; "
        f"embedder {embedder.model_name}. The evaluation set of docs/retrieval-eval.md, "
        "indexed into both backends (same chunks, same vectors).",
        "",
        "| backend | mode | recall@1 | recall@5 | recall@8 | MRR@10 |",
        "|---|---|---|---|---|---|",
    ]
    for backend, report in reports.items():
        for mode in ("bm25", "dense", "hybrid"):
            row = report["retrieval"][mode]
            lines.append(
                f"| {backend} | {mode} | {pct(row['recall@1'])} | {pct(row['recall@5'])} | "
                f"{pct(row['recall@8'])} | {row['mrr@10']:.3f} |"
            )
    lines += [
        "",
        f"Relevance floor (`evidence = top_cosine + {floor.lexical_weight} x lexical_coverage`): "
        f"accuracy at the configured threshold {floor.min_evidence} (calibrated on the embedded "
        "store), and the threshold each backend's own calibration picks.",
        "",
        "| backend | answered (answerable) | refused (unanswerable) | refused (cross-course) "
        "| balanced | own calibrated threshold | balanced there |",
        "|---|---|---|---|---|---|---|",
    ]
    for backend, report in reports.items():
        conf, cal = report["refusal"]["configured"], report["refusal"]["calibrated"]
        lines.append(
            f"| {backend} | {pct(conf['answerable'])} | {pct(conf['unanswerable'])} | "
            f"{pct(conf['cross_course'])} | {pct(conf['balanced'])} | "
            f"{report['refusal']['calibrated_threshold']:.3f} | {pct(cal['balanced'])} |"
        )
    lines.append("")
    return "\n".join(lines)


def write_section(section: str) -> None:
    body = REPORT.read_text()
    pattern = re.compile(rf"^{re.escape(TITLE)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(body):
        body = pattern.sub(lambda _: section, body)
    else:
        body = body.rstrip("\n") + "\n\n" + section
    REPORT.write_text(body)


async def run(embedder: Embedder, server: PostgresServer) -> dict[str, dict[str, Any]]:
    floor = RelevanceFloor()
    url = server.create_database("evalpg")
    engine = create_engine(url)
    try:
        await asyncio.to_thread(upgrade, url)
        backends: dict[str, Retriever] = {
            "embedded": EmbeddedRetriever(EmbeddedStore(embedder.dimension)),
            "postgres": PostgresRetriever(engine, embedder.dimension),
        }
        await index(embedder, list(backends.values()))
        reports = {}
        for name, retriever in backends.items():
            outcomes = await outcomes_of(retriever, embedder, floor)
            reports[name] = {
                "retrieval": _retrieval_metrics(outcomes),
                "refusal": _refusal_metrics(outcomes, floor),
            }
        return reports
    finally:
        await engine.dispose()
        server.drop_database(url)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--embedder", choices=["minilm", "hashing"], default="minilm")
    parser.add_argument("--data-dir", type=Path, default=ROOT / "var")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    embedder: Embedder
    if args.embedder == "hashing":
        embedder = HashingEmbedder()
    else:
        from promptsmith.retrieval.embeddings import get_embedder

        embedder = get_embedder(args.data_dir)
    external = os.environ.get("PROMPTSMITH_TEST_DATABASE_URL")
    server = PostgresServer(external) if external else start_pgserver()
    try:
        reports = asyncio.run(run(embedder, server))
    finally:
        if not external:
            server.stop()  # type: ignore[attr-defined]
    section = render(embedder, reports, RelevanceFloor())
    print(section)
    if not args.no_write:
        write_section(section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
