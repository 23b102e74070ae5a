"""The async Retriever contract over the embedded store (the PostgreSQL retriever reuses these)."""

from __future__ import annotations

from promptsmith.retrieval.embeddings import HashingEmbedder
from promptsmith.retrieval.retriever import EmbeddedRetriever, Retriever
from promptsmith.retrieval.store import ChunkRecord, EmbeddedStore, Partition

EMBEDDER = HashingEmbedder()
COURSE = Partition("inst-1", "stats")
OTHER_INSTITUTION = Partition("inst-2", "stats")


def record(chunk_id: str, document_id: str, text: str) -> ChunkRecord:
    return ChunkRecord(chunk_id, document_id, text, EMBEDDER.embed_documents([text])[0])


async def test_embedded_retriever_follows_the_contract() -> None:
    retriever = EmbeddedRetriever(EmbeddedStore(EMBEDDER.dimension))
    assert isinstance(retriever, Retriever)
    await retriever.add(COURSE, [record("c1", "d1", "the median resists outliers")])
    await retriever.add(OTHER_INSTITUTION, [record("x1", "d9", "the median resists outliers")])
    query = "median outliers"
    result = await retriever.search(COURSE, query, EMBEDDER.embed_query(query), k=8)
    assert [hit.chunk_id for hit in result.hits] == ["c1"]
    assert await retriever.count(COURSE) == 1
    assert await retriever.delete_document(COURSE, "d1") == 1
    assert await retriever.count(COURSE) == 0
    assert await retriever.count(OTHER_INSTITUTION) == 1
    await retriever.aclose()
