"""Turning an endpoint's event generator into a response, and failures into events."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable

from fastapi import Request

from ..exceptions import ProviderError, SetupRequired
from ..streaming.events import ErrorEvent, Event, SetupRequiredEvent
from ..streaming.transport import EventStreamResponse, Framing
from .errors import request_id

logger = logging.getLogger("promptsmith.streams")


def failure_event(exc: Exception, request_id: str, *, setup_as_error: bool = False) -> Event:
    """The event that reports `exc` to a client whose stream has already started."""
    if isinstance(exc, SetupRequired):
        if setup_as_error:
            return ErrorEvent(
                error="ai_setup_required",
                code=exc.code,
                provider=exc.provider,
                message=exc.message,
            )
        return SetupRequiredEvent(
            code=exc.code, provider=exc.provider, reason=exc.reason, message=exc.message
        )
    if isinstance(exc, ProviderError):
        source = f"{exc.provider} ({exc.model})" if exc.provider else "the model provider"
        return ErrorEvent(
            error="Model provider failed",
            message=f"{source}: {exc.message}",
            provider=exc.provider or None,
            requestId=request_id,
        )
    logger.error("stream failed", exc_info=exc)
    return ErrorEvent(
        error="Internal error",
        message=f"Something went wrong while streaming. Quote request id {request_id}.",
        requestId=request_id,
    )


def stream_response(
    request: Request,
    events: AsyncIterator[Event],
    framing: Framing,
    *,
    setup_as_error: bool = False,
) -> EventStreamResponse:
    rid = request_id(request)
    on_error: Callable[[Exception], Event] = lambda exc: failure_event(  # noqa: E731
        exc, rid, setup_as_error=setup_as_error
    )
    return EventStreamResponse(
        events,
        framing=framing,
        heartbeat=request.app.state.services.settings.heartbeat_seconds,
        on_error=on_error,
    )
