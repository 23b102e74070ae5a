"""What only the PostgreSQL retriever has: its migration, HNSW iterative scans, the factory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import event, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from promptsmith.retrieval import pg_sql
from promptsmith.retrieval.errors import RetrievalError
from promptsmith.retrieval.factory import build_retriever, use_postgres_retriever
from promptsmith.retrieval.postgres import PostgresRetriever, vector_literal
from promptsmith.retrieval.retriever import EmbeddedRetriever
from promptsmith.retrieval.store import ChunkRecord, EmbeddedStore, Partition
from promptsmith.settings import Settings
from promptsmith.storage.db import create_engine, upgrade

DIM = 384
BIG = Partition("inst-1", "big")
SMALL = Partition("inst-1", "small")


@pytest.fixture
async def pg_engine(postgres_url: str) -> AsyncIterator[AsyncEngine]:
    await asyncio.to_thread(upgrade, postgres_url)
    engine = create_engine(postgres_url)
    try:
        yield engine
    finally:
        await engine.dispose()


def unit_vectors(rng: np.random.Generator, n: int) -> np.ndarray:
    vectors = rng.standard_normal((n, DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def records(prefix: str, vectors: np.ndarray) -> list[ChunkRecord]:
    return [ChunkRecord(f"{prefix}{i}", "doc", f"chunk {i}", v) for i, v in enumerate(vectors)]


async def dense_plan_and_rows(
    retriever: PostgresRetriever, query: np.ndarray, iterative: bool
) -> tuple[str, list[tuple[str, float]]]:
    """The dense query on SMALL with the sort-based plan ruled out, so HNSW is used."""
    keys = {"inst": SMALL.institution_id, "course": SMALL.course_id}
    async with retriever.engine.begin() as connection:
        await connection.execute(text("SET LOCAL enable_sort = off"))
        await retriever.search_settings(connection, SMALL)
        if iterative:
            rows = await retriever._dense(connection, keys, vector_literal(query))
        else:
            await connection.execute(text("SET LOCAL hnsw.iterative_scan = off"))
            params = {**keys, "vector": vector_literal(query), "limit": 50}
            result = await connection.execute(pg_sql.DENSE, params)
            rows = [(str(r.chunk_id), float(r.cosine)) for r in result]
        plan = await connection.execute(
            text(
                "EXPLAIN SELECT chunk_id FROM retrieval_chunks "
                "WHERE institution_id = :inst AND course_id = :course "
                "ORDER BY embedding <=> CAST(:v AS vector) LIMIT 50"
            ),
            {**keys, "v": vector_literal(query)},
        )
        return "\n".join(str(r[0]) for r in plan), rows


@pytest.mark.postgres
async def test_filtered_hnsw_scan_keeps_going_until_the_course_has_enough_rows(
    pg_engine: AsyncEngine,
) -> None:
    """A course that is ~4% of the table: a plain HNSW scan (ef_search 100) sees only a few
    of its rows; the iterative scan returns the full 50, close to the exact top 50."""
    rng = np.random.default_rng(7)
    retriever = PostgresRetriever(pg_engine, DIM, ef_search=100)
    small = unit_vectors(rng, 120)
    await retriever.add(BIG, records("b", unit_vectors(rng, 3000)))
    await retriever.add(SMALL, records("s", small))
    async with pg_engine.begin() as connection:
        await connection.execute(text("ANALYZE retrieval_chunks"))
    query = small[0] + 0.5 * unit_vectors(rng, 1)[0]
    query /= np.linalg.norm(query)

    plan, rows = await dense_plan_and_rows(retriever, query, iterative=True)
    assert "ix_retrieval_chunks_embedding" in plan
    assert len(rows) == 50
    assert all(chunk_id.startswith("s") for chunk_id, _ in rows)
    exact = {f"s{i}" for i in np.argsort(-(small @ query))[:50]}
    assert len(exact & {chunk_id for chunk_id, _ in rows}) >= 45
    assert [c for _, c in rows] == sorted((c for _, c in rows), reverse=True)

    _, plain = await dense_plan_and_rows(retriever, query, iterative=False)
    assert len(plain) < 50  # what the iterative scan is for


@pytest.mark.postgres
async def test_the_table_dimension_must_match_the_embedder(pg_engine: AsyncEngine) -> None:
    retriever = PostgresRetriever(pg_engine, 8)
    with pytest.raises(RetrievalError, match="vector\\(384\\)"):
        await retriever.add(SMALL, [ChunkRecord("c", "d", "t", np.ones(8, np.float32))])


@pytest.mark.postgres
async def test_indexes_of_the_retrieval_table(pg_engine: AsyncEngine) -> None:
    async with pg_engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT indexdef FROM pg_indexes WHERE tablename = 'retrieval_chunks'")
        )
        definitions = "\n".join(r[0] for r in rows)
    assert "USING hnsw (embedding vector_cosine_ops)" in definitions
    assert "USING gin (tsv)" in definitions
    assert "(institution_id, course_id, chunk_id)" in definitions
    assert "(institution_id, course_id, document_id)" in definitions


async def test_sqlite_gets_no_retrieval_table(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    await asyncio.to_thread(upgrade, url)
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda c: inspect(c).get_table_names())
    finally:
        await engine.dispose()
    assert "retrieval_chunks" not in tables


def settings(backend: str) -> Settings:
    return Settings(_env_file=None, retrieval_backend=backend)  # type: ignore[arg-type]


async def test_factory_picks_the_embedded_store_on_sqlite(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    try:
        assert isinstance(build_retriever(settings("auto"), engine, DIM), EmbeddedRetriever)
        assert isinstance(build_retriever(settings("auto"), None, DIM), EmbeddedRetriever)
        with pytest.raises(RetrievalError, match="postgresql"):
            build_retriever(settings("postgres"), engine, DIM)
        assert not use_postgres_retriever(settings("auto"), engine)
        assert not use_postgres_retriever(settings("embedded"), None)
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_factory_picks_postgres_on_postgres(pg_engine: AsyncEngine) -> None:
    loaded: list[Partition] = []

    def loader(partition: Partition) -> list[ChunkRecord]:
        loaded.append(partition)
        return []

    auto = build_retriever(settings("auto"), pg_engine, DIM, loader=loader)
    assert isinstance(auto, PostgresRetriever)
    assert use_postgres_retriever(settings("auto"), pg_engine)
    assert not use_postgres_retriever(settings("embedded"), pg_engine)
    assert isinstance(build_retriever(settings("postgres"), pg_engine, DIM), PostgresRetriever)
    embedded = build_retriever(settings("embedded"), pg_engine, DIM, loader=loader)
    assert isinstance(embedded, EmbeddedRetriever)
    assert await embedded.count(SMALL) == 0
    assert loaded == [SMALL]
    await auto.aclose()  # does not dispose an engine it was given
    async with pg_engine.connect() as connection:
        assert await connection.scalar(text("SELECT 1")) == 1


@pytest.mark.postgres
async def test_bm25_scores_equal_the_embedded_store_when_tokens_agree(
    pg_engine: AsyncEngine,
) -> None:
    """Words that neither tokenizer changes: both backends compute the same BM25."""
    texts = [
        "zebra quokka quokka",
        "zebra walrus",
        "quokka walrus walrus walrus okapi",
        "okapi",
        "zebra zebra zebra quokka okapi walrus narwhal",
    ]
    rng = np.random.default_rng(3)
    chunks = [
        ChunkRecord(f"c{i}", "doc", body, v)
        for i, (body, v) in enumerate(zip(texts, unit_vectors(rng, len(texts)), strict=True))
    ]
    postgres = PostgresRetriever(pg_engine, DIM)
    embedded = EmbeddedStore(DIM)
    await postgres.add(SMALL, chunks)
    embedded.add(SMALL, chunks)
    for query in ("zebra quokka", "walrus okapi narwhal", "quokka quokka unicorn"):
        pg = await postgres.search(SMALL, query, None, k=8, mode="bm25")
        em = embedded.search(SMALL, query, None, k=8, mode="bm25")
        assert [(h.chunk_id, h.score) for h in pg.hits] == [
            (h.chunk_id, pytest.approx(h.score, rel=1e-5)) for h in em.hits
        ]
        assert pg.lexical_coverage == pytest.approx(em.lexical_coverage, rel=1e-5)


async def statistics(engine: AsyncEngine) -> tuple[set[tuple[str, ...]], set[tuple[str, ...]]]:
    async with engine.connect() as connection:
        terms = await connection.execute(
            text("SELECT institution_id, course_id, lexeme, df FROM retrieval_terms WHERE df > 0")
        )
        totals = await connection.execute(text("SELECT * FROM retrieval_partitions WHERE n > 0"))
        return {tuple(map(str, r)) for r in terms}, {tuple(map(str, r)) for r in totals}


@pytest.mark.postgres
async def test_bm25_statistics_follow_every_write(pg_engine: AsyncEngine) -> None:
    rng = np.random.default_rng(5)
    retriever = PostgresRetriever(pg_engine, DIM)

    def chunk(chunk_id: str, document: str, body: str) -> ChunkRecord:
        return ChunkRecord(chunk_id, document, body, unit_vectors(rng, 1)[0])

    await retriever.add(SMALL, [chunk("a", "d1", "zebra quokka"), chunk("b", "d1", "zebra")])
    await retriever.add(BIG, [chunk("a", "d1", "okapi okapi zebra")])
    await retriever.add(SMALL, [chunk("a", "d2", "walrus"), chunk("c", "d2", "okapi zebra")])
    assert await retriever.delete_document(SMALL, "d1") == 1  # only "b" is still in d1
    before = await statistics(pg_engine)
    await retriever.rebuild_statistics()
    assert await statistics(pg_engine) == before
    assert ("inst-1", "small", "zebra", "1") in before[0]
    assert ("inst-1", "small", "2", "3") in before[1]  # "walrus", "okapi zebra"
    await retriever.delete_partition(SMALL)
    terms, totals = await statistics(pg_engine)
    assert {t[1] for t in terms} == {t[1] for t in totals} == {"big"}


@pytest.mark.postgres
async def test_bm25_skips_chunks_that_only_have_common_words_and_stays_exact(
    pg_engine: AsyncEngine,
) -> None:
    """MaxScore stops early; the top 50 is still exactly the embedded store's."""
    rng = np.random.default_rng(11)
    bodies = []
    for i in range(400):
        words = ["zebra"] * (1 + i % 4) + ["walrus"] * (i % 3) + ["okapi"] * (i // 7)
        if i % 7 == 0:
            words += ["quokka"]
        if i % 90 == 0:
            words += ["narwhal", "narwhal"]
        bodies.append(" ".join(words))
    vectors = unit_vectors(rng, len(bodies))
    chunks = [
        ChunkRecord(f"c{i:03d}", "doc", body, v)
        for i, (body, v) in enumerate(zip(bodies, vectors, strict=True))
    ]
    retriever = PostgresRetriever(pg_engine, DIM)
    embedded = EmbeddedStore(DIM)
    await retriever.add(SMALL, chunks)
    embedded.add(SMALL, chunks)
    statements: list[str] = []

    def record_statement(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(pg_engine.sync_engine, "before_cursor_execute", record_statement)
    try:
        query = "narwhal quokka zebra walrus"
        pg = await retriever.search(SMALL, query, None, k=50, mode="bm25")
    finally:
        event.remove(pg_engine.sync_engine, "before_cursor_execute", record_statement)
    em = embedded.search(SMALL, query, None, k=50, mode="bm25")
    assert [(h.chunk_id, h.score) for h in pg.hits] == [
        (h.chunk_id, pytest.approx(h.score, rel=1e-5)) for h in em.hits
    ]
    assert pg.lexical_coverage == pytest.approx(em.lexical_coverage, rel=1e-5)
    # One scoring pass over the chunks with narwhal, quokka or walrus; none over "zebra".
    assert sum("ts_filter" in s for s in statements) == 1


@pytest.mark.postgres
async def test_concurrent_writes_to_one_course_keep_the_statistics_exact(
    pg_engine: AsyncEngine,
) -> None:
    rng = np.random.default_rng(9)
    retriever = PostgresRetriever(pg_engine, DIM)

    def batch(prefix: str, document: str) -> list[ChunkRecord]:
        bodies = [f"zebra quokka {prefix} chunk{i} walrus" for i in range(30)]
        vectors = unit_vectors(rng, len(bodies))
        return [
            ChunkRecord(f"{prefix}{i}", document, body, v)
            for i, (body, v) in enumerate(zip(bodies, vectors, strict=True))
        ]

    writes = [retriever.add(SMALL, batch(p, f"doc-{p}")) for p in ("a", "b", "c", "d")]
    await asyncio.gather(*writes, retriever.add(SMALL, batch("a", "doc-a2")))
    await asyncio.gather(
        retriever.delete_document(SMALL, "doc-b"), retriever.add(SMALL, batch("e", "doc-e"))
    )
    before = await statistics(pg_engine)
    await retriever.rebuild_statistics(SMALL)
    assert await statistics(pg_engine) == before
    assert await retriever.count(SMALL) == 120  # a (replaced), c, d, e
