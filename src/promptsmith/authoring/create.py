"""nl-create: draft a whole XML prompt from an instruction, or refine an existing one.

One model call with the assisted or light system prompt; the conversation
history, the current prompt, the available variables and the instruction each
sit in their own tag of the user message (`prompts/create_request.md`). The
answer goes through `drafts.validate_draft` (extraction, section-level merge,
repair, the variable contract, one re-ask), so the returned prompt is always
well-formed XML with root `<prompt>`, and sections the instruction did not
touch are byte-identical to `existingPrompt`.
"""

from __future__ import annotations

from dataclasses import replace

from ..api.schemas import AINLCreateRequest, clean_history
from .common import (
    AuthoringCall,
    ask,
    ask_model,
    reask_message,
    system_blocks,
    truncation_problem,
)
from .drafts import ValidatedDraft, validate_draft
from .inputs import cap_history, read_contract
from .templates import format_history, format_prompt, format_variables, render


def create_request_text(body: AINLCreateRequest) -> str:
    """The user message of the nl-create call."""
    contract, _ = read_contract(body.variableContext)
    turns = cap_history(clean_history(body.conversationHistory))
    return render(
        "create_request",
        history=format_history(turns),
        current_prompt=format_prompt(body.existingPrompt),
        variables=format_variables(contract),
        instruction=body.instruction,
    )


async def create_prompt(call: AuthoringCall, body: AINLCreateRequest) -> ValidatedDraft:
    call.services.router.check_ready(call.choice)
    existing = body.existingPrompt or ""
    contract, contract_warnings = read_contract(body.variableContext)
    name = "create_assisted" if body.assistedMode else "create_light"
    system = system_blocks(name, current_prompt=existing)
    user = create_request_text(body)
    answer = await ask_model(call, system, user)
    truncated = answer.finish_reason == "length"
    if truncated:  # a second full answer would be cut off too: offer the compact format
        system = system_blocks(name, current_prompt=existing, compact=True)

    async def reask(previous: str, problem: str) -> str:
        return await ask(call, system, reask_message(user, previous, problem))

    problem = truncation_problem(bool(existing.strip())) if truncated else None
    draft = await validate_draft(existing, answer.text, contract, reask, problem=problem)
    return replace(draft, warnings=[*contract_warnings, *draft.warnings])
