"""Pick the search backend: PostgreSQL + pgvector or the in-process embedded store.

    retriever = build_retriever(settings, database.engine, embedder.dimension,
                                loader=load_partition_from_db)

`PROMPTSMITH_RETRIEVAL_BACKEND`:
- `auto` (default): `PostgresRetriever` when the engine is PostgreSQL, else `EmbeddedRetriever`;
- `postgres`: always PostgreSQL (an error on SQLite);
- `embedded`: always the embedded store, even on PostgreSQL (each worker then keeps its own
  in-memory index, filled by `loader` on first use of a course).

`loader` only matters for the embedded store; the PostgreSQL index is persistent.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from promptsmith.retrieval.errors import RetrievalError
from promptsmith.retrieval.postgres import PostgresRetriever
from promptsmith.retrieval.retriever import EmbeddedRetriever, Retriever
from promptsmith.retrieval.store import EmbeddedStore, Loader
from promptsmith.settings import Settings


def use_postgres_retriever(settings: Settings, engine: AsyncEngine | None) -> bool:
    """Whether this deployment searches in PostgreSQL (see the module docstring)."""
    backend = settings.retrieval_backend
    on_postgres = engine is not None and engine.dialect.name == "postgresql"
    if backend == "postgres" and not on_postgres:
        raise RetrievalError(
            "PROMPTSMITH_RETRIEVAL_BACKEND=postgres needs PROMPTSMITH_DATABASE_URL to be a "
            "postgresql+asyncpg:// URL"
        )
    return on_postgres and backend != "embedded"


def build_retriever(
    settings: Settings,
    engine: AsyncEngine | None,
    embedder_dim: int,
    *,
    loader: Loader | None = None,
) -> Retriever:
    if engine is not None and use_postgres_retriever(settings, engine):
        return PostgresRetriever(engine, embedder_dim, ef_search=settings.retrieval_ef_search)
    return EmbeddedRetriever(EmbeddedStore(embedder_dim, loader=loader))
