"""Route classes for the API: authenticate, rate-limit, then parse the JSON body strictly.

Authentication runs before the body is read or validated, so an unauthenticated
caller gets 401 whatever it sent. The AI endpoints (`/api/ai/...`) then count the
request against the caller's rate limits (`shared/ratelimit.py`; 429 when over).
The body is then parsed once with orjson (depth limit 1024, strict UTF-8) so
malformed, invalid-UTF-8 or absurdly nested JSON gets a clear 400 instead of a
framework default.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi import Request, Response
from fastapi.routing import APIRoute

from ..auth import Principal, TokenKind
from ..exceptions import ApiError, BadRequest, Unauthorized
from .deps import get_services

Handler = Callable[[Request], Coroutine[Any, Any, Response]]

RATE_LIMITED_PREFIX = "/api/ai/"


class UnsupportedMediaType(ApiError):
    status_code = 415
    default_error = "Unsupported Media Type"


def _bearer_token(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(message="Send Authorization: Bearer <JWT>")
    return token.strip()


def _access_token(request: Request) -> str:
    token = request.headers.get("x-access-token", "").strip()
    if not token:
        raise Unauthorized(message="Send x-access-token: <JWT>")
    return token


def authenticate(request: Request, kind: TokenKind) -> Principal:
    token = _bearer_token(request) if kind == "org" else _access_token(request)
    principal = get_services(request).verifier.verify(token, kind)
    request.state.principal = principal
    return principal


class _AuthenticatedRoute(APIRoute):
    token_kind: TokenKind
    # Routes that take file uploads also accept multipart/form-data bodies (unparsed here).
    accepts_multipart: bool = False

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()
        kind = self.token_kind
        limited = self.path.startswith(RATE_LIMITED_PREFIX)
        multipart = self.accepts_multipart

        async def authenticated(request: Request) -> Response:
            principal = authenticate(request, kind)
            if limited:
                await get_services(request).limiter.check(principal)
            if not (multipart and _is_multipart(request)):
                await parse_json_body(request)
            return await handler(request)

        return authenticated


class OrgRoute(_AuthenticatedRoute):
    """Routes behind `Authorization: Bearer <org token>`."""

    token_kind: TokenKind = "org"


class OrgUploadRoute(OrgRoute):
    """Org routes that take a JSON body or a multipart/form-data upload."""

    accepts_multipart = True


def _is_multipart(request: Request) -> bool:
    content_type = request.headers.get("content-type", "").lower()
    return content_type.split(";")[0].strip() == "multipart/form-data"


class InstitutionRoute(_AuthenticatedRoute):
    """Routes behind `x-access-token: <institution token>`."""

    token_kind: TokenKind = "institution"


async def parse_json_body(request: Request) -> None:
    """Parse the body as JSON once and leave it where `Request.json()` looks for it."""
    body = await request.body()
    if not body:
        return
    content_type = request.headers.get("content-type", "application/json").lower()
    media_type = content_type.split(";")[0].strip()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaType(
            message=f"Send the body as JSON with Content-Type: application/json (got {media_type})."
        )
    try:
        request._json = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest("Malformed JSON body", _json_problem(str(exc))) from exc


def _json_problem(detail: str) -> str:
    if "depth" in detail.lower() or "recursion" in detail.lower():
        return "Request body is nested too deeply (the limit is 1024 levels)."
    if "utf-8" in detail.lower() or "surrogate" in detail.lower():
        return "Request body is not valid UTF-8."
    return f"Request body is not valid JSON: {detail}"
