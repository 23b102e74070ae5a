from __future__ import annotations

import threading

import numpy as np
import pytest

from promptsmith.retrieval.embeddings import HashingEmbedder
from promptsmith.retrieval.errors import PartitionError
from promptsmith.retrieval.pipeline import prepare_document
from promptsmith.retrieval.store import (
    ChunkRecord,
    ChunkStore,
    EmbeddedStore,
    Partition,
    SearchMode,
)

EMBEDDER = HashingEmbedder()
MODES: tuple[SearchMode, ...] = ("hybrid", "bm25", "dense")

COURSE_A = Partition("inst-1", "stats")
COURSE_B = Partition("inst-1", "biology")
OTHER_INSTITUTION = Partition("inst-2", "stats")  # same course id, different tenant


def record(chunk_id: str, document_id: str, text: str) -> ChunkRecord:
    return ChunkRecord(chunk_id, document_id, text, EMBEDDER.embed_documents([text])[0])


def search(store: EmbeddedStore, partition: Partition, query: str, mode: SearchMode = "hybrid"):
    return store.search(partition, query, EMBEDDER.embed_query(query), k=8, mode=mode)


@pytest.fixture
def store() -> EmbeddedStore:
    store = EmbeddedStore(EMBEDDER.dimension)
    store.add(
        COURSE_A,
        [
            record("a1", "docA", "The median is the middle value of sorted data."),
            record("a2", "docA", "The standard deviation measures spread around the mean."),
            record("a3", "docA2", "A p-value is computed assuming the null hypothesis."),
        ],
    )
    secret = "Mitochondria are the powerhouse of the cell and make ATP."
    store.add(COURSE_B, [record("b1", "docB", secret)])
    store.add(OTHER_INSTITUTION, [record("x1", "docX", secret), record("x2", "docX", "median")])
    return store


def test_embedded_store_implements_the_protocol(store: EmbeddedStore) -> None:
    def accepts(s: ChunkStore) -> ChunkStore:
        return s

    assert accepts(store) is store


@pytest.mark.parametrize("mode", MODES)
def test_other_partitions_never_appear_even_for_an_exact_match(
    store: EmbeddedStore, mode: SearchMode
) -> None:
    query = "Mitochondria are the powerhouse of the cell and make ATP."
    result = search(store, COURSE_A, query, mode)
    ids = {h.chunk_id for h in result.hits}
    assert ids <= {"a1", "a2", "a3"}
    assert "b1" not in ids
    assert "x1" not in ids
    # ... while the owning partitions do find it.
    assert search(store, COURSE_B, query, mode).hits[0].chunk_id == "b1"
    assert search(store, OTHER_INSTITUTION, query, mode).hits[0].chunk_id == "x1"


def test_same_course_id_in_another_institution_is_separate(store: EmbeddedStore) -> None:
    hits = search(store, OTHER_INSTITUTION, "median middle value").hits
    assert {h.chunk_id for h in hits} <= {"x1", "x2"}
    assert store.count(COURSE_A) == 3
    assert store.count(OTHER_INSTITUTION) == 2
    assert store.count(Partition("inst-3", "stats")) == 0


def test_hybrid_hits_carry_scores_and_retrievers(store: EmbeddedStore) -> None:
    result = search(store, COURSE_A, "what is the median value")
    top = result.hits[0]
    assert top.chunk_id == "a1"
    assert top.document_id == "docA"
    assert top.retrievers == frozenset({"bm25", "dense"})
    assert top.lexical_rank == 1
    assert top.dense_rank == 1
    assert top.score == pytest.approx(2 / 61)
    assert top.cosine == pytest.approx(result.top_cosine)
    assert 0 < result.lexical_coverage <= 1
    assert all(h.cosine is not None for h in result.hits)


def test_delete_document_removes_all_its_chunks(store: EmbeddedStore) -> None:
    assert store.delete_document(COURSE_A, "docA") == 2
    assert store.delete_document(COURSE_A, "docA") == 0
    assert store.document_ids(COURSE_A) == {"docA2"}
    for mode in MODES:
        ids = {h.chunk_id for h in search(store, COURSE_A, "median middle value", mode).hits}
        assert ids <= {"a3"}
    # Deleting in one partition leaves a same-named document elsewhere alone.
    assert store.delete_document(COURSE_B, "docA") == 0
    assert store.count(COURSE_B) == 1


def test_add_replaces_by_chunk_id(store: EmbeddedStore) -> None:
    store.add(COURSE_A, [record("a1", "docA", "Completely different words about volcanoes.")])
    assert store.count(COURSE_A) == 3
    assert search(store, COURSE_A, "volcanoes").hits[0].chunk_id == "a1"
    assert all(h.chunk_id != "a1" for h in search(store, COURSE_A, "median", "bm25").hits)


def test_loader_is_called_lazily_once_per_partition() -> None:
    calls: list[Partition] = []

    def loader(partition: Partition) -> list[ChunkRecord]:
        calls.append(partition)
        return [record(f"{partition.course_id}-1", "doc", f"{partition.course_id} loaded text")]

    store = EmbeddedStore(EMBEDDER.dimension, loader=loader, load_batch=1)
    assert calls == []
    assert search(store, COURSE_A, "stats loaded").hits[0].chunk_id == "stats-1"
    search(store, COURSE_A, "again")
    store.add(COURSE_A, [record("stats-1", "doc", "stats loaded text")])  # already loaded: no-op
    assert store.count(COURSE_A) == 1
    store.add(COURSE_B, [record("new", "doc2", "fresh chunk")])  # loads first, then adds
    assert calls == [COURSE_A, COURSE_B]
    assert store.count(COURSE_B) == 2
    assert set(store.loaded_partitions()) == {COURSE_A, COURSE_B}
    store.unload(COURSE_A)
    assert store.count(COURSE_A) == 1
    assert calls == [COURSE_A, COURSE_B, COURSE_A]


def test_bad_input_is_rejected() -> None:
    store = EmbeddedStore(EMBEDDER.dimension)
    with pytest.raises(PartitionError):
        Partition("", "course")
    with pytest.raises(PartitionError):
        Partition("inst", 5)  # type: ignore[arg-type]
    with pytest.raises(PartitionError):
        store.add(COURSE_A, [ChunkRecord("c", "d", "t", np.ones(3))])
    with pytest.raises(PartitionError):
        store.add(COURSE_A, [record("c", "d", "t"), record("c", "d", "u")])
    with pytest.raises(PartitionError):
        store.search(("inst", "course"), "q", None)  # type: ignore[arg-type]
    assert store.count(COURSE_A) == 0


def test_search_without_a_query_vector_is_lexical_only(store: EmbeddedStore) -> None:
    result = store.search(COURSE_A, "median", None)
    assert result.hits[0].chunk_id == "a1"
    assert result.top_cosine is None
    assert result.hits[0].retrievers == frozenset({"bm25"})


def test_concurrent_searches_while_adding_and_deleting() -> None:
    store = EmbeddedStore(EMBEDDER.dimension)
    store.add(COURSE_A, [record(f"base{i}", "base", f"base text number {i}") for i in range(50)])
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        try:
            while not stop.is_set():
                for hit in search(store, COURSE_A, "text number").hits:
                    assert hit.chunk_id.startswith(("base", "doc"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    readers = [threading.Thread(target=reader) for _ in range(3)]
    for t in readers:
        t.start()
    for n in range(40):
        store.add(
            COURSE_A, [record(f"doc{n}-{i}", f"doc{n}", f"text number {n} {i}") for i in range(20)]
        )
        if n % 3 == 0:
            store.delete_document(COURSE_A, f"doc{n}")
    stop.set()
    for t in readers:
        t.join()
    assert errors == []
    assert store.count(COURSE_A) == 50 + 20 * (40 - 14)


def test_pipeline_prepares_records_with_metadata() -> None:
    data = b"# Unit\n\n## Part\n\nFirst sentence here. Second sentence here.\n"
    prepared = prepare_document(data, document_id="doc-9", embedder=EMBEDDER, filename="u.md")
    (rec,) = prepared.records
    assert rec.chunk_id == "doc-9:0"
    assert rec.document_id == "doc-9"
    assert rec.text == "First sentence here. Second sentence here."
    assert rec.index_text == "Unit > Part\nFirst sentence here. Second sentence here."
    assert rec.metadata["heading_path"] == ["Unit", "Part"]
    assert rec.metadata["filename"] == "u.md"
    assert prepared.document.text[rec.metadata["start"] : rec.metadata["end"]] == rec.text
