from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest

from promptsmith.retrieval import embeddings
from promptsmith.retrieval.embeddings import (
    DIMENSION,
    Embedder,
    HashingEmbedder,
    MiniLMEmbedder,
    QueryCache,
    cached_onnx_path,
    default_model_dir,
)

REFERENCE = Path(__file__).parent / "data" / "reference_vectors.npz"


def load_reference() -> tuple[list[str], np.ndarray]:
    data = np.load(REFERENCE)
    return json.loads(str(data["texts"])), data["vectors"]


def test_minilm_matches_sentence_transformers(minilm: MiniLMEmbedder) -> None:
    """Reference vectors: sentence-transformers + torch (data/make_reference_vectors.py)."""
    texts, reference = load_reference()
    vectors = minilm.embed_documents(texts)
    assert vectors.shape == (len(texts), DIMENSION)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosines = np.sum(vectors * reference, axis=1)
    assert cosines.min() >= 0.9999, cosines


def test_batching_and_order_do_not_change_vectors(minilm: MiniLMEmbedder) -> None:
    texts, reference = load_reference()
    shuffled = list(reversed(texts))
    vectors = minilm.embed_documents(shuffled)[::-1]
    np.testing.assert_allclose(vectors, reference, atol=2e-4)
    one = minilm.embed_documents([texts[3]])[0]
    np.testing.assert_allclose(one, reference[3], atol=2e-4)
    assert minilm.embed_documents([]).shape == (0, DIMENSION)


def test_concurrent_embedding_matches_sequential(minilm: MiniLMEmbedder) -> None:
    texts, reference = load_reference()
    results: dict[int, np.ndarray] = {}

    def worker(i: int) -> None:
        results[i] = minilm.embed_documents([texts[i], texts[i + 8]])

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, vectors in results.items():
        np.testing.assert_allclose(vectors, reference[[i, i + 8]], atol=2e-4)


def test_query_vectors_are_cached_and_read_only(minilm: MiniLMEmbedder) -> None:
    first = minilm.embed_query("What is a p-value?")
    hits = minilm.cache.hits
    again = minilm.embed_query("  What is a   p-value? ")  # same after whitespace folding
    assert again is first
    assert minilm.cache.hits == hits + 1
    assert not first.flags.writeable
    texts, reference = load_reference()
    assert float(first @ reference[texts.index("What is a p-value?")]) >= 0.9999


def test_onnx_graph_is_cached_on_disk(minilm: MiniLMEmbedder, model_cache_dir: Path) -> None:
    path = minilm.onnx_path
    assert path.parent == model_cache_dir
    assert path.suffix == ".onnx"
    mtime = path.stat().st_mtime_ns
    assert cached_onnx_path(default_model_dir(), model_cache_dir) == path
    assert path.stat().st_mtime_ns == mtime, "the cached graph was rebuilt"


def test_get_embedder_is_a_thread_safe_singleton(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    created: list[object] = []

    class Fake:
        def __init__(self, cache_dir: Path) -> None:
            created.append(self)
            self.cache_dir = cache_dir

    monkeypatch.setattr(embeddings, "MiniLMEmbedder", Fake)
    monkeypatch.setattr(embeddings, "_default", None)
    results: list[object] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        results.append(embeddings.get_embedder(tmp_path))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(created) == 1
    assert all(r is created[0] for r in results)
    assert created[0].cache_dir == tmp_path / "models" / "all-MiniLM-L6-v2"  # type: ignore[attr-defined]


def test_hashing_embedder_is_deterministic_and_normalised() -> None:
    a, b = HashingEmbedder(), HashingEmbedder()
    assert isinstance(a, Embedder)
    texts = ["the cell membrane", "stock market crash", ""]
    va, vb = a.embed_documents(texts), b.embed_documents(texts)
    np.testing.assert_array_equal(va, vb)
    np.testing.assert_allclose(np.linalg.norm(va[:2], axis=1), 1.0, atol=1e-6)
    assert not va[2].any()
    related = float(a.embed_query("cell membrane") @ va[0])
    unrelated = float(a.embed_query("cell membrane") @ va[1])
    assert related > unrelated


def test_query_cache_evicts_least_recently_used() -> None:
    cache = QueryCache(size=2)
    for key in ("a", "b"):
        cache.put(key, np.zeros(2, np.float32))
    assert cache.get("a") is not None  # "a" is now the most recent
    cache.put("c", np.zeros(2, np.float32))
    assert cache.get("b") is None
    assert cache.get("a") is not None
    assert cache.get("c") is not None
