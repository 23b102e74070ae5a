"""Admin API for course Q&A: institutions, their assistants and courses.

Everything is scoped to the admin token's organisation: another organisation's institution
is answered with 404, exactly as if it did not exist.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from ..exceptions import NotFound
from ..services import Services
from ..storage import assistants, courses, institutions
from ..storage.qanda_models import Assistant, Course, Institution
from .deps import AdminPrincipal, ServicesDep
from .routing import OrgRoute
from .schemas import AIErrorResponse

ADMIN_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": AIErrorResponse, "description": "Invalid request"},
    401: {"model": AIErrorResponse, "description": "Unauthorized"},
    403: {"model": AIErrorResponse, "description": "Not an admin token"},
    404: {"model": AIErrorResponse, "description": "Not found (or another organisation's)"},
}

router = APIRouter(
    prefix="/api/admin",
    tags=["Admin: course Q&A"],
    route_class=OrgRoute,
    strict_content_type=False,
    responses=ADMIN_ERRORS,
)

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Identifier = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._:\-]+$"
    ),
]
ModelName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
ProviderName = Literal["anthropic", "openai", "google"]
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": AIErrorResponse, "description": "Already exists"}
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InstitutionCreate(_Strict):
    public_id: uuid.UUID = Field(description="The institution's public id (the token claim)")
    name: Name


class InstitutionOut(BaseModel):
    public_id: str
    name: str
    org: str
    created_at: datetime

    @classmethod
    def of(cls, row: Institution) -> InstitutionOut:
        return cls(
            public_id=row.public_id, name=row.name, org=row.org_id, created_at=row.created_at
        )


class InstitutionReply(BaseModel):
    success: bool = True
    institution: InstitutionOut


class InstitutionList(BaseModel):
    success: bool = True
    institutions: list[InstitutionOut]


class AssistantCreate(_Strict):
    id: Identifier
    name: Name
    instructions: Annotated[str, StringConstraints(max_length=200_000)] = ""
    provider: ProviderName | None = None
    model: ModelName | None = None

    @model_validator(mode="after")
    def _provider_and_model_together(self) -> AssistantCreate:
        if (self.provider is None) != (self.model is None):
            raise ValueError("give both provider and model, or neither")
        return self


class AssistantOut(BaseModel):
    id: str
    name: str
    instructions: str
    provider: str | None
    model: str | None
    created_at: datetime

    @classmethod
    def of(cls, row: Assistant) -> AssistantOut:
        return cls(
            id=row.assistant_id,
            name=row.name,
            instructions=row.instructions,
            provider=row.provider,
            model=row.model,
            created_at=row.created_at,
        )


class AssistantReply(BaseModel):
    success: bool = True
    assistant: AssistantOut


class AssistantList(BaseModel):
    success: bool = True
    assistants: list[AssistantOut]


class CourseCreate(_Strict):
    course_id: int = Field(ge=0, le=2**63 - 1)
    course_name: Name


class CourseOut(BaseModel):
    course_id: int
    course_name: str
    created_at: datetime

    @classmethod
    def of(cls, row: Course) -> CourseOut:
        return cls(course_id=row.course_id, course_name=row.course_name, created_at=row.created_at)


class CourseReply(BaseModel):
    success: bool = True
    course: CourseOut


class CourseList(BaseModel):
    success: bool = True
    courses: list[CourseOut]


def _org(principal: AdminPrincipal) -> str:
    assert principal.org is not None  # org tokens always carry one
    return principal.org


async def institution_for(services: Services, org: str, public_id: str) -> Institution:
    institution = await institutions.get_for_org(services.db, public_id, org)
    if institution is None:
        raise NotFound(message=f"No institution {public_id}")
    return institution


async def course_for(services: Services, institution: Institution, course_id: int) -> Course:
    course = await courses.get(services.db, institution, course_id)
    if course is None:
        raise NotFound(message=f"No course {course_id} in institution {institution.public_id}")
    return course


@router.post(
    "/institutions",
    status_code=201,
    operation_id="post_admin_institution",
    summary="Create an institution in the token's organisation",
    responses=CONFLICT,
)
async def create_institution(
    body: InstitutionCreate, principal: AdminPrincipal, services: ServicesDep
) -> InstitutionReply:
    row = await institutions.create(
        services.db, public_id=str(body.public_id), name=body.name, org_id=_org(principal)
    )
    return InstitutionReply(institution=InstitutionOut.of(row))


@router.get("/institutions", operation_id="get_admin_institutions", summary="List institutions")
async def list_institutions(principal: AdminPrincipal, services: ServicesDep) -> InstitutionList:
    rows = await institutions.list_for_org(services.db, _org(principal))
    return InstitutionList(institutions=[InstitutionOut.of(r) for r in rows])


@router.get(
    "/institutions/{public_id}", operation_id="get_admin_institution", summary="One institution"
)
async def get_institution(
    public_id: str, principal: AdminPrincipal, services: ServicesDep
) -> InstitutionReply:
    row = await institution_for(services, _org(principal), public_id)
    return InstitutionReply(institution=InstitutionOut.of(row))


@router.post(
    "/institutions/{public_id}/assistants",
    status_code=201,
    operation_id="post_admin_assistant",
    summary="Create an assistant",
    responses=CONFLICT,
)
async def create_assistant(
    public_id: str, body: AssistantCreate, principal: AdminPrincipal, services: ServicesDep
) -> AssistantReply:
    institution = await institution_for(services, _org(principal), public_id)
    row = await assistants.create(
        services.db,
        institution,
        assistant_id=body.id,
        name=body.name,
        instructions=body.instructions,
        provider=body.provider,
        model=body.model,
    )
    return AssistantReply(assistant=AssistantOut.of(row))


@router.get(
    "/institutions/{public_id}/assistants",
    operation_id="get_admin_assistants",
    summary="List an institution's assistants",
)
async def list_assistants(
    public_id: str, principal: AdminPrincipal, services: ServicesDep
) -> AssistantList:
    institution = await institution_for(services, _org(principal), public_id)
    rows = await assistants.list_for(services.db, institution)
    return AssistantList(assistants=[AssistantOut.of(r) for r in rows])


@router.get(
    "/institutions/{public_id}/assistants/{assistant_id}",
    operation_id="get_admin_assistant",
    summary="One assistant",
)
async def get_assistant(
    public_id: str, assistant_id: str, principal: AdminPrincipal, services: ServicesDep
) -> AssistantReply:
    institution = await institution_for(services, _org(principal), public_id)
    row = await assistants.get(services.db, institution, assistant_id)
    if row is None:
        raise NotFound(message=f"No assistant {assistant_id!r} in institution {public_id}")
    return AssistantReply(assistant=AssistantOut.of(row))


@router.post(
    "/institutions/{public_id}/courses",
    status_code=201,
    operation_id="post_admin_course",
    summary="Create a course",
    responses=CONFLICT,
)
async def create_course(
    public_id: str, body: CourseCreate, principal: AdminPrincipal, services: ServicesDep
) -> CourseReply:
    institution = await institution_for(services, _org(principal), public_id)
    row = await courses.create(
        services.db, institution, course_id=body.course_id, course_name=body.course_name
    )
    return CourseReply(course=CourseOut.of(row))


@router.get(
    "/institutions/{public_id}/courses",
    operation_id="get_admin_courses",
    summary="List an institution's courses",
)
async def list_courses(
    public_id: str, principal: AdminPrincipal, services: ServicesDep
) -> CourseList:
    institution = await institution_for(services, _org(principal), public_id)
    rows = await courses.list_for(services.db, institution)
    return CourseList(courses=[CourseOut.of(r) for r in rows])


@router.get(
    "/institutions/{public_id}/courses/{course_id}",
    operation_id="get_admin_course",
    summary="One course",
)
async def get_course(
    public_id: str, course_id: int, principal: AdminPrincipal, services: ServicesDep
) -> CourseReply:
    institution = await institution_for(services, _org(principal), public_id)
    return CourseReply(course=CourseOut.of(await course_for(services, institution, course_id)))
