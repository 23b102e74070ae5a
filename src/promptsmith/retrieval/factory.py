"""Pick the search backend: PostgreSQL + pgvector or the in-process embedded store.

    retriever = build_retriever(settings, database.engine, embedder.dimension,
                                loader=load_partition_from_db)

`PROMPTSMITH_RETRIEVAL_BACKEND`:
- `auto` (default): `PostgresRetriever` when the engine is PostgreSQL, else `EmbeddedRetriever`;
- `postgres`: always PostgreSQL (an error on SQLite);
- `embedded`: always the embedded store, even on PostgreSQL (each worker then keeps its own
  in-memory index, filled by `loader` on first use of a course).

`loader` only matters for the embedded store; the PostgreSQL index is persistent. A caller
with its own embedded retriever (say one that watches the database for other workers'
changes) asks `choose_backend` and builds `postgres_retriever` only when it says so.
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy.ext.asyncio import AsyncEngine

from promptsmith.retrieval.errors import RetrievalError
from promptsmith.retrieval.postgres import PostgresRetriever
from promptsmith.retrieval.retriever import EmbeddedRetriever, Retriever
from promptsmith.retrieval.store import EmbeddedStore, Loader
from promptsmith.settings import Settings

Backend = Literal["embedded", "postgres"]


def choose_backend(settings: Settings, engine: AsyncEngine | None) -> Backend:
    on_postgres = engine is not None and engine.dialect.name == "postgresql"
    if settings.retrieval_backend == "postgres" and not on_postgres:
        raise RetrievalError(
            "PROMPTSMITH_RETRIEVAL_BACKEND=postgres needs PROMPTSMITH_DATABASE_URL to be a "
            "postgresql+asyncpg:// URL"
        )
    return "postgres" if on_postgres and settings.retrieval_backend != "embedded" else "embedded"


def postgres_retriever(settings: Settings, engine: AsyncEngine, dimension: int) -> Retriever:
    return PostgresRetriever(engine, dimension, ef_search=settings.retrieval_ef_search)


def build_retriever(
    settings: Settings,
    engine: AsyncEngine | None,
    embedder_dim: int,
    *,
    loader: Loader | None = None,
) -> Retriever:
    if engine is not None and choose_backend(settings, engine) == "postgres":
        return postgres_retriever(settings, engine, embedder_dim)
    return EmbeddedRetriever(EmbeddedStore(embedder_dim, loader=loader))
