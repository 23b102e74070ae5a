from __future__ import annotations

import numpy as np
import pytest

from promptsmith.retrieval.errors import PartitionError
from promptsmith.retrieval.vector import VectorIndex, normalize_rows


def random_unit(n: int, dim: int = 16, seed: int = 0) -> np.ndarray:
    return normalize_rows(np.random.default_rng(seed).standard_normal((n, dim)))


def test_top_k_matches_a_full_sort() -> None:
    vectors = random_unit(500)
    index = VectorIndex(16)
    index.add([f"v{i}" for i in range(500)], vectors)
    query = random_unit(1, seed=9)[0]
    expected = np.argsort(-(vectors @ query))[:10]
    got = index.search(query, 10)
    assert [doc_id for doc_id, _ in got] == [f"v{i}" for i in expected]
    assert [s for _, s in got] == sorted((s for _, s in got), reverse=True)
    assert got[0][1] == pytest.approx(float(vectors[expected[0]] @ query), abs=1e-5)


def test_vectors_are_normalised_on_the_way_in() -> None:
    index = VectorIndex(3)
    index.add(["a", "b"], np.array([[10.0, 0, 0], [0, 0.5, 0]]))
    assert index.search(np.array([3.0, 0, 0]), 1) == [("a", pytest.approx(1.0))]


def test_remove_replace_and_compaction() -> None:
    vectors = random_unit(1000)
    index = VectorIndex(16)
    ids = [f"v{i}" for i in range(1000)]
    index.add(ids, vectors)
    assert index.remove(ids[:600]) == 600  # triggers compaction
    assert len(index) == 400
    for i in (0, 10, 599):
        assert all(doc_id != ids[i] for doc_id, _ in index.search(vectors[i], 400))
    assert index.search(vectors[700], 1)[0][0] == "v700"
    index.add(["v700"], -vectors[700:701])  # replace
    assert index.search(vectors[700], 400)[-1][0] == "v700"
    assert len(index) == 400


def test_k_larger_than_the_index_and_empty_index() -> None:
    index = VectorIndex(4)
    assert index.search(np.ones(4), 5) == []
    index.add(["a", "b"], np.eye(4)[:2])
    assert [d for d, _ in index.search(np.array([1.0, 0.1, 0, 0]), 10)] == ["a", "b"]


def test_dimension_errors() -> None:
    index = VectorIndex(4)
    with pytest.raises(PartitionError):
        index.add(["a"], np.ones((1, 5)))
    with pytest.raises(PartitionError):
        index.add(["a", "b"], np.ones((1, 4)))
    index.add(["a"], np.ones((1, 4)))
    with pytest.raises(PartitionError):
        index.search(np.ones(3), 1)
