"""Request dependencies: the shared services and the authenticated principal.

The principal is set by the route class (`api/routing.py`) before the body is
read; handlers take it through `OrgPrincipal` / `InstitutionPrincipal`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ..auth import Principal
from ..exceptions import Forbidden, Unauthorized
from ..services import Services


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def _principal(request: Request) -> Principal:
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:  # a route registered without an authenticated route class
        raise Unauthorized()
    return principal


def _admin(principal: Annotated[Principal, Depends(_principal)]) -> Principal:
    if not principal.is_admin:
        raise Forbidden(message="This endpoint needs a token with role 'admin'")
    return principal


OrgPrincipal = Annotated[Principal, Depends(_principal)]
InstitutionPrincipal = Annotated[Principal, Depends(_principal)]
AdminPrincipal = Annotated[Principal, Depends(_admin)]
