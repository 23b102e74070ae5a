"""The long-lived objects one app instance shares across requests."""

from __future__ import annotations

from dataclasses import dataclass, field

from redis.asyncio import Redis

from .auth import TokenVerifier
from .providers.registry import ProviderRegistry
from .providers.router import ModelChoice, ModelRouter
from .qanda.ingest import Ingestor
from .qanda.jobs import JobRunner
from .qanda.wiring import EmbedderSource, build_retriever
from .retrieval.retriever import Retriever
from .settings import Settings
from .shared.cache import Cache, build_cache
from .shared.ratelimit import RateLimiter, build_limiter
from .shared.redis_client import connect
from .storage import orgs
from .storage.db import Database
from .storage.usage import UsageWriter


@dataclass
class Services:
    settings: Settings
    db: Database
    verifier: TokenVerifier
    providers: ProviderRegistry
    router: ModelRouter
    usage: UsageWriter
    limiter: RateLimiter
    cache: Cache
    redis: Redis | None = None
    # Course Q&A: the embedder, the search backend (a `Retriever`), ingestion, jobs.
    embedders: EmbedderSource = field(init=False)
    retriever: Retriever = field(init=False)
    ingestor: Ingestor = field(init=False)
    jobs: JobRunner = field(init=False)

    def __post_init__(self) -> None:
        self.embedders = EmbedderSource(self.settings)
        self.jobs = JobRunner()
        self.use_retriever(build_retriever(self.settings, self.db, self.embedders.dimension))

    def use_retriever(self, retriever: Retriever) -> None:
        """Swap the search backend (e.g. PostgreSQL + pgvector); ingestion follows."""
        self.retriever = retriever
        self.ingestor = Ingestor(
            self.db, retriever, self.embedders, attempts=self.settings.ingest_phase_attempts
        )

    @classmethod
    def build(cls, settings: Settings) -> Services:
        db = Database(
            settings.resolved_database_url,
            settings.database_pool_size,
            settings.database_max_overflow,
        )
        providers = ProviderRegistry(settings)

        async def org_model(org_id: str) -> ModelChoice | None:
            assigned = await orgs.get_model_assignment(db, org_id)
            return ModelChoice(*assigned) if assigned else None

        usage = UsageWriter(db)
        router = ModelRouter(settings, providers, org_models=org_model, usage=usage)
        redis = connect(settings)
        limiter = build_limiter(settings, redis)
        cache = build_cache(settings.redis_key_prefix, redis)
        verifier = TokenVerifier(settings)
        return cls(settings, db, verifier, providers, router, usage, limiter, cache, redis)

    async def close_redis(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()
