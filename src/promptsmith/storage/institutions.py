"""Institutions: each belongs to one organisation; its public id is global."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..exceptions import Conflict
from .db import Database
from .qanda_models import Institution


def normalize_public_id(value: str) -> str:
    """UUIDs in their canonical lower-case form (tokens and URLs may spell them otherwise)."""
    try:
        return str(uuid.UUID(value.strip()))
    except (ValueError, AttributeError):
        return value


async def create(db: Database, *, public_id: str, name: str, org_id: str) -> Institution:
    public_id = normalize_public_id(public_id)
    institution = Institution(public_id=public_id, name=name, org_id=org_id)
    try:
        async with db.session() as session, session.begin():
            session.add(institution)
    except IntegrityError as exc:
        raise Conflict(message=f"Institution {public_id} already exists") from exc
    return institution


async def get(db: Database, public_id: str) -> Institution | None:
    public_id = normalize_public_id(public_id)
    async with db.session() as session:
        return await session.scalar(select(Institution).where(Institution.public_id == public_id))


async def get_for_org(db: Database, public_id: str, org_id: str) -> Institution | None:
    """The institution if it belongs to `org_id`; otherwise None, as if it did not exist."""
    institution = await get(db, public_id)
    return institution if institution is not None and institution.org_id == org_id else None


async def list_for_org(db: Database, org_id: str) -> list[Institution]:
    async with db.session() as session:
        rows = await session.scalars(
            select(Institution).where(Institution.org_id == org_id).order_by(Institution.id)
        )
        return list(rows)


async def get_by_pk(db: Database, pk: int) -> Institution | None:
    async with db.session() as session:
        return await session.get(Institution, pk)
