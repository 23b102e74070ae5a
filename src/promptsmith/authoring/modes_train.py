"""Train the mode classifier: ``python -m promptsmith.authoring.modes_train``.

Multinomial logistic regression with an L2 penalty, fitted by full-batch
Nesterov-accelerated gradient descent for a fixed number of steps. Everything is
deterministic (fixed order, ``np.bincount`` sums), so the same data gives the
same ``data/modes_model.npz`` byte for byte.

The model is fitted on the *training* part of the split only. Hyperparameters
were chosen with ``--tune`` (k-fold cross-validation inside the training part);
the held-out part is only ever scored, by ``bench/modes_bench.py`` and the tests.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from promptsmith.authoring.modes import mode_for_intent, mode_scores
from promptsmith.authoring.modes_data import (
    INTENTS,
    Example,
    data_sha256,
    load_examples,
    normalize_text,
    split_examples,
    text_hash,
)
from promptsmith.authoring.modes_features import Turn, vectorize
from promptsmith.authoring.modes_model import (
    MODEL_FILE,
    LinearModel,
    default_model_path,
    softmax,
)

CV_FOLDS = 5


@dataclass(frozen=True)
class Hyperparams:
    """Chosen by ``--tune`` (5-fold CV on the training part; mean mode accuracy ~0.957)."""

    scales: dict[str, float] = field(
        default_factory=lambda: {
            "word": 1.0,
            "char": 1.0,
            "prompt": 1.0,
            "cues": 1.4,
            "context": 1.0,
            "assistant": 0.5,
        }
    )
    l2: float = 1e-4
    steps: int = 300


DEFAULT_HYPERPARAMS = Hyperparams()


@dataclass(frozen=True)
class Design:
    """Training rows as a sparse matrix over the compact set of seen hashes."""

    hashes: npt.NDArray[np.uint32]
    rows: npt.NDArray[np.int64]
    cols: npt.NDArray[np.int64]
    vals: npt.NDArray[np.float64]
    n_rows: int


def turn_of(example: Example) -> Turn:
    return Turn(example.text, example.has_current_prompt, example.last_assistant)


def build_design(examples: Sequence[Example], scales: dict[str, float]) -> Design:
    vectors = [vectorize(turn_of(e), scales) for e in examples]
    all_hashes = np.concatenate([h for h, _ in vectors])
    hashes, cols = np.unique(all_hashes, return_inverse=True)
    rows = np.repeat(np.arange(len(vectors)), [h.size for h, _ in vectors])
    vals = np.concatenate([v for _, v in vectors])
    return Design(hashes.astype(np.uint32), rows, cols.astype(np.int64), vals, len(vectors))


def fit(examples: Sequence[Example], params: Hyperparams = DEFAULT_HYPERPARAMS) -> LinearModel:
    design = build_design(examples, params.scales)
    targets = np.zeros((design.n_rows, len(INTENTS)))
    targets[np.arange(design.n_rows), [INTENTS.index(e.label) for e in examples]] = 1.0
    weights, bias = _nesterov(design, targets, params)
    return LinearModel(
        labels=INTENTS,
        hashes=design.hashes,
        weights=weights.astype(np.float32),
        bias=bias.astype(np.float32),
        scales=dict(params.scales),
        meta={
            "data_sha256": data_sha256(),
            "n_train": design.n_rows,
            "l2": params.l2,
            "steps": params.steps,
        },
    )


def _nesterov(
    design: Design, targets: npt.NDArray[np.float64], params: Hyperparams
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    n_features, n_classes = design.hashes.size, targets.shape[1]
    row_norm_sq = np.bincount(design.rows, weights=design.vals**2, minlength=design.n_rows)
    # The softmax loss Hessian is bounded by 1/2 * max ||x||^2 (bias counts as 1).
    step = 1.0 / (0.5 * (float(row_norm_sq.max()) + 1.0) + params.l2)
    weights = np.zeros((n_features, n_classes))
    bias = np.zeros(n_classes)
    prev_w, prev_b = weights.copy(), bias.copy()
    for t in range(1, params.steps + 1):
        momentum = (t - 1) / (t + 2)
        look_w = weights + momentum * (weights - prev_w)
        look_b = bias + momentum * (bias - prev_b)
        grad_w, grad_b = _gradient(design, targets, look_w, look_b, params.l2)
        prev_w, prev_b = weights, bias
        weights = look_w - step * grad_w
        bias = look_b - step * grad_b
    return weights, bias


def _gradient(
    design: Design,
    targets: npt.NDArray[np.float64],
    weights: npt.NDArray[np.float64],
    bias: npt.NDArray[np.float64],
    l2: float,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    n_classes = targets.shape[1]
    logits = np.empty_like(targets)
    for c in range(n_classes):
        entry = design.vals * weights[design.cols, c]
        logits[:, c] = np.bincount(design.rows, weights=entry, minlength=design.n_rows)
    residual = (softmax(logits + bias) - targets) / design.n_rows
    grad_w = l2 * weights
    for c in range(n_classes):
        entry = design.vals * residual[design.rows, c]
        grad_w[:, c] += np.bincount(design.cols, weights=entry, minlength=design.hashes.size)
    return grad_w, residual.sum(axis=0)


# --- evaluation ------------------------------------------------------------------


def intent_probabilities(
    model: LinearModel, examples: Sequence[Example]
) -> npt.NDArray[np.float64]:
    return np.array([model.probabilities(vectorize(turn_of(e), model.scales)) for e in examples])


def mode_accuracy(model: LinearModel, examples: Sequence[Example]) -> dict[str, float]:
    """Mode accuracy with assistedMode on and off (see ``modes.modes_from_intents``)."""
    probs = intent_probabilities(model, examples)
    result = {}
    for assisted in (True, False):
        hits = 0
        for p, e in zip(probs, examples, strict=True):
            scores = mode_scores(dict(zip(INTENTS, p, strict=True)), assisted)
            hits += max(scores, key=scores.__getitem__) == mode_for_intent(e.label, assisted)
        result["assisted" if assisted else "unassisted"] = hits / len(examples)
    result["mean"] = (result["assisted"] + result["unassisted"]) / 2
    return result


def cross_validate(examples: Sequence[Example], params: Hyperparams) -> dict[str, float]:
    """k-fold CV inside the given (training) examples; folds by seeded text hash."""
    fold_of = [int(text_hash(normalize_text(e.text)), 16) % CV_FOLDS for e in examples]
    totals = {"assisted": 0.0, "unassisted": 0.0, "mean": 0.0}
    for fold in range(CV_FOLDS):
        train = [e for e, f in zip(examples, fold_of, strict=True) if f != fold]
        test = [e for e, f in zip(examples, fold_of, strict=True) if f == fold]
        scores = mode_accuracy(fit(train, params), test)
        for key in totals:
            totals[key] += scores[key] * len(test) / len(examples)
    return totals


def tune(train: Sequence[Example]) -> None:
    """Grid search by k-fold CV on the training part; prints one line per setting."""
    base = DEFAULT_HYPERPARAMS
    grid = itertools.product((0.5, 1.0), (0.5, 1.0), (0.7, 1.4), (1.0, 2.0), (1e-4, 1e-3))
    for char, prompt, cues, context, l2 in grid:
        scales = {**base.scales, "char": char, "prompt": prompt, "cues": cues, "context": context}
        cv = cross_validate(train, replace(base, scales=scales, l2=l2))
        print(f"{scales} l2={l2}: {_fmt(cv)}", flush=True)


def _fmt(scores: dict[str, float]) -> str:
    return " ".join(f"{k}={v:.4f}" for k, v in scores.items())


def train_model(params: Hyperparams = DEFAULT_HYPERPARAMS) -> LinearModel:
    """The shipped model: fitted on the training part of the split, nothing else."""
    train, _ = split_examples(load_examples())
    return fit(train, params)


def _npz_bytes_of(model: LinearModel) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / MODEL_FILE
        model.save(path)
        return path.read_bytes()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="where to write the .npz")
    parser.add_argument("--cv", action="store_true", help="report k-fold CV on the train part")
    parser.add_argument("--tune", action="store_true", help="grid search by CV (train part)")
    parser.add_argument(
        "--check",
        action="store_true",
        help="retrain and compare with the shipped file, byte for byte",
    )
    args = parser.parse_args(argv)
    train, heldout = split_examples(load_examples())
    print(f"train={len(train)} heldout={len(heldout)} (held-out is not used here)")
    if args.tune:
        tune(train)
        return
    if args.cv:
        print("cv:", _fmt(cross_validate(train, DEFAULT_HYPERPARAMS)))
    model = fit(train, DEFAULT_HYPERPARAMS)
    if args.check:
        identical = _npz_bytes_of(model) == default_model_path().read_bytes()
        print(
            "identical to the shipped weights" if identical else "DIFFERS from the shipped weights"
        )
        raise SystemExit(0 if identical else 1)
    out = args.out or default_model_path()
    model.save(out)
    print(f"wrote {out} ({model.hashes.size} features)")


if __name__ == "__main__":
    main()
