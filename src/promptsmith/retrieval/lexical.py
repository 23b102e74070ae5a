"""BM25 (Lucene variant: non-negative idf) over one partition's chunks, in numpy.

Postings live in two segments: a large `main` segment and a small `delta` segment for
recent additions, each a CSR layout (`ptr[term] .. ptr[term+1]` into `slots`/`tfs`). Adding
documents rebuilds only the delta; when the delta grows past a quarter of the main segment
they are merged (and removed documents are dropped). Removal is a tombstone plus a df
update, so scores stay exact after deletes. Statistics (N, avgdl, df) always cover exactly
the live documents.

Reads never lock: every change publishes a new immutable `_Snapshot`.
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)

_STOPWORDS_TEXT = """
    a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for
    from further had has have having he her here hers herself him himself his how i if in
    into is it its itself just me more most my myself no nor not of off on once only or
    other our ours ourselves out over own same she should so some such than that the their
    theirs them themselves then there these they this those through to too under until up
    very was we were what when where which while who whom why will with would you your
    yours yourself yourselves
"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())


def _strip_accents(text: str) -> str:
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@functools.lru_cache(maxsize=65536)
def _light_stem(word: str) -> str:
    """Fold English plurals only: conservative on purpose (no over-stemming)."""
    if len(word) <= 3 or not word.isascii():
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("sses"):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is", "ys", "os")):
        return word[:-1]
    return word


@dataclass(frozen=True)
class Tokenizer:
    """Lower-cased, accent-folded, unicode word tokens; optional stopwords and plural folding."""

    stopwords: frozenset[str] = STOPWORDS
    stem: bool = True

    def __call__(self, text: str) -> list[str]:
        if not text.isascii():
            text = _strip_accents(unicodedata.normalize("NFKC", text))
        text = text.casefold()
        tokens = _TOKEN.findall(text)
        if self.stopwords:
            tokens = [t for t in tokens if t not in self.stopwords]
        if self.stem:
            tokens = [_light_stem(t) for t in tokens]
        return tokens


@dataclass(frozen=True)
class _Segment:
    ptr: np.ndarray  # int64 [n_terms + 1]
    slots: np.ndarray  # int32
    tfs: np.ndarray  # float32

    @classmethod
    def build(cls, terms: np.ndarray, slots: np.ndarray, tfs: np.ndarray, n_terms: int) -> _Segment:
        order = np.argsort(terms, kind="stable")
        counts = np.bincount(terms, minlength=n_terms)
        ptr = np.zeros(n_terms + 1, dtype=np.int64)
        np.cumsum(counts, out=ptr[1:])
        return cls(ptr, slots[order].astype(np.int32), tfs[order].astype(np.float32))

    def postings(self, term: int) -> tuple[np.ndarray, np.ndarray]:
        if term + 1 >= len(self.ptr):
            return _EMPTY_I, _EMPTY_F
        lo, hi = self.ptr[term], self.ptr[term + 1]
        return self.slots[lo:hi], self.tfs[lo:hi]


_EMPTY_I = np.zeros(0, dtype=np.int32)
_EMPTY_F = np.zeros(0, dtype=np.float32)
_EMPTY_SEGMENT = _Segment(np.zeros(1, dtype=np.int64), _EMPTY_I, _EMPTY_F)


@dataclass(frozen=True)
class _Snapshot:
    main: _Segment
    delta: _Segment
    alive: np.ndarray  # bool [n_slots]
    doclen: np.ndarray  # float32 [n_slots]
    df: np.ndarray  # int64 [n_terms]
    ids: list[str]  # slot -> id; only ever appended to while this snapshot is current
    n_alive: int
    avgdl: float


@dataclass
class _Doc:
    terms: np.ndarray  # unique term ids
    tfs: np.ndarray


def _grow(arr: np.ndarray, size: int) -> np.ndarray:
    if size <= len(arr):
        return arr
    out = np.zeros(max(size, 2 * len(arr), 1024), dtype=arr.dtype)
    out[: len(arr)] = arr
    return out


@dataclass
class BM25Index:
    """A BM25 index keyed by string ids. `add`/`remove` are thread-safe; `search` is lock-free."""

    k1: float = 1.2
    b: float = 0.75
    tokenizer: Tokenizer = field(default_factory=Tokenizer)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._vocab: dict[str, int] = {}
        self._docs: list[_Doc | None] = []
        self._ids: list[str] = []
        self._slot: dict[str, int] = {}
        self._alive = np.zeros(0, dtype=bool)
        self._doclen = np.zeros(0, dtype=np.float32)
        self._df = np.zeros(0, dtype=np.int64)
        self._total_len = 0.0
        self._main = _EMPTY_SEGMENT
        self._main_slots = 0  # slots [0, _main_slots) are in the main segment
        self._snap = self._snapshot()

    def __len__(self) -> int:
        return len(self._slot)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._slot

    def _analyze(self, text: str) -> _Doc:
        counts = Counter(self.tokenizer(text))
        terms = np.fromiter(
            (self._vocab.setdefault(t, len(self._vocab)) for t in counts), np.int64, len(counts)
        )
        return _Doc(terms, np.fromiter(counts.values(), np.float32, len(counts)))

    def add(self, ids: Sequence[str], texts: Sequence[str]) -> None:
        """Add documents; an id that is already present is replaced."""
        if len(ids) != len(texts):
            raise ValueError("ids and texts differ in length")
        with self._lock:
            self._remove_locked([i for i in ids if i in self._slot])
            docs = [self._analyze(text) for text in texts]
            n = len(self._docs)
            self._alive = _grow(self._alive, n + len(docs))
            self._doclen = _grow(self._doclen, n + len(docs))
            self._df = _grow(self._df, len(self._vocab))
            for offset, (doc_id, doc) in enumerate(zip(ids, docs, strict=True)):
                slot = n + offset
                if doc_id in self._slot:  # duplicate id inside this batch: last one wins
                    self._remove_locked([doc_id])
                self._slot[doc_id] = slot
                self._ids.append(doc_id)
                self._docs.append(doc)
                self._alive[slot] = True
                self._doclen[slot] = doc.tfs.sum()
                self._total_len += float(self._doclen[slot])
                self._df[doc.terms] += 1
            self._publish()

    def remove(self, ids: Iterable[str]) -> int:
        with self._lock:
            removed = self._remove_locked(ids)
            if removed:
                self._publish()
            return removed

    def _remove_locked(self, ids: Iterable[str]) -> int:
        removed = 0
        for doc_id in ids:
            slot = self._slot.pop(doc_id, None)
            if slot is None:
                continue
            doc = self._docs[slot]
            assert doc is not None
            self._df[doc.terms] -= 1
            self._alive[slot] = False
            self._total_len -= float(self._doclen[slot])
            self._docs[slot] = None
            removed += 1
        return removed

    def _publish(self) -> None:
        live = len(self._slot)
        dead = len(self._docs) - live
        delta_size = len(self._docs) - self._main_slots
        if dead > max(1024, live // 4) or delta_size > max(2048, self._main_slots // 4):
            self._compact()
        self._snap = self._snapshot()

    def _compact(self) -> None:
        """Drop removed documents, renumber slots and rebuild the main segment."""
        keep = [i for i, d in enumerate(self._docs) if d is not None]
        keep_arr = np.asarray(keep, dtype=np.int64)
        self._docs = [self._docs[i] for i in keep]
        self._ids = [self._ids[i] for i in keep]
        self._slot = {doc_id: slot for slot, doc_id in enumerate(self._ids)}
        self._alive = np.ones(len(keep), dtype=bool)
        self._doclen = self._doclen[keep_arr].copy()
        self._main_slots = len(self._docs)
        self._main = self._segment(0, self._main_slots)

    def _segment(self, lo: int, hi: int) -> _Segment:
        docs = [(s, d) for s, d in enumerate(self._docs[lo:hi], lo) if d is not None]
        if not docs:
            return _EMPTY_SEGMENT
        terms = np.concatenate([d.terms for _, d in docs])
        tfs = np.concatenate([d.tfs for _, d in docs])
        slots = np.concatenate([np.full(len(d.terms), s, np.int32) for s, d in docs])
        return _Segment.build(terms, slots, tfs, len(self._vocab))

    def _snapshot(self) -> _Snapshot:
        n = len(self._docs)
        n_alive = len(self._slot)
        return _Snapshot(
            main=self._main,
            delta=self._segment(self._main_slots, n),
            alive=self._alive[:n].copy(),
            doclen=self._doclen[:n],  # values of a slot never change, so a view is safe
            df=self._df[: len(self._vocab)].copy(),
            ids=self._ids,
            n_alive=n_alive,
            avgdl=self._total_len / n_alive if n_alive else 0.0,
        )

    def max_score(self, query: str) -> float:
        """The score a document matching every query term perfectly would get (tf -> inf).

        Terms the partition has never seen count with df = 0, so `top score / max_score`
        says how much of the query's informative content the best chunk covers.
        """
        snap = self._snap
        total = 0.0
        for token, qtf in Counter(self.tokenizer(query)).items():
            term = self._vocab.get(token)
            df = float(snap.df[term]) if term is not None and term < len(snap.df) else 0.0
            total += qtf * float(np.log1p((snap.n_alive - df + 0.5) / (df + 0.5)))
        return total * (self.k1 + 1)

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        """Top `k` (id, score) pairs with a positive score, best first."""
        snap = self._snap
        if snap.n_alive == 0 or k <= 0:
            return []
        terms = Counter(self._vocab[t] for t in self.tokenizer(query) if t in self._vocab)
        scores = np.zeros(len(snap.alive), dtype=np.float32)
        length_weight = self.b / max(snap.avgdl, 1e-9)
        for term, qtf in terms.items():
            if term >= len(snap.df) or snap.df[term] == 0:
                continue
            df = float(snap.df[term])
            idf = np.log1p((snap.n_alive - df + 0.5) / (df + 0.5))
            for segment in (snap.main, snap.delta):
                slots, tfs = segment.postings(term)
                if len(slots):
                    norm = self.k1 * (1.0 - self.b + length_weight * snap.doclen[slots])
                    scores[slots] += qtf * idf * tfs * (self.k1 + 1) / (tfs + norm)
        if snap.n_alive < len(scores):
            scores[~snap.alive] = 0.0
        return _top_k(scores, k, snap.ids)


def _top_k(scores: np.ndarray, k: int, ids: Sequence[str]) -> list[tuple[str, float]]:
    candidates = np.flatnonzero(scores > 0)
    if len(candidates) > k:
        part = np.argpartition(-scores[candidates], k - 1)[:k]
        candidates = candidates[part]
    order = candidates[np.argsort(-scores[candidates], kind="stable")]
    return [(ids[i], float(scores[i])) for i in order]
