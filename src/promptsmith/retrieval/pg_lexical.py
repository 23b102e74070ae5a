"""Exact BM25 top-k in PostgreSQL without scoring every chunk that has a common word.

BM25 is the embedded store's (`lexical.BM25Index`): k1 = 1.2, b = 0.75, Lucene idf
`ln(1 + (N - df + 0.5) / (df + 0.5))`, N / df / average length of the course. N, the total
length and every lexeme's df come from `retrieval_terms` / `retrieval_partitions`, so they
cost one index lookup per query lexeme.

A query term can add at most `qtf * idf * (k1 + 1)` to a chunk's score (its upper bound).
Scoring proceeds in stages (MaxScore, Turtle & Flood 1995): take the rarest terms, score
every chunk that contains one of them (exactly, over all the query's terms); if the 50th best
score is higher than the sum of the upper bounds of the terms left out, no chunk that
contains only left-out terms can reach the top 50, and the result is exact. Otherwise add the
next rarest term and score the chunks that contain it but none of the earlier terms
(`'new' & !('a' | 'b')`), so no chunk is scored twice; the last stage covers every chunk
that contains any term.
A course of 50,000 chunks and a question with "variable" or "sample" in it thus scores a few
hundred chunks instead of tens of thousands.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from promptsmith.retrieval import pg_sql

MIN_STAGE_DF = 100  # a first stage covers at least this many postings


@dataclass(frozen=True)
class QueryTerm:
    lexeme: str
    qtf: int  # occurrences in the query
    df: int  # chunks of the course that contain it

    def weight(self, n: int) -> float:
        return self.qtf * math.log1p((n - self.df + 0.5) / (self.df + 0.5))

    def upper_bound(self, n: int) -> float:
        return self.weight(n) * (pg_sql.K1 + 1)


@dataclass(frozen=True)
class CourseStatistics:
    n: int
    total_len: int
    terms: Sequence[QueryTerm]

    @property
    def avgdl(self) -> float:
        return self.total_len / self.n if self.n else 0.0

    def max_score(self) -> float:
        """What a chunk matching every query term perfectly would score (for coverage)."""
        return sum(t.upper_bound(self.n) for t in self.terms)


def stages(stats: CourseStatistics) -> list[list[QueryTerm]]:
    """Candidate term sets, rarest first: a growing prefix, ending with every term."""
    ranked = sorted((t for t in stats.terms if t.df > 0), key=lambda t: (t.df, t.lexeme))
    out: list[list[QueryTerm]] = []
    covered = 0
    for i, term in enumerate(ranked, start=1):
        covered += term.df
        if covered >= MIN_STAGE_DF or i == len(ranked):
            out.append(ranked[:i])
    return out


async def bm25_top(
    connection: AsyncConnection,
    keys: Mapping[str, str],
    stats: CourseStatistics,
    limit: int,
) -> list[tuple[str, float]]:
    """The exact BM25 top `limit` (id, score), best first (ties by id)."""
    if stats.n == 0 or not any(t.df > 0 for t in stats.terms):
        return []
    lexemes = [t.lexeme for t in stats.terms]
    base = {
        **keys,
        "lexemes": lexemes,
        "weights": [t.weight(stats.n) for t in stats.terms],
        "avgdl": max(stats.avgdl, 1e-9),
        "limit": limit,
    }
    best: dict[str, float] = {}
    scored: list[QueryTerm] = []
    for candidates in stages(stats):
        new = [t for t in candidates if t not in scored]
        query = pg_sql.tsquery_of([t.lexeme for t in new])
        if scored:  # chunks with an earlier term were scored in an earlier pass
            query = f"({query}) & !({pg_sql.tsquery_of([t.lexeme for t in scored])})"
        rows = (await connection.execute(pg_sql.BM25, {**base, "tsquery": query})).all()
        best.update((str(r.chunk_id), float(r.score)) for r in rows if r.score > 0)
        best = dict(sorted(best.items(), key=lambda item: (-item[1], item[0]))[:limit])
        scored = list(candidates)
        chosen = {t.lexeme for t in candidates}
        left_out = sum(
            t.upper_bound(stats.n) for t in stats.terms if t.df > 0 and t.lexeme not in chosen
        )
        if left_out == 0 or (len(best) == limit and min(best.values()) > left_out):
            break
    return list(best.items())
