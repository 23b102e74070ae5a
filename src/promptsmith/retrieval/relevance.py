"""The relevance floor behind "ragOnly" refusals: when the best evidence is too weak, say
"nothing relevant in the course material" instead of answering from general knowledge.

The signal is the best dense cosine in the partition (`SearchResult.top_cosine`): it is
comparable across courses and queries, unlike BM25 scores or RRF ranks. A hit found by both
retrievers gets a small allowance (`agreement_bonus`), since lexical agreement is extra
evidence for a borderline cosine.

`DEFAULT_MIN_COSINE` was calibrated with `python -m promptsmith.retrieval.evaluate` on the
bundled evaluation set (answerable vs. unanswerable and cross-course questions, all-MiniLM-L6-v2):
it is the threshold that maximises balanced accuracy there, rounded down. See
docs/retrieval-eval.md for the numbers and how to recalibrate on your own questions.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from promptsmith.retrieval.hybrid import DENSE, LEXICAL
from promptsmith.retrieval.store import SearchHit, SearchResult

DEFAULT_MIN_COSINE = 0.40
DEFAULT_AGREEMENT_BONUS = 0.0


@dataclass(frozen=True)
class RelevanceFloor:
    min_cosine: float = DEFAULT_MIN_COSINE
    agreement_bonus: float = DEFAULT_AGREEMENT_BONUS

    def evidence(self, result: SearchResult) -> float:
        """The single number compared with `min_cosine`."""
        best = result.top_cosine if result.top_cosine is not None else -1.0
        for hit in result.hits:
            if hit.cosine is not None and {LEXICAL, DENSE} <= hit.retrievers:
                best = max(best, hit.cosine + self.agreement_bonus)
        return best

    def is_relevant(self, result: SearchResult) -> bool:
        return bool(result.hits) and self.evidence(result) >= self.min_cosine

    def keep(self, hits: Sequence[SearchHit], slack: float = 0.1) -> list[SearchHit]:
        """Drop hits far below the floor (keeps citations from padding with noise)."""
        floor = self.min_cosine - slack
        return [h for h in hits if h.cosine is None or h.cosine >= floor]


def calibrate_threshold(positives: Sequence[float], negatives: Sequence[float]) -> float:
    """The cut that maximises balanced accuracy: (true-positive rate + true-negative rate) / 2.

    `positives` are evidence values of questions that should be answered, `negatives` of
    questions that should be refused. Ties are broken towards the midpoint between classes.
    """
    if not positives or not negatives:
        raise ValueError("need both answerable and unanswerable examples")
    values = sorted(set(positives) | set(negatives))
    cuts = [values[0] - 1e-6] + [(a + b) / 2 for a, b in itertools.pairwise(values)]
    cuts.append(values[-1] + 1e-6)

    def balanced(cut: float) -> float:
        tpr = sum(p >= cut for p in positives) / len(positives)
        tnr = sum(n < cut for n in negatives) / len(negatives)
        return (tpr + tnr) / 2

    best = max(balanced(c) for c in cuts)
    winners = [c for c in cuts if balanced(c) == best]
    return winners[len(winners) // 2]
