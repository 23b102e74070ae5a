"""Course Q&A over SSE: POST /api/ai/personal-stream/qanda-stream."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from ..qanda.access import resolve
from ..qanda.stream import answer
from ..streaming.transport import Framing
from .deps import InstitutionPrincipal, ServicesDep
from .errors import request_id
from .routing import InstitutionRoute
from .schemas import AIErrorResponse, QandaStreamRequest
from .streams import stream_response

router = APIRouter(
    prefix="/api/ai/personal-stream",
    tags=["AI"],
    route_class=InstitutionRoute,
    strict_content_type=False,
)

_EVENT_SCHEMA = {"schema": {"$ref": "#/components/schemas/QandaStreamEvent"}}


@router.post(
    "/qanda-stream",
    operation_id="post_ai_personal_stream_qanda_stream",
    summary="Send a message with HTTP SSE streaming response",
    description=(
        "Answers the learner's last message, grounded in the selected course's materials, "
        "as Server-Sent Events: connected, tool_call, tool_result, stream, complete, "
        "error, done."
    ),
    response_model=None,
    responses={
        200: {
            "description": "SSE stream of AI response chunks",
            "content": {"text/event-stream": _EVENT_SCHEMA},
        },
        400: {
            "model": AIErrorResponse,
            "description": "inputs is required, or userTimezone is not an IANA time zone",
        },
        401: {"model": AIErrorResponse, "description": "Unauthorized"},
        403: {"model": AIErrorResponse, "description": "Token is not for this institution"},
        404: {"model": AIErrorResponse, "description": "Assistant or course not found"},
        500: {"model": AIErrorResponse, "description": "Internal Server Error"},
    },
    openapi_extra={"security": [{"accessToken": []}]},
)
async def qanda_stream(
    body: QandaStreamRequest,
    principal: InstitutionPrincipal,
    services: ServicesDep,
    request: Request,
) -> Any:
    context = await resolve(services, principal, body)
    events = answer(services, context, request_id(request))
    return stream_response(request, events, Framing.SSE, setup_as_error=True)
