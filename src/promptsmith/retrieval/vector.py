"""Brute-force cosine search over one partition's unit vectors (float32, numpy).

Vectors live in a growable row buffer; every change publishes an immutable snapshot
(`matrix[:n]` view, ids, live mask), so searches never lock and never see half a write.
Removal is a tombstone; the buffer is compacted once a quarter of it is dead.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from promptsmith.retrieval.errors import PartitionError


@dataclass(frozen=True)
class _Snapshot:
    matrix: np.ndarray  # float32 [n, dim]; rows of removed ids are masked by `alive`
    alive: np.ndarray  # bool [n]
    ids: list[str]  # slot -> id; only ever appended to while this snapshot is current
    n_alive: int


def normalize_rows(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


_BLOCK_ROWS = 512


def _scores(matrix: np.ndarray, query: np.ndarray) -> np.ndarray:
    """`matrix @ query`, in blocks of rows small enough that BLAS stays single-threaded.

    One big multi-threaded sgemv is slower on a busy 2-core server (measured: 100k x 384,
    12 ms threaded vs 6 ms in 512-row blocks under load; see bench/retrieval_bench.py), and
    the server runs several searches at once anyway.
    """
    out = np.empty(len(matrix), dtype=np.float32)
    for start in range(0, len(matrix), _BLOCK_ROWS):
        stop = start + _BLOCK_ROWS
        np.dot(matrix[start:stop], query, out=out[start:stop])
    return out


class VectorIndex:
    """Exact top-k by cosine similarity (dot product of unit vectors)."""

    def __init__(self, dimension: int) -> None:
        self.dimension = dimension
        self._lock = threading.Lock()
        self._buffer = np.zeros((0, dimension), dtype=np.float32)
        self._alive = np.zeros(0, dtype=bool)
        self._ids: list[str] = []
        self._slot: dict[str, int] = {}
        self._snap = _Snapshot(self._buffer, self._alive, self._ids, 0)

    def __len__(self) -> int:
        return len(self._slot)

    def __contains__(self, item: object) -> bool:
        return item in self._slot

    def add(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        """Add (or replace) vectors. They are L2-normalised here, whatever the caller did."""
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dimension:
            raise PartitionError(
                f"expected vectors of shape (n, {self.dimension}), got {vectors.shape}"
            )
        if len(ids) != len(vectors):
            raise PartitionError("ids and vectors differ in length")
        vectors = normalize_rows(vectors)
        with self._lock:
            self._remove_locked(ids)
            n, m = len(self._ids), len(ids)
            if n + m > len(self._buffer):
                self._reserve(n + m)
            self._buffer[n : n + m] = vectors
            self._alive[n : n + m] = True
            for offset, doc_id in enumerate(ids):
                if doc_id in self._slot:  # duplicate inside this batch: last one wins
                    self._remove_locked([doc_id])
                self._slot[doc_id] = n + offset
            self._ids.extend(ids)
            self._publish()

    def _reserve(self, size: int) -> None:
        capacity = max(size, int(len(self._buffer) * 1.5), 256)
        buffer = np.zeros((capacity, self.dimension), dtype=np.float32)
        buffer[: len(self._ids)] = self._buffer[: len(self._ids)]
        alive = np.zeros(capacity, dtype=bool)
        alive[: len(self._ids)] = self._alive[: len(self._ids)]
        self._buffer, self._alive = buffer, alive

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
            if slot is not None:
                self._alive[slot] = False
                removed += 1
        return removed

    def _publish(self) -> None:
        n = len(self._ids)
        if n - len(self._slot) > max(256, n // 4):
            keep = np.flatnonzero(self._alive[:n])
            self._buffer = self._buffer[keep].copy()
            self._alive = np.ones(len(keep), dtype=bool)
            self._ids = [self._ids[i] for i in keep]
            self._slot = {doc_id: slot for slot, doc_id in enumerate(self._ids)}
            n = len(self._ids)
        self._snap = _Snapshot(self._buffer[:n], self._alive[:n].copy(), self._ids, len(self._slot))

    def vector(self, doc_id: str) -> np.ndarray | None:
        # Under the lock: compaction swaps the buffer and the slot map one after the other,
        # and a slot from the old map can point past the end of the new buffer.
        with self._lock:
            slot = self._slot.get(doc_id)
            return None if slot is None else self._buffer[slot].copy()

    def search(self, query: np.ndarray, k: int) -> list[tuple[str, float]]:
        """Top `k` (id, cosine) pairs, best first."""
        snap = self._snap
        if snap.n_alive == 0 or k <= 0:
            return []
        query = normalize_rows(np.asarray(query, dtype=np.float32).reshape(-1))
        if query.shape != (self.dimension,):
            raise PartitionError(f"query vector must have {self.dimension} dimensions")
        scores = _scores(snap.matrix, query)
        if snap.n_alive < len(scores):
            scores[~snap.alive] = -np.inf
        k = min(k, snap.n_alive)
        top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(snap.ids[i], float(scores[i])) for i in top if np.isfinite(scores[i])]
