"""Courses of an institution: `course_id` is the caller's integer id, unique per institution."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..exceptions import Conflict
from .db import Database
from .qanda_models import Course, Institution


async def create(
    db: Database, institution: Institution, *, course_id: int, course_name: str
) -> Course:
    course = Course(institution_pk=institution.id, course_id=course_id, course_name=course_name)
    try:
        async with db.session() as session, session.begin():
            session.add(course)
    except IntegrityError as exc:
        raise Conflict(message=f"Course {course_id} already exists") from exc
    return course


async def get(db: Database, institution: Institution, course_id: int) -> Course | None:
    async with db.session() as session:
        return await session.scalar(
            select(Course).where(
                Course.institution_pk == institution.id, Course.course_id == course_id
            )
        )


async def get_by_pk(db: Database, course_pk: int) -> Course | None:
    async with db.session() as session:
        return await session.get(Course, course_pk)


async def list_for(db: Database, institution: Institution) -> list[Course]:
    async with db.session() as session:
        rows = await session.scalars(
            select(Course).where(Course.institution_pk == institution.id).order_by(Course.id)
        )
        return list(rows)
