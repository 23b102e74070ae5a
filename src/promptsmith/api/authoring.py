"""The prompt-authoring endpoints: nl-create, nl-edit, prompt-assistant/stream."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from ..authoring.assistant import assistant_turn
from ..authoring.common import prepare_call
from ..authoring.create import create_prompt
from ..authoring.edit import rewrite_selection
from ..streaming.transport import Framing, negotiate_framing
from .deps import OrgPrincipal, ServicesDep
from .errors import request_id
from .routing import OrgRoute
from .schemas import (
    AIErrorResponse,
    AINLCreateRequest,
    AINLCreateResponse,
    AINLEditRequest,
    AINLEditResponse,
    AIPromptAssistantStreamRequest,
)
from .streams import stream_response

router = APIRouter(prefix="/api/ai", tags=["AI"], route_class=OrgRoute, strict_content_type=False)

BEARER: list[dict[str, list[str]]] = [{"bearerAuth": []}]


def error_responses(bad_request: str, server_error: str) -> dict[int | str, dict[str, Any]]:
    return {
        400: {"model": AIErrorResponse, "description": bad_request},
        401: {"model": AIErrorResponse, "description": "Unauthorized"},
        500: {"model": AIErrorResponse, "description": server_error},
        503: {"model": AIErrorResponse, "description": "AI provider setup required"},
    }


@router.post(
    "/nl-create",
    operation_id="post_ai_nl_create",
    summary="Generate XML prompt from natural language",
    description=(
        "Generates a full XML prompt from a natural language instruction, or iteratively "
        "refines an existing prompt when conversationHistory and existingPrompt are supplied. "
        "Does not persist anything; the returned prompt text is meant to be saved by the caller."
    ),
    response_model=AINLCreateResponse,
    response_description="Prompt drafted",
    responses=error_responses("instruction is required", "Failed to generate prompt"),
    openapi_extra={"security": BEARER},
)
async def nl_create(
    body: AINLCreateRequest, principal: OrgPrincipal, services: ServicesDep, request: Request
) -> AINLCreateResponse:
    call = await prepare_call(
        services,
        principal,
        body.modelOverride,
        endpoint="nl-create",
        request_id=request_id(request),
    )
    result = await create_prompt(call, body)
    return AINLCreateResponse(success=True, prompt=result.prompt, warnings=result.warnings)


@router.post(
    "/nl-edit",
    operation_id="post_ai_nl_edit",
    summary="Rewrite a selected prompt section via natural language",
    description=(
        "Rewrites only the selected text of a prompt; the caller splices the result back in."
    ),
    response_model=AINLEditResponse,
    response_description="Selection rewritten",
    responses=error_responses("selectedText and instruction are required", "Failed to rewrite"),
    openapi_extra={"security": BEARER},
)
async def nl_edit(
    body: AINLEditRequest, principal: OrgPrincipal, services: ServicesDep, request: Request
) -> AINLEditResponse:
    call = await prepare_call(
        services, principal, body.modelOverride, endpoint="nl-edit", request_id=request_id(request)
    )
    rewritten = await rewrite_selection(call, body)
    return AINLEditResponse(success=True, rewrittenText=rewritten)


_EVENT_SCHEMA = {"schema": {"$ref": "#/components/schemas/AIPromptAssistantStreamEvent"}}


@router.post(
    "/prompt-assistant/stream",
    operation_id="post_ai_prompt_assistant_stream",
    summary="Conversational prompt assistant (streaming)",
    description=(
        "Classifies the user turn into chat, clarify, or draft mode, then streams "
        "newline-delimited JSON events (mode, status, assistant-delta, reasoning-delta, "
        "draft-ready, ai-setup-required, error, done). Sends SSE instead when the Accept "
        "header prefers text/event-stream."
    ),
    response_model=None,
    responses={
        200: {
            "description": (
                "NDJSON event stream of assistant reply deltas and optional draft prompt"
            ),
            "content": {"application/x-ndjson": _EVENT_SCHEMA, "text/event-stream": _EVENT_SCHEMA},
        },
        **error_responses("instruction is required", "Failed to process prompt assistant request"),
    },
    openapi_extra={"security": BEARER},
)
async def prompt_assistant_stream(
    body: AIPromptAssistantStreamRequest,
    principal: OrgPrincipal,
    services: ServicesDep,
    request: Request,
) -> Any:
    call = await prepare_call(
        services,
        principal,
        body.modelOverride,
        endpoint="prompt-assistant",
        request_id=request_id(request),
    )
    framing = negotiate_framing(request.headers.get("accept"), default=Framing.NDJSON)
    return stream_response(request, assistant_turn(call, body), framing)
