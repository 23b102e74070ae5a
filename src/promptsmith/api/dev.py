"""Dev sign-in for the web playground: mint tokens, on a loopback dev server only.

`POST /api/dev/token` mints an org admin token (`Authorization: Bearer`) and an
institution token (`x-access-token`), so someone who just ran `make run` can try
the playground without the CLI. It exists only while all of these hold:

* the server signs tokens with the secret it generated into the data dir (no
  `PROMPTSMITH_JWT_SECRET` set): a configured secret means a real deployment;
* the connection arrived on a loopback address, from a loopback address;
* the `Host` header names a loopback host (a DNS-rebinding page can reach a
  loopback port, but its requests carry the attacker's host name);
* no proxy forwarded it (`Forwarded` / `X-Forwarded-For` present means some
  other machine may be behind the loopback hop).

Otherwise the route answers exactly like an unknown route: 404 in the envelope.
`GET /api/dev/status` tells the page whether to show the button (it never fails).
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

from ..exceptions import BadRequest, NotFound
from .deps import ServicesDep

router = APIRouter(prefix="/api/dev", tags=["Dev"], include_in_schema=False)

DEV_ORG = "dev-org"
DEV_USER = "dev-user"
# The institution `make demo` seeds; the default for the institution token.
DEMO_INSTITUTION = "00000000-0000-4000-8000-00000000d3e0"
TOKEN_TTL_SECONDS = 12 * 3600
_LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
_FORWARDING_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")

InstitutionId = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)
]


class DevTokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    institution: InstitutionId | None = None


def _is_loopback_address(host: str | None) -> bool:
    if not host:
        return False
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _host_name(host_header: str) -> str:
    """The host part of a Host header: `[::1]:8000` -> `::1`, `localhost:80` -> `localhost`."""
    if host_header.startswith("["):
        return host_header[1 : host_header.find("]")] if "]" in host_header else ""
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


def dev_sign_in_enabled(request: Request) -> bool:
    services = request.app.state.services
    secret = services.settings.jwt_secret
    if secret is not None and secret.get_secret_value():
        return False
    server: Any = request.scope.get("server") or (None, None)
    client: Any = request.scope.get("client") or (None, None)
    if not (_is_loopback_address(server[0]) and _is_loopback_address(client[0])):
        return False
    if any(name in request.headers for name in _FORWARDING_HEADERS):
        return False
    return _host_name(request.headers.get("host", "").lower()) in _LOOPBACK_NAMES


@router.get("/status")
async def dev_status(request: Request) -> dict[str, Any]:
    return {"devSignIn": dev_sign_in_enabled(request), "demoInstitution": DEMO_INSTITUTION}


@router.post("/token")
async def dev_token(request: Request, services: ServicesDep) -> dict[str, Any]:
    if not dev_sign_in_enabled(request):
        raise NotFound(message=f"No route for {request.method} {request.url.path}")
    body = await _read_body(request)
    institution = body.institution or DEMO_INSTITUTION
    verifier = services.verifier
    return {
        "success": True,
        "org": DEV_ORG,
        "user": DEV_USER,
        "institution": institution,
        "orgToken": verifier.mint(user=DEV_USER, org=DEV_ORG, role="admin", ttl=TOKEN_TTL_SECONDS),
        "institutionToken": verifier.mint(
            user=DEV_USER, institution=institution, ttl=TOKEN_TTL_SECONDS
        ),
        "expiresIn": TOKEN_TTL_SECONDS,
    }


async def _read_body(request: Request) -> DevTokenRequest:
    from .routing import parse_json_body

    await parse_json_body(request)
    raw = getattr(request, "_json", None)
    try:
        return DevTokenRequest.model_validate(raw if raw is not None else {})
    except ValidationError as exc:
        raise BadRequest("Invalid request body", _describe(exc)) from exc


def _describe(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}" for err in exc.errors()
    )
