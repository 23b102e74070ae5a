"""The trained mode model: a softmax-linear classifier over hashed features.

Weights are stored only for feature hashes seen in training (sorted, so a turn's
features are looked up with one ``searchsorted``). The ``.npz`` file is written
with fixed zip timestamps so that retraining on the same data reproduces it byte
for byte.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from promptsmith.authoring.modes_features import SparseVector

_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
MODEL_FILE = "modes_model.npz"


def default_model_path() -> Path:
    """The shipped weights, inside the package."""
    return Path(str(resources.files("promptsmith.authoring").joinpath("data", MODEL_FILE)))


@dataclass(frozen=True)
class LinearModel:
    """``softmax(x · weights + bias)`` with ``x`` a hashed sparse feature vector."""

    labels: tuple[str, ...]
    hashes: npt.NDArray[np.uint32]  # sorted, unique
    weights: npt.NDArray[np.float32]  # (len(hashes), len(labels))
    bias: npt.NDArray[np.float32]  # (len(labels),)
    scales: dict[str, float]
    meta: dict[str, Any]

    def logits(self, vector: SparseVector) -> npt.NDArray[np.float64]:
        hashes, values = vector
        out = self.bias.astype(np.float64)
        if hashes.size == 0 or self.hashes.size == 0:
            return out
        rows = np.searchsorted(self.hashes, hashes)
        rows[rows == self.hashes.size] = 0
        known = self.hashes[rows] == hashes
        contrib = self.weights[rows[known]].astype(np.float64) * values[known, None]
        return out + contrib.sum(axis=0)

    def probabilities(self, vector: SparseVector) -> npt.NDArray[np.float64]:
        return softmax(self.logits(vector))

    def save(self, path: Path) -> None:
        header = {"labels": list(self.labels), "scales": self.scales, "meta": self.meta}
        arrays: dict[str, npt.NDArray[Any]] = {
            "header": np.frombuffer(json.dumps(header, sort_keys=True).encode(), dtype=np.uint8),
            "hashes": self.hashes,
            "weights": self.weights,
            "bias": self.bias,
        }
        path.write_bytes(_npz_bytes(arrays))

    @classmethod
    def load(cls, path: Path) -> LinearModel:
        with np.load(path, allow_pickle=False) as npz:
            header = json.loads(npz["header"].tobytes().decode())
            return cls(
                labels=tuple(header["labels"]),
                hashes=npz["hashes"].astype(np.uint32),
                weights=npz["weights"].astype(np.float32),
                bias=npz["bias"].astype(np.float32),
                scales={k: float(v) for k, v in header["scales"].items()},
                meta=header["meta"],
            )


def softmax(logits: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    result: npt.NDArray[np.float64] = shifted / shifted.sum(axis=-1, keepdims=True)
    return result


def _npz_bytes(arrays: dict[str, npt.NDArray[Any]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, member.getvalue())
    return buffer.getvalue()
