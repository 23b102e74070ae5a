from __future__ import annotations

import pytest

from promptsmith.retrieval.relevance import RelevanceFloor, calibrate_threshold
from promptsmith.retrieval.store import SearchHit, SearchResult


def result(top_cosine: float | None, coverage: float, cosines: list[float]) -> SearchResult:
    hits = [
        SearchHit(f"c{i}", "d", "t", {}, 0.0, c, frozenset({"dense"}))
        for i, c in enumerate(cosines)
    ]
    return SearchResult(hits, top_cosine, None, coverage)


def test_evidence_combines_cosine_and_lexical_coverage() -> None:
    floor = RelevanceFloor(min_evidence=0.5, lexical_weight=0.5)
    assert floor.evidence(result(0.4, 0.4, [0.4])) == pytest.approx(0.6)
    assert floor.is_relevant(result(0.4, 0.4, [0.4]))
    assert not floor.is_relevant(result(0.4, 0.1, [0.4]))
    assert not floor.is_relevant(result(0.9, 1.0, []))  # no hits at all
    assert floor.evidence(result(None, 0.6, [0.1])) == pytest.approx(0.3)


def test_keep_drops_weak_citations_and_everything_below_the_floor() -> None:
    floor = RelevanceFloor(min_evidence=0.5, lexical_weight=0.0)
    kept = floor.keep(result(0.8, 0.0, [0.8, 0.6, 0.3]), margin=0.25)
    assert [h.cosine for h in kept] == [0.8, 0.6]
    assert floor.keep(result(0.3, 0.0, [0.3])) == []


def test_calibrate_threshold_maximises_balanced_accuracy() -> None:
    cut = calibrate_threshold([0.6, 0.7, 0.8], [0.1, 0.2, 0.3])
    assert 0.3 < cut < 0.6
    # One overlapping negative: the best cut still separates the rest.
    cut = calibrate_threshold([0.5, 0.6, 0.7, 0.8], [0.1, 0.2, 0.65])
    assert 0.2 < cut <= 0.5
    with pytest.raises(ValueError, match="need both"):
        calibrate_threshold([], [0.1])
