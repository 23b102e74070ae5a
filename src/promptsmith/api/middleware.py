"""Pure ASGI middleware (no BaseHTTPMiddleware: it would buffer and break streams).

* `RequestContext`: request id (echoed or generated), access log line, and the
  last-resort 500 in the envelope; the traceback goes to the log only.
* `BodyLimit`: 413 for bodies over the configured size, by header or by count.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

import structlog
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..metrics import HTTP_DURATION, HTTP_REQUESTS
from .errors import envelope

logger = logging.getLogger("promptsmith.access")
error_logger = logging.getLogger("promptsmith.error")

_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


class RequestContext:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        request_id = (
            incoming if incoming and _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        )
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status: dict[str, Any] = {"code": 500, "sent": False}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"], status["sent"] = message["status"], True
                headers = [h for h in message.get("headers", []) if h[0] != b"x-request-id"]
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            error_logger.exception("unhandled error", extra={"path": scope.get("path")})
            if not status["sent"]:
                response = envelope(
                    500,
                    "Internal Server Error",
                    f"An unexpected error occurred. Quote request id {request_id} when "
                    "reporting it.",
                    requestId=request_id,
                )
                await response(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            method, route = (
                scope.get("method", ""),
                getattr(scope.get("route"), "path", "unmatched"),
            )
            HTTP_REQUESTS.labels(method, route, str(status["code"])).inc()
            HTTP_DURATION.labels(method, route).observe(elapsed)
            logger.info(
                "%s %s %s",
                method,
                scope.get("path"),
                status["code"],
                extra={"duration_ms": round(elapsed * 1000, 2)},
            )
            structlog.contextvars.unbind_contextvars("request_id")


class BodyLimit:
    """Refuse request bodies over `max_bytes` (413); paths matching `upload_paths` may
    send up to `upload_max_bytes` (document uploads)."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        upload_max_bytes: int | None = None,
        upload_paths: re.Pattern[str] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.upload_max_bytes = upload_max_bytes or max_bytes
        self.upload_paths = upload_paths

    def _limit(self, scope: Scope) -> int:
        if self.upload_paths is not None and self.upload_paths.fullmatch(scope.get("path", "")):
            return max(self.max_bytes, self.upload_max_bytes)
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope)
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._reject(scope, receive, send, limit)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413, self._message(limit))
            return message

        await self.app(scope, counting_receive, send)

    def _message(self, limit: int) -> str:
        return f"Request body exceeds the limit of {limit} bytes."

    async def _reject(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = envelope(
            413, "Payload Too Large", self._message(limit), headers={"Connection": "close"}
        )
        await response(scope, receive, send)
