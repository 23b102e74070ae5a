from __future__ import annotations

import pytest

from promptsmith.retrieval.hybrid import DENSE, LEXICAL, RRF_K, rrf_fuse


def test_rrf_scores_are_the_sum_of_reciprocal_ranks() -> None:
    lexical = [("a", 9.0), ("b", 5.0), ("c", 1.0)]
    dense = [("b", 0.9), ("d", 0.8), ("a", 0.1)]
    fused = {h.id: h for h in rrf_fuse(lexical, dense, limit=10)}
    assert RRF_K == 60
    assert fused["a"].score == pytest.approx(1 / 61 + 1 / 63)
    assert fused["b"].score == pytest.approx(1 / 62 + 1 / 61)
    assert fused["c"].score == pytest.approx(1 / 63)
    assert fused["d"].score == pytest.approx(1 / 62)
    assert fused["b"].retrievers == frozenset({LEXICAL, DENSE})
    assert fused["c"].retrievers == frozenset({LEXICAL})
    assert fused["d"].retrievers == frozenset({DENSE})
    assert (fused["a"].lexical_rank, fused["a"].dense_rank) == (1, 3)
    assert (fused["b"].lexical_score, fused["b"].dense_score) == (5.0, 0.9)
    assert fused["c"].dense_rank is None


def test_order_limit_and_tie_break() -> None:
    lexical = [("a", 9.0), ("b", 5.0)]
    dense = [("b", 0.9), ("a", 0.8)]
    hits = rrf_fuse(lexical, dense, limit=1)
    assert len(hits) == 1
    # a and b tie on RRF (1/61 + 1/62); the better cosine wins.
    assert hits[0].id == "b"
    assert [h.id for h in rrf_fuse(lexical, [], limit=5)] == ["a", "b"]
    assert rrf_fuse([], [], limit=5) == []


def test_agreement_beats_a_single_first_place() -> None:
    lexical = [("solo", 10.0)] + [(f"x{i}", 1.0) for i in range(3)] + [("both", 0.5)]
    dense = [(f"y{i}", 0.9) for i in range(4)] + [("both", 0.5)]
    hits = rrf_fuse(lexical, dense, limit=3)
    assert hits[0].id == "both"  # 2/65 > 1/61
    # solo and y0 tie on 1/61; the one with a cosine wins the tie.
    assert [h.id for h in hits[1:]] == ["y0", "solo"]


def test_custom_k() -> None:
    (hit,) = rrf_fuse([("a", 1.0)], [], limit=1, k=0)
    assert hit.score == 1.0
