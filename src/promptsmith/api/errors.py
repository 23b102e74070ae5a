"""The error envelope, and the handlers that put every failure into it.

    {"success": false, "error": "<what went wrong>", "message": "<detail, optional>"}

No framework default (`{"detail": ...}`) and no stack trace ever reaches a client.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from ..exceptions import (
    ApiError,
    ProviderError,
    ProviderRateLimited,
    ProviderTimeout,
    SetupRequired,
)

logger = logging.getLogger("promptsmith.api")

# Fields whose absence (or blankness) has its own error, as the spec words it.
REQUIRED_FIELDS = ("instruction", "selectedText", "inputs")


def envelope(
    status_code: int,
    error: str,
    message: str | None = None,
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    body: dict[str, Any] = {"success": False, "error": error}
    if message is not None:
        body["message"] = message
    body.update(extra)
    return Response(
        orjson.dumps(body),
        status_code=status_code,
        media_type="application/json",
        headers=headers,
    )


def request_id(request: Request) -> str:
    return str(request.scope.get("state", {}).get("request_id", ""))


def validation_response(exc: RequestValidationError) -> Response:
    errors = list(exc.errors())
    for err in errors:
        loc = [str(part) for part in err.get("loc", ()) if part != "body"]
        if err.get("type") == "json_invalid":
            reason = err.get("ctx", {}).get("error", "invalid JSON")
            return envelope(400, "Malformed JSON body", f"Request body is not valid JSON: {reason}")
        if not loc and err.get("type") == "missing":
            return envelope(400, "Request body is required", "Send a JSON object body.")
        if not loc:
            return envelope(400, "Request body must be a JSON object", err.get("msg"))
    for err in errors:
        loc = [str(part) for part in err.get("loc", ()) if part != "body"]
        if len(loc) == 1 and loc[0] in REQUIRED_FIELDS and err.get("type") in ("missing", "blank"):
            return envelope(400, f"{loc[0]} is required", f"Provide a non-empty {loc[0]}.")
    details = "; ".join(_describe(err) for err in errors[:10])
    return envelope(400, "Invalid request body", details)


def _describe(err: Any) -> str:
    loc = ".".join(str(part) for part in err.get("loc", ()) if part != "body") or "body"
    return f"{loc}: {err.get('msg', 'is invalid')}"


def provider_error_response(exc: ProviderError) -> Response:
    """A provider failure on a non-streaming endpoint (after retries and fallbacks)."""
    if isinstance(exc, ProviderRateLimited):
        headers = {"Retry-After": str(int(exc.retry_after))} if exc.retry_after else None
        return envelope(429, "Model provider rate limit", _provider_message(exc), headers=headers)
    status = 504 if isinstance(exc, ProviderTimeout) else 502
    return envelope(status, "Model provider failed", _provider_message(exc))


def _provider_message(exc: ProviderError) -> str:
    source = f"{exc.provider} ({exc.model})" if exc.provider else "The model provider"
    return f"{source}: {exc.message}"


def setup_required_response(exc: SetupRequired) -> Response:
    return envelope(
        503,
        "ai_setup_required",
        exc.message,
        provider=exc.provider,
        code=exc.code,
        reason=exc.reason,
    )


def install_error_handlers(app: FastAPI) -> None:
    async def on_api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return envelope(
            exc.status_code, exc.error, exc.message, headers=exc.headers or None, **exc.extra
        )

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        error = _HTTP_ERRORS.get(exc.status_code, "Request failed")
        detail = exc.detail if isinstance(exc.detail, str) and exc.detail != error else None
        if exc.status_code == 404:
            detail = f"No route for {request.method} {request.url.path}"
        return envelope(exc.status_code, error, detail, headers=dict(exc.headers or {}) or None)

    async def on_validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return validation_response(exc)

    async def on_setup_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SetupRequired)
        return setup_required_response(exc)

    async def on_provider_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ProviderError)
        logger.warning("provider call failed: %s", exc)
        return provider_error_response(exc)

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(SetupRequired, on_setup_required)
    app.add_exception_handler(ProviderError, on_provider_error)


_HTTP_ERRORS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
