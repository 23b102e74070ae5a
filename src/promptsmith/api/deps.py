"""Request dependencies: the shared services and the authenticated principal.

The principal is set by the route class (`api/routing.py`) before the body is
read; handlers take it through `OrgPrincipal` / `InstitutionPrincipal`.

The dependencies are `async def` on purpose: FastAPI runs a plain `def` dependency
in a worker thread, a thread hand-off per dependency per request (about a tenth of
bench/profile_bench.py showed it in every request) for what is an attribute lookup.
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


async def _services(request: Request) -> Services:
    return get_services(request)


ServicesDep = Annotated[Services, Depends(_services)]


async def _principal(request: Request) -> Principal:
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:  # a route registered without an authenticated route class
        raise Unauthorized()
    return principal


async def _admin(principal: Annotated[Principal, Depends(_principal)]) -> Principal:
    if not principal.is_admin:
        raise Forbidden(message="This endpoint needs a token with role 'admin'")
    return principal


OrgPrincipal = Annotated[Principal, Depends(_principal)]
InstitutionPrincipal = Annotated[Principal, Depends(_principal)]
AdminPrincipal = Annotated[Principal, Depends(_admin)]
