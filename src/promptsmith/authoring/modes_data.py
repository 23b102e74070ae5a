"""The labelled mode dataset: loading, the held-out split and dataset fingerprints.

Each row of ``data/modes.jsonl`` is one user turn labelled with an *intent*
(``chat``, ``vague`` or ``concrete``); ``data/modes_guidelines.md`` says how.
The mode (chat / clarify / draft) follows from the intent and ``assistedMode``.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Literal, cast

Intent = Literal["chat", "vague", "concrete"]
INTENTS: tuple[Intent, ...] = ("chat", "vague", "concrete")

DATA_FILE = "modes.jsonl"
SPLIT_SEED = "promptsmith-modes-v1"
HELDOUT_FRACTION = 0.22


@dataclass(frozen=True)
class Example:
    """One labelled user turn and the context the classifier sees with it."""

    text: str
    label: Intent
    has_current_prompt: bool
    last_assistant: str | None
    domain: str


def normalize_text(text: str) -> str:
    """Case-fold, NFKC-normalise and collapse punctuation: the key for duplicates."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return re.sub(r"[\W_]+", " ", folded).strip()


def data_bytes() -> bytes:
    """The shipped dataset file, byte for byte."""
    return resources.files("promptsmith.authoring").joinpath("data", DATA_FILE).read_bytes()


def data_sha256() -> str:
    return hashlib.sha256(data_bytes()).hexdigest()


def parse_examples(lines: Iterable[str]) -> list[Example]:
    examples = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        row = json.loads(line)
        label = row["label"]
        if label not in INTENTS:
            raise ValueError(f"line {number}: unknown label {label!r}")
        examples.append(
            Example(
                text=row["text"],
                label=cast(Intent, label),
                has_current_prompt=bool(row["has_current_prompt"]),
                last_assistant=row.get("last_assistant") or None,
                domain=row["domain"],
            )
        )
    return examples


def load_examples() -> list[Example]:
    return parse_examples(data_bytes().decode("utf-8").splitlines())


def heldout_texts(examples: Sequence[Example]) -> frozenset[str]:
    """Normalised texts in the held-out split: stratified by label, chosen by hash.

    Within each label the rows with the smallest seeded hash make up
    ``HELDOUT_FRACTION`` of it. A text that occurs twice (a deliberate contrast
    pair, e.g. "make it shorter" with and without a prompt) goes wholly to the
    held-out side if any of its rows does, so no text straddles the split.
    """
    chosen: set[str] = set()
    for label in INTENTS:
        keys = sorted({normalize_text(e.text) for e in examples if e.label == label}, key=text_hash)
        chosen.update(keys[: round(len(keys) * HELDOUT_FRACTION)])
    return frozenset(chosen)


def split_examples(examples: Sequence[Example]) -> tuple[list[Example], list[Example]]:
    """(train, held-out). Never tune anything on the held-out part."""
    heldout = heldout_texts(examples)
    train = [e for e in examples if normalize_text(e.text) not in heldout]
    test = [e for e in examples if normalize_text(e.text) in heldout]
    return train, test


def text_hash(normalized: str) -> str:
    """Seeded hash of a normalised text: orders rows for the split and the CV folds."""
    payload = f"{SPLIT_SEED}\x00{normalized}".encode()
    return hashlib.blake2b(payload, digest_size=8).hexdigest()
