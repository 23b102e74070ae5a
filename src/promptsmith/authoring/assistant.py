"""prompt-assistant/stream: one assistant turn as a stream of events.

    mode             decided locally by the classifier (modes.classify_turn), before any call
    status           short labels as work progresses
    reasoning-delta  the model's reasoning, when it streams any
    assistant-delta  the reply
    draft-ready      draft mode only: the validated, linted prompt
    (done)           sent by the transport

One model call per turn. In draft mode the model streams its reply and then
the complete prompt between `<draft>` and `</draft>`; `DraftSplitter` releases
only the reply, buffers the draft, and the draft goes through the same
validation as nl-create (`drafts.validate_draft`). Only when the draft is
missing or broken is the model asked once more (without streaming). Chat and
clarify stream the model's text as it comes and never produce a draft.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass

from ..api.schemas import AIPromptAssistantStreamRequest, clean_history
from ..providers.base import Finish, ReasoningDelta, TextDelta
from ..streaming.events import (
    AssistantDelta,
    DraftReady,
    ErrorEvent,
    Event,
    ModeEvent,
    ReasoningDeltaEvent,
    StatusEvent,
)
from .common import (
    AuthoringCall,
    UnusableModelOutput,
    ask,
    model_request,
    reask_message,
    system_blocks,
    truncation_problem,
)
from .draft_stream import DraftSplitter, split_all
from .drafts import assess, validate_draft
from .inputs import cap_history, read_contract
from .modes import Mode, classify_turn
from .templates import format_history, format_prompt, format_variables, render

STATUS = {
    "chat": "Reading your prompt",
    "clarify": "Working out what to ask",
    "draft": "Drafting the prompt",
}
MISSING_DRAFT = (
    "Your answer had no draft. After your reply, write the complete prompt between a line "
    "that is exactly <draft> and a line that is exactly </draft>."
)


@dataclass(frozen=True, slots=True)
class TurnPlan:
    mode: Mode
    system_name: str
    user: str


def plan_turn(body: AIPromptAssistantStreamRequest) -> TurnPlan:
    """The mode (local classifier) and the request for this turn; no model call."""
    turns = cap_history(clean_history(body.conversationHistory))
    assisted = bool(body.assistedMode)
    decision = classify_turn(
        body.instruction,
        current_prompt=body.currentPrompt,
        history=[(turn.role, turn.content) for turn in turns],
        assisted_mode=assisted,
    )
    contract, _ = read_contract(body.variableContext)
    user = render(
        "assistant_request",
        history=format_history(turns),
        current_prompt=format_prompt(body.currentPrompt),
        variables=format_variables(contract),
        instruction=body.instruction,
    )
    name = f"assistant_{decision.mode}"
    if decision.mode == "draft" and not assisted:
        name = "assistant_draft_light"
    return TurnPlan(decision.mode, name, user)


async def assistant_turn(
    call: AuthoringCall, body: AIPromptAssistantStreamRequest
) -> AsyncIterator[Event]:
    plan = plan_turn(body)
    yield ModeEvent(mode=plan.mode)
    call.services.router.check_ready(call.choice)
    yield StatusEvent(label=STATUS[plan.mode])
    if plan.mode == "draft":
        async for event in _draft_turn(call, body, plan):
            yield event
    else:
        async for event in _reply_turn(call, plan):
            yield event


async def _reply_turn(call: AuthoringCall, plan: TurnPlan) -> AsyncIterator[Event]:
    """chat / clarify: the model's text, streamed as it comes."""
    request = model_request(call, system_blocks(plan.system_name), plan.user)
    stream = call.services.router.stream(request, call.choice, call.context)
    async with aclosing(stream) as events:
        async for event in events:
            if isinstance(event, TextDelta) and event.text:
                yield AssistantDelta(delta=event.text)
            elif isinstance(event, ReasoningDelta) and event.text:
                yield ReasoningDeltaEvent(delta=event.text)


async def _draft_turn(
    call: AuthoringCall, body: AIPromptAssistantStreamRequest, plan: TurnPlan
) -> AsyncIterator[Event]:
    current = body.currentPrompt or ""
    system = system_blocks(plan.system_name, current_prompt=current)
    request = model_request(call, system, plan.user)
    splitter = DraftSplitter()
    wrote_draft = truncated = False
    stream = call.services.router.stream(request, call.choice, call.context)
    async with aclosing(stream) as events:
        async for event in events:
            if isinstance(event, TextDelta):
                if text := splitter.feed(event.text):
                    yield AssistantDelta(delta=text)
                if splitter.draft_started and not wrote_draft:
                    wrote_draft = True
                    yield StatusEvent(label="Writing the draft")
            elif isinstance(event, ReasoningDelta) and event.text:
                yield ReasoningDeltaEvent(delta=event.text)
            elif isinstance(event, Finish):
                truncated = event.reason == "length"
    result = splitter.finish()
    if result.reply_tail:
        yield AssistantDelta(delta=result.reply_tail)

    contract, contract_warnings = read_contract(body.variableContext)
    output = result.draft or ""
    problem = None if result.draft is not None else MISSING_DRAFT
    if truncated:
        problem = truncation_problem(bool(current.strip()))
        system = system_blocks(plan.system_name, current_prompt=current, compact=True)
    needs_retry = problem is not None
    if not needs_retry:
        needs_retry = (
            await asyncio.to_thread(assess, current, output, contract)
        ).problem is not None
    yield StatusEvent(label="Fixing the draft" if needs_retry else "Checking the draft")

    async def reask(previous: str, why: str) -> str:
        answer = await ask(call, system, reask_message(plan.user, previous or splitter.reply, why))
        return split_all([answer])[1].draft or answer

    try:
        draft = await validate_draft(current, output, contract, reask, problem=problem)
    except UnusableModelOutput as exc:
        yield ErrorEvent(error=exc.error, message=exc.message, requestId=call.context.request_id)
        return
    yield DraftReady(
        prompt=draft.prompt,
        section=draft.section,
        summary=draft.summary,
        warnings=[*contract_warnings, *draft.warnings],
        diagnostics=draft.diagnostics,
    )
