"""The long-lived objects one app instance shares across requests."""

from __future__ import annotations

from dataclasses import dataclass

from .auth import TokenVerifier
from .providers.registry import ProviderRegistry
from .providers.router import ModelChoice, ModelRouter
from .settings import Settings
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

    @classmethod
    def build(cls, settings: Settings) -> Services:
        db = Database(settings.resolved_database_url)
        providers = ProviderRegistry(settings)

        async def org_model(org_id: str) -> ModelChoice | None:
            assigned = await orgs.get_model_assignment(db, org_id)
            return ModelChoice(*assigned) if assigned else None

        usage = UsageWriter(db)
        router = ModelRouter(settings, providers, org_models=org_model, usage=usage)
        return cls(settings, db, TokenVerifier(settings), providers, router, usage)
