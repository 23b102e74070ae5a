"""Reciprocal rank fusion of the lexical and dense candidate lists.

    score(d) = sum over retrievers r that returned d of  1 / (k + rank_r(d)),  rank from 1

with k = 60 (Cormack et al., 2009). Ties are broken by the best dense cosine, then by id,
so the order is deterministic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

RRF_K = 60
LEXICAL = "bm25"
DENSE = "dense"

SearchMode = Literal["hybrid", "bm25", "dense"]


@dataclass(frozen=True)
class FusedHit:
    id: str
    score: float  # the RRF score
    retrievers: frozenset[str]  # which retrievers returned it: {"bm25"}, {"dense"} or both
    lexical_rank: int | None = None  # 1-based
    lexical_score: float | None = None  # BM25
    dense_rank: int | None = None  # 1-based
    dense_score: float | None = None  # cosine similarity


def rrf_fuse(
    lexical: Sequence[tuple[str, float]],
    dense: Sequence[tuple[str, float]],
    *,
    limit: int,
    k: int = RRF_K,
) -> list[FusedHit]:
    """Fuse two ranked (id, score) lists, best first, and keep the top `limit`."""
    fields: dict[str, dict[str, float | int]] = {}
    for name, ranked in ((LEXICAL, lexical), (DENSE, dense)):
        for rank, (doc_id, score) in enumerate(ranked, start=1):
            entry = fields.setdefault(doc_id, {})
            if f"{name}_rank" in entry:  # the same id twice in one list: keep the first
                continue
            entry[f"{name}_rank"] = rank
            entry[f"{name}_score"] = score
            entry["rrf"] = entry.get("rrf", 0.0) + 1.0 / (k + rank)
    hits = [
        FusedHit(
            id=doc_id,
            score=float(entry["rrf"]),
            retrievers=frozenset(n for n in (LEXICAL, DENSE) if f"{n}_rank" in entry),
            lexical_rank=_int(entry.get(f"{LEXICAL}_rank")),
            lexical_score=_float(entry.get(f"{LEXICAL}_score")),
            dense_rank=_int(entry.get(f"{DENSE}_rank")),
            dense_score=_float(entry.get(f"{DENSE}_score")),
        )
        for doc_id, entry in fields.items()
    ]
    hits.sort(key=lambda h: (-h.score, -(h.dense_score or -2.0), h.id))
    return hits[:limit]


def _int(value: float | int | None) -> int | None:
    return None if value is None else int(value)


def _float(value: float | int | None) -> float | None:
    return None if value is None else float(value)


def fuse_for_mode(
    lexical: Sequence[tuple[str, float]],
    dense: Sequence[tuple[str, float]],
    mode: SearchMode,
    k: int,
    rrf_k: int = RRF_K,
) -> list[FusedHit]:
    """The top `k` for a search mode: both lists fused in hybrid mode, else one of them."""
    if mode == "bm25":
        return rrf_fuse(lexical, [], limit=k, k=rrf_k)
    if mode == "dense":
        return rrf_fuse([], dense, limit=k, k=rrf_k)
    return rrf_fuse(lexical, dense, limit=k, k=rrf_k)


def mode_score(fused: FusedHit, mode: SearchMode) -> float:
    """A hit's score: the RRF score in hybrid mode, else the one retriever's own score."""
    if mode == "bm25":
        return fused.lexical_score or 0.0
    if mode == "dense":
        return fused.dense_score or 0.0
    return fused.score
