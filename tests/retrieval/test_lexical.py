from __future__ import annotations

import random

import pytest

from promptsmith.retrieval.lexical import BM25Index, Tokenizer

CORPUS = {
    "mean": "The mean is the arithmetic average of the observations.",
    "median": "The median is the middle value of the sorted observations; it resists outliers.",
    "variance": "Variance is the average squared deviation from the mean.",
    "cells": "Mitochondria produce ATP for the cell through cellular respiration.",
    "bastille": "Crowds stormed the Bastille on 14 July 1789.",
}


def build(corpus: dict[str, str] = CORPUS) -> BM25Index:
    index = BM25Index()
    index.add(list(corpus), list(corpus.values()))
    return index


def test_tokenizer_is_unicode_aware_and_folds_case_accents_and_plurals() -> None:
    tokenize = Tokenizer()
    assert tokenize("Les Théorèmes CAFÉ naïve") == ["les", "theoreme", "cafe", "naive"]
    assert tokenize("The observations of the cells") == ["observation", "cell"]
    assert tokenize("分布 and Zellmembran") == ["分布", "zellmembran"]
    assert tokenize("p-value, x_1") == ["p", "value", "x", "1"]
    assert Tokenizer(stopwords=frozenset(), stem=False)("The cells") == ["the", "cells"]


def test_ranking_prefers_the_matching_document() -> None:
    index = build()
    assert index.search("what is the median", 3)[0][0] == "median"
    assert index.search("ATP mitochondria", 3)[0][0] == "cells"
    top = [doc_id for doc_id, _ in index.search("average of observations", 5)]
    assert top[0] == "mean"
    assert index.search("quantum chromodynamics", 5) == []
    assert index.search("", 5) == []


def test_bm25_scores_match_the_formula() -> None:
    index = build({"a": "apple apple banana", "b": "banana cherry", "c": "cherry date"})
    (doc_id, score), *_ = index.search("apple", 1)
    n, df, k1, b = 3, 1, index.k1, index.b
    avgdl = (3 + 2 + 2) / 3
    idf = __import__("math").log(1 + (n - df + 0.5) / (df + 0.5))
    expected = idf * 2 * (k1 + 1) / (2 + k1 * (1 - b + b * 3 / avgdl))
    assert doc_id == "a"
    assert score == pytest.approx(expected, rel=1e-5)


def _scores(index: BM25Index, query: str) -> dict[str, float]:
    return dict(index.search(query, 1000))


def test_incremental_add_and_remove_equal_a_fresh_build() -> None:
    rng = random.Random(11)
    vocab = [f"w{i}" for i in range(300)]
    docs = {
        f"d{i}": " ".join(rng.choice(vocab) for _ in range(rng.randint(5, 40))) for i in range(6000)
    }
    incremental = BM25Index()
    items = list(docs.items())
    for start in range(0, len(items), 250):  # many small batches: delta segments and merges
        batch = items[start : start + 250]
        incremental.add([k for k, _ in batch], [v for _, v in batch])
    removed = [f"d{i}" for i in range(0, 6000, 3)]
    assert incremental.remove(removed) == len(removed)
    incremental.add(["d1"], ["w1 w2 w3 replaced"])  # replacing an id
    kept = {k: v for k, v in docs.items() if k not in set(removed)}
    kept["d1"] = "w1 w2 w3 replaced"
    fresh = build(kept)
    assert len(incremental) == len(fresh) == len(kept)
    for query in ("w1", "w5 w17 w250", "w299 w0 w0", "replaced"):
        a, b = _scores(incremental, query), _scores(fresh, query)
        assert a.keys() == b.keys()
        for key in a:
            assert a[key] == pytest.approx(b[key], rel=1e-5)


def test_removed_documents_never_come_back() -> None:
    index = build()
    assert index.remove(["median", "unknown"]) == 1
    assert "median" not in index
    assert all(doc_id != "median" for doc_id, _ in index.search("median middle value", 10))
    assert index.remove(["median"]) == 0


def test_max_score_bounds_every_score() -> None:
    index = build()
    for query in ("median middle value sorted", "mean", "unseen words here"):
        results = index.search(query, 5)
        bound = index.max_score(query)
        assert all(score <= bound for _, score in results)
    assert index.max_score("") == 0.0
