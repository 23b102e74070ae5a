"""Assistants of an institution: instructions (an XML prompt) and an optional model."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..exceptions import Conflict
from .db import Database
from .qanda_models import Assistant, Institution


async def create(
    db: Database,
    institution: Institution,
    *,
    assistant_id: str,
    name: str,
    instructions: str = "",
    provider: str | None = None,
    model: str | None = None,
) -> Assistant:
    assistant = Assistant(
        institution_pk=institution.id,
        assistant_id=assistant_id,
        name=name,
        instructions=instructions,
        provider=provider,
        model=model,
    )
    try:
        async with db.session() as session, session.begin():
            session.add(assistant)
    except IntegrityError as exc:
        raise Conflict(message=f"Assistant {assistant_id!r} already exists") from exc
    return assistant


async def get(db: Database, institution: Institution, assistant_id: str) -> Assistant | None:
    async with db.session() as session:
        return await session.scalar(
            select(Assistant).where(
                Assistant.institution_pk == institution.id,
                Assistant.assistant_id == assistant_id,
            )
        )


async def list_for(db: Database, institution: Institution) -> list[Assistant]:
    async with db.session() as session:
        rows = await session.scalars(
            select(Assistant)
            .where(Assistant.institution_pk == institution.id)
            .order_by(Assistant.id)
        )
        return list(rows)
