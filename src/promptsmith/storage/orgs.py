"""Organisation settings: the per-org default model assignment."""

from __future__ import annotations

from sqlalchemy import select

from .db import Database
from .models import Organization


async def get_model_assignment(db: Database, org_id: str) -> tuple[str, str] | None:
    async with db.session() as session:
        org = await session.scalar(select(Organization).where(Organization.id == org_id))
    if org is None or not org.default_provider or not org.default_model:
        return None
    return org.default_provider, org.default_model


async def set_model_assignment(db: Database, org_id: str, provider: str, model: str) -> None:
    async with db.session() as session, session.begin():
        org = await session.get(Organization, org_id)
        if org is None:
            session.add(Organization(id=org_id, default_provider=provider, default_model=model))
        else:
            org.default_provider, org.default_model = provider, model


async def clear_model_assignment(db: Database, org_id: str) -> None:
    async with db.session() as session, session.begin():
        org = await session.get(Organization, org_id)
        if org is not None:
            org.default_provider = org.default_model = None
