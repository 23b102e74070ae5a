"""Admin API for an organisation (Bearer token with `role: admin`, scoped to its `org`)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, StringConstraints

from ..storage import orgs
from .deps import AdminPrincipal, ServicesDep
from .routing import OrgRoute
from .schemas import AIErrorResponse

router = APIRouter(
    prefix="/api/admin",
    tags=["Admin"],
    route_class=OrgRoute,
    strict_content_type=False,
    responses={
        400: {"model": AIErrorResponse, "description": "Invalid request"},
        401: {"model": AIErrorResponse, "description": "Unauthorized"},
        403: {"model": AIErrorResponse, "description": "Not an admin token"},
    },
)

ProviderName = Literal["anthropic", "openai", "google"]


class ModelAssignmentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: ProviderName
    model: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class ModelAssignment(BaseModel):
    success: bool = True
    org: str
    provider: str
    model: str
    source: Literal["org", "server-default"]


async def _current(services: ServicesDep, org: str) -> ModelAssignment:
    assigned = await orgs.get_model_assignment(services.db, org)
    if assigned is not None:
        return ModelAssignment(org=org, provider=assigned[0], model=assigned[1], source="org")
    settings = services.settings
    return ModelAssignment(
        org=org,
        provider=settings.default_provider,
        model=settings.default_model,
        source="server-default",
    )


@router.get("/org/model", operation_id="get_admin_org_model", summary="The org's default model")
async def get_org_model(principal: AdminPrincipal, services: ServicesDep) -> ModelAssignment:
    assert principal.org is not None
    return await _current(services, principal.org)


@router.put("/org/model", operation_id="put_admin_org_model", summary="Set the org's model")
async def put_org_model(
    body: ModelAssignmentRequest, principal: AdminPrincipal, services: ServicesDep
) -> ModelAssignment:
    assert principal.org is not None
    await orgs.set_model_assignment(services.db, principal.org, body.provider, body.model)
    return await _current(services, principal.org)


@router.delete(
    "/org/model", operation_id="delete_admin_org_model", summary="Back to the server default"
)
async def delete_org_model(principal: AdminPrincipal, services: ServicesDep) -> ModelAssignment:
    assert principal.org is not None
    await orgs.clear_model_assignment(services.db, principal.org)
    return await _current(services, principal.org)
