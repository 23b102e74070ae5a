"""The prompt-authoring endpoints: nl-create, nl-edit, prompt-assistant/stream, prompt-lint.

Prompt fields are checked before anything else (`inputs.guard_prompt`): a DTD,
entity declarations (billion laughs, external entities) or an oversized /
too-deep document is a 400 naming the field, before any model call or stream.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from ..authoring.assistant import assistant_turn
from ..authoring.common import prepare_call
from ..authoring.create import create_prompt
from ..authoring.edit import find_selection, rewrite_selection
from ..authoring.inputs import guard_prompt
from ..authoring.lint import LintConfig, lint
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
    AIPromptLintRequest,
    AIPromptLintResponse,
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
        "Does not persist anything; the returned prompt text is meant to be saved by the caller. "
        "The prompt is always well-formed XML with root <prompt>, uses only the @variables of "
        "variableContext, and keeps untouched sections of existingPrompt byte-identical. Extra "
        "response fields: warnings (what was repaired or replaced), summary (one line per "
        "change), section (the one section that changed, if exactly one), diagnostics (lint)."
    ),
    response_model=AINLCreateResponse,
    response_description="Prompt drafted",
    responses=error_responses("instruction is required", "Failed to generate prompt"),
    openapi_extra={"security": BEARER},
)
async def nl_create(
    body: AINLCreateRequest, principal: OrgPrincipal, services: ServicesDep, request: Request
) -> AINLCreateResponse:
    guard_prompt(body.existingPrompt, "existingPrompt")
    call = await prepare_call(
        services,
        principal,
        body.modelOverride,
        endpoint="nl-create",
        request_id=request_id(request),
    )
    draft = await create_prompt(call, body)
    return AINLCreateResponse(
        success=True,
        prompt=draft.prompt,
        warnings=draft.warnings,
        summary=draft.summary,
        section=draft.section,
        diagnostics=draft.diagnostics,
    )


@router.post(
    "/nl-edit",
    operation_id="post_ai_nl_edit",
    summary="Rewrite a selected prompt section via natural language",
    description=(
        "Rewrites only the selected text of a prompt; the caller splices the result back in. "
        "When fullPrompt is given, selectedText must occur in it (400 otherwise), and the "
        "spliced prompt stays well-formed. Extra response field: warnings."
    ),
    response_model=AINLEditResponse,
    response_description="Selection rewritten",
    responses=error_responses("selectedText and instruction are required", "Failed to rewrite"),
    openapi_extra={"security": BEARER},
)
async def nl_edit(
    body: AINLEditRequest, principal: OrgPrincipal, services: ServicesDep, request: Request
) -> AINLEditResponse:
    guard_prompt(body.fullPrompt, "fullPrompt")
    selection = find_selection(body)
    call = await prepare_call(
        services, principal, body.modelOverride, endpoint="nl-edit", request_id=request_id(request)
    )
    result = await rewrite_selection(call, body, selection)
    return AINLEditResponse(
        success=True, rewrittenText=result.rewritten_text, warnings=result.warnings
    )


_EVENT_SCHEMA = {"schema": {"$ref": "#/components/schemas/AIPromptAssistantStreamEvent"}}


@router.post(
    "/prompt-assistant/stream",
    operation_id="post_ai_prompt_assistant_stream",
    summary="Conversational prompt assistant (streaming)",
    description=(
        "Classifies the user turn into chat, clarify, or draft mode, then streams "
        "newline-delimited JSON events (mode, status, assistant-delta, reasoning-delta, "
        "draft-ready, ai-setup-required, error, done). Sends SSE instead when the Accept "
        "header prefers text/event-stream. The mode is decided locally before any model call; "
        "draft-ready (draft mode only) carries the validated prompt, section (when exactly one "
        "changed), summary, warnings and lint diagnostics."
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
    guard_prompt(body.currentPrompt, "currentPrompt")
    call = await prepare_call(
        services,
        principal,
        body.modelOverride,
        endpoint="prompt-assistant",
        request_id=request_id(request),
    )
    framing = negotiate_framing(request.headers.get("accept"), default=Framing.NDJSON)
    return stream_response(request, assistant_turn(call, body), framing)


@router.post(
    "/prompt-lint",
    operation_id="post_ai_prompt_lint",
    summary="Lint an XML prompt",
    description=(
        "Checks a prompt without calling a model and returns diagnostics, each with a stable "
        "code, a severity, a message and a location: well-formedness, missing role, goal or "
        "output format, undeclared or unused variables (when variableContext is given), empty "
        "or duplicate sections, contradicting rules, leftover placeholders and fences, and an "
        "overlong prompt. See docs/lint-rules.md."
    ),
    response_model=AIPromptLintResponse,
    response_description="Diagnostics, sorted by position",
    responses={
        400: {"model": AIErrorResponse, "description": "prompt is required"},
        401: {"model": AIErrorResponse, "description": "Unauthorized"},
        500: {"model": AIErrorResponse, "description": "Failed to lint prompt"},
    },
    openapi_extra={"security": BEARER},
)
async def prompt_lint(body: AIPromptLintRequest, principal: OrgPrincipal) -> AIPromptLintResponse:
    config = LintConfig(max_tokens=body.maxTokens) if body.maxTokens else LintConfig()
    diagnostics = await run_in_threadpool(lint, body.prompt, body.variableContext, config)
    counts = Counter(d.severity for d in diagnostics)
    return AIPromptLintResponse(
        success=True,
        wellFormed=not any(d.code in ("PS001", "PS002") for d in diagnostics),
        errors=counts["error"],
        warnings=counts["warning"],
        infos=counts["info"],
        diagnostics=[d.to_dict() for d in diagnostics],
    )
