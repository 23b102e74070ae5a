"""The relevance floor behind "ragOnly" refusals: when the best evidence is too weak, say
"nothing relevant in the course material" instead of answering from general knowledge.

Evidence combines two signals that are comparable across courses and queries:

    evidence = top_cosine + lexical_weight * lexical_coverage

- `top_cosine`: the best dense cosine between the query and any chunk of the partition;
- `lexical_coverage`: the best BM25 score divided by the score a perfect match would get,
  i.e. how much of the query's informative (high-idf) vocabulary the best chunk contains.
  Terms the course has never seen ("Kaplan-Meier", "CRISPR") pull it down, which is what
  catches on-topic questions the material does not cover; cosine alone rates those high.

`DEFAULT_MIN_EVIDENCE` and `DEFAULT_LEXICAL_WEIGHT` were calibrated with
`python -m promptsmith.retrieval.evaluate` on the bundled evaluation set (82 answerable,
15 unanswerable, 12 cross-course questions; all-MiniLM-L6-v2). Balanced accuracy rises from
~91% (cosine alone) to a plateau of 96-98% for weights 0.4-1.0; we take 0.5, low in the
plateau, so the dense similarity stays the main signal, and the threshold that maximises
balanced accuracy for it, rounded. docs/retrieval-eval.md has the numbers, a
leave-one-course-out check and how to recalibrate on your own questions.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from promptsmith.retrieval.store import SearchHit, SearchResult

DEFAULT_LEXICAL_WEIGHT = 0.5
DEFAULT_MIN_EVIDENCE = 0.49


@dataclass(frozen=True)
class RelevanceFloor:
    min_evidence: float = DEFAULT_MIN_EVIDENCE
    lexical_weight: float = DEFAULT_LEXICAL_WEIGHT

    def evidence(self, result: SearchResult) -> float:
        """The single number compared with `min_evidence`."""
        if result.top_cosine is None:
            return self.lexical_weight * result.lexical_coverage
        return result.top_cosine + self.lexical_weight * result.lexical_coverage

    def is_relevant(self, result: SearchResult) -> bool:
        return bool(result.hits) and self.evidence(result) >= self.min_evidence

    def keep(self, result: SearchResult, margin: float = 0.25) -> list[SearchHit]:
        """Hits worth citing: none below the floor; otherwise drop hits whose cosine is far
        below the best one (keeps citations from padding with noise)."""
        if not self.is_relevant(result):
            return []
        best = result.top_cosine
        if best is None:
            return list(result.hits)
        return [h for h in result.hits if h.cosine is None or h.cosine >= best - margin]


def calibrate_threshold(positives: Sequence[float], negatives: Sequence[float]) -> float:
    """The cut that maximises balanced accuracy: (true-positive rate + true-negative rate) / 2.

    `positives` are evidence values of questions that should be answered, `negatives` of
    questions that should be refused. Ties are broken towards the middle of the best range.
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
