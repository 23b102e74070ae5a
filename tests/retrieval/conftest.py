from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session")
def model_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def minilm(model_cache_dir: Path):
    """The real all-MiniLM-L6-v2 embedder, loaded once per session."""
    from promptsmith.retrieval.embeddings import MiniLMEmbedder

    return MiniLMEmbedder(model_cache_dir)
