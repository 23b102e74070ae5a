"""The async Retriever contract: the same cases against every backend.

`retriever` runs each test twice: `[embedded]` (EmbeddedRetriever over EmbeddedStore) and
`[postgres]` (PostgresRetriever on a fresh, migrated PostgreSQL + pgvector database).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import pytest

from promptsmith.retrieval.embeddings import HashingEmbedder
from promptsmith.retrieval.errors import PartitionError
from promptsmith.retrieval.postgres import PostgresRetriever
from promptsmith.retrieval.retriever import EmbeddedRetriever, Retriever
from promptsmith.retrieval.store import ChunkRecord, EmbeddedStore, Partition, SearchMode
from promptsmith.storage.db import create_engine, upgrade

EMBEDDER = HashingEmbedder()
MODES: tuple[SearchMode, ...] = ("hybrid", "bm25", "dense")
COURSE = Partition("inst-1", "stats")
OTHER_COURSE = Partition("inst-1", "biology")
OTHER_INSTITUTION = Partition("inst-2", "stats")  # same course id, another tenant
EMPTY = Partition("inst-1", "empty")


def record(
    chunk_id: str, document_id: str, text: str, metadata: dict[str, Any] | None = None
) -> ChunkRecord:
    vector = EMBEDDER.embed_documents([text])[0]
    return ChunkRecord(chunk_id, document_id, text, vector, metadata=metadata or {})


async def search(retriever: Retriever, partition: Partition, query: str, mode: SearchMode):
    return await retriever.search(partition, query, EMBEDDER.embed_query(query), k=8, mode=mode)


@pytest.fixture(params=["embedded", pytest.param("postgres", marks=pytest.mark.postgres)])
async def retriever(request: pytest.FixtureRequest) -> AsyncIterator[Retriever]:
    built: Retriever
    if request.param == "embedded":
        built = EmbeddedRetriever(EmbeddedStore(EMBEDDER.dimension))
    else:
        url: str = request.getfixturevalue("postgres_url")
        await asyncio.to_thread(upgrade, url)
        built = PostgresRetriever(create_engine(url), EMBEDDER.dimension, dispose_engine=True)
    try:
        yield built
    finally:
        await built.aclose()


STATS = [
    record("s1", "lecture-1", "The median is the middle value of sorted data."),
    record("s2", "lecture-1", "The standard deviation measures spread around the mean."),
    record("s3", "lecture-2", "A p-value is computed assuming the null hypothesis is true."),
    record("s4", "lecture-2", "Outliers pull the mean but the median resists outliers."),
]
SECRET = "Mitochondria are the powerhouse of the cell and make ATP."


async def test_is_a_retriever(retriever: Retriever) -> None:
    assert isinstance(retriever, Retriever)


async def test_add_search_count_and_delete_document(retriever: Retriever) -> None:
    await retriever.add(COURSE, STATS)
    assert await retriever.count(COURSE) == 4
    result = await search(retriever, COURSE, "median outliers", "hybrid")
    assert result.hits[0].chunk_id == "s4"
    assert {"s1", "s4"} <= {hit.chunk_id for hit in result.hits}
    assert await retriever.delete_document(COURSE, "lecture-2") == 2
    assert await retriever.delete_document(COURSE, "lecture-2") == 0
    assert await retriever.count(COURSE) == 2
    result = await search(retriever, COURSE, "median outliers", "hybrid")
    assert {hit.chunk_id for hit in result.hits} <= {"s1", "s2"}
    assert result.hits[0].chunk_id == "s1"


async def test_add_replaces_a_chunk_with_the_same_id(retriever: Retriever) -> None:
    await retriever.add(COURSE, [record("c1", "old-doc", "bayesian priors and posteriors")])
    await retriever.add(COURSE, [record("c1", "new-doc", "regression coefficients", {"page": 3})])
    assert await retriever.count(COURSE) == 1
    stale = await search(retriever, COURSE, "bayesian priors posteriors", "bm25")
    assert stale.hits == []
    fresh = await search(retriever, COURSE, "regression coefficients", "hybrid")
    assert [(h.chunk_id, h.document_id, h.metadata["page"]) for h in fresh.hits] == [
        ("c1", "new-doc", 3)
    ]
    assert await retriever.delete_document(COURSE, "old-doc") == 0
    assert await retriever.delete_document(COURSE, "new-doc") == 1


async def test_hybrid_fuses_both_lists_best_first(retriever: Retriever) -> None:
    await retriever.add(COURSE, STATS)
    result = await search(retriever, COURSE, "the median resists outliers", "hybrid")
    top = result.hits[0]
    assert top.chunk_id == "s4"
    assert top.retrievers == frozenset({"bm25", "dense"})
    assert top.lexical_rank == 1
    assert top.dense_rank == 1
    assert top.score == pytest.approx(2 / 61)
    scores = [hit.score for hit in result.hits]
    assert scores == sorted(scores, reverse=True)
    assert result.top_cosine == pytest.approx(top.cosine)
    assert result.top_lexical == pytest.approx(top.lexical_score)
    assert 0.0 < result.lexical_coverage <= 1.0


async def test_modes_score_with_their_own_retriever(retriever: Retriever) -> None:
    await retriever.add(COURSE, STATS)
    bm25 = await search(retriever, COURSE, "null hypothesis", "bm25")
    assert [hit.chunk_id for hit in bm25.hits] == ["s3"]
    assert bm25.hits[0].score == pytest.approx(bm25.hits[0].lexical_score)
    assert bm25.hits[0].cosine is not None
    dense = await search(retriever, COURSE, "null hypothesis", "dense")
    assert len(dense.hits) == 4  # every chunk has a cosine
    assert dense.hits[0].chunk_id == "s3"
    assert dense.hits[0].score == pytest.approx(dense.hits[0].cosine)
    assert dense.top_lexical is None
    cosines = [hit.cosine for hit in dense.hits]
    assert cosines == sorted(cosines, reverse=True)


async def test_coverage_drops_for_words_the_course_never_uses(retriever: Retriever) -> None:
    await retriever.add(COURSE, STATS)
    covered = await search(retriever, COURSE, "standard deviation", "hybrid")
    half = await search(retriever, COURSE, "standard deviation kaplan meier", "hybrid")
    # A single occurrence of every query term: tf saturation caps it at 1 / (k1 + 1).
    assert covered.lexical_coverage == pytest.approx(1 / 2.2, abs=0.1)
    assert 0.0 < half.lexical_coverage < covered.lexical_coverage / 2


@pytest.mark.parametrize("mode", MODES)
async def test_other_tenants_never_come_back_even_for_an_exact_match(
    retriever: Retriever, mode: SearchMode
) -> None:
    await retriever.add(COURSE, STATS)
    await retriever.add(OTHER_COURSE, [record("b1", "bio", SECRET)])
    await retriever.add(OTHER_INSTITUTION, [record("x1", "bio", SECRET)])
    result = await search(retriever, COURSE, SECRET, mode)
    assert {hit.chunk_id for hit in result.hits} <= {"s1", "s2", "s3", "s4"}
    other = await search(retriever, OTHER_INSTITUTION, SECRET, mode)
    assert [hit.chunk_id for hit in other.hits] == ["x1"]
    assert (await search(retriever, EMPTY, SECRET, mode)).hits == []


async def test_deletes_stay_inside_their_partition(retriever: Retriever) -> None:
    await retriever.add(COURSE, [record("x1", "shared-doc-id", SECRET)])
    await retriever.add(OTHER_INSTITUTION, [record("x1", "shared-doc-id", SECRET)])
    await retriever.add(OTHER_COURSE, [record("x1", "shared-doc-id", SECRET)])
    assert await retriever.delete_document(COURSE, "shared-doc-id") == 1
    await retriever.delete_partition(OTHER_COURSE)
    assert await retriever.count(COURSE) == 0
    assert await retriever.count(OTHER_COURSE) == 0
    assert await retriever.count(OTHER_INSTITUTION) == 1
    result = await search(retriever, OTHER_INSTITUTION, SECRET, "hybrid")
    assert [hit.chunk_id for hit in result.hits] == ["x1"]


@pytest.mark.parametrize("mode", MODES)
async def test_an_empty_partition_finds_nothing(retriever: Retriever, mode: SearchMode) -> None:
    assert await retriever.count(EMPTY) == 0
    result = await search(retriever, EMPTY, "anything at all", mode)
    assert result.hits == []
    assert result.top_cosine is None
    assert result.top_lexical is None
    assert result.lexical_coverage == 0.0
    assert result.mode == mode
    assert await retriever.delete_document(EMPTY, "nothing") == 0
    await retriever.delete_partition(EMPTY)


async def test_queries_without_words_or_vector(retriever: Retriever) -> None:
    await retriever.add(COURSE, STATS)
    result = await retriever.search(COURSE, "?!", None, k=8)
    assert result.hits == []
    assert result.top_cosine is None
    # Operators of PostgreSQL's query syntax are plain text here.
    quoted = await retriever.search(COURSE, "'median' & !(outliers) | \\ :*", None, mode="bm25")
    assert quoted.hits[0].chunk_id == "s4"


async def test_unicode_text_and_metadata_round_trip(retriever: Retriever) -> None:
    text = "Ελληνικά: η διάμεσος — café naïve, 数学と統計, emoji 📊 and a NUL\x00byte"
    metadata = {"heading_path": ["Chapitre 2 — Statistique", "Σ"], "page": None}
    await retriever.add(COURSE, [record("u1", "doc-ü", text, metadata)])
    for query in ("διάμεσος", "café", "数学と統計"):
        result = await search(retriever, COURSE, query, "bm25")
        assert [hit.chunk_id for hit in result.hits] == ["u1"], query
    hit = (await search(retriever, COURSE, "café naïve", "hybrid")).hits[0]
    assert hit.document_id == "doc-ü"
    assert hit.text.startswith("Ελληνικά: η διάμεσος — café naïve, 数学と統計, emoji 📊")
    assert dict(hit.metadata) == metadata


async def test_bad_input_is_refused_before_anything_is_written(retriever: Retriever) -> None:
    with pytest.raises(PartitionError):
        await retriever.add(COURSE, [STATS[0], STATS[0]])
    wrong = ChunkRecord("w1", "d", "text", np.ones(EMBEDDER.dimension + 1, np.float32))
    with pytest.raises(PartitionError):
        await retriever.add(COURSE, [STATS[1], wrong])
    with pytest.raises(PartitionError):
        await retriever.count(("inst-1", "stats"))  # type: ignore[arg-type]
    assert await retriever.count(COURSE) == 0
    await retriever.add(COURSE, STATS)
    with pytest.raises(PartitionError):
        await retriever.search(COURSE, "median", np.ones(3, np.float32))
