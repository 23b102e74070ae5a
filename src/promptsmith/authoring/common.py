"""What every authoring endpoint needs: model resolution and the call context."""

from __future__ import annotations

from dataclasses import dataclass

from ..api.schemas import AiModelOverride
from ..auth import Principal
from ..providers.router import CallContext, ModelChoice
from ..services import Services


@dataclass(frozen=True, slots=True)
class AuthoringCall:
    services: Services
    choice: ModelChoice
    context: CallContext


async def prepare_call(
    services: Services,
    principal: Principal,
    override: AiModelOverride | None,
    *,
    endpoint: str,
    request_id: str,
) -> AuthoringCall:
    choice = await services.router.resolve(
        override=(override.provider, override.model) if override else None,
        org=principal.org,
    )
    context = CallContext(
        endpoint=endpoint, request_id=request_id, org=principal.org, user=principal.subject
    )
    return AuthoringCall(services, choice, context)
