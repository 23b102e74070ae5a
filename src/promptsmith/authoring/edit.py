"""nl-edit: rewrite only the selected span, and make sure it splices back cleanly.

    selection = locate_selection(fullPrompt, selectedText, context)   # 400 if not found
    answer    = one model call (edit_assisted / edit_light system prompt)
    result    = check_rewrite(selection, answer, contract)

The model sees the full prompt (read-only), where the selection sits (its
enclosing element, whether it is plain text, the caller's `context` hint), the
available variables and the instruction, each in its own tag. Its answer is
cleaned (fences, quotes, "Here is…" prose), held to "plain text in, plain text
out", spliced into the full prompt, which must still parse, and held to the
variable contract. Anything that fails is re-asked once with the reason; after
that, invented variables become plain words and stray tags in a plain-text
rewrite are dropped. A rewrite that still cannot be spliced is a 502.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field

from ..api.schemas import AINLEditRequest
from .common import AuthoringCall, UnusableModelOutput, ask, reask_message, system_blocks
from .inputs import read_contract
from .splice import Selection, SpliceResult, check_rewrite, locate_selection
from .templates import format_prompt, format_variables, render
from .variables import VariableContract

_TAG = re.compile(r"</?[A-Za-z_][\w.\-]*(?:\s[^<>]*)?/?>")


@dataclass(frozen=True, slots=True)
class EditResult:
    rewritten_text: str
    warnings: list[str] = field(default_factory=list)


def find_selection(body: AINLEditRequest) -> Selection:
    """Where the selection is; `SelectionError` (400) when it is not in `fullPrompt`."""
    return locate_selection(body.fullPrompt, body.selectedText, body.context)


def edit_request_text(body: AINLEditRequest, selection: Selection) -> str:
    contract, _ = read_contract(body.variableContext)
    location = selection.describe()
    if body.context and body.context.strip():
        location += f"\nThe user describes the selection as: {body.context.strip()}"
    return render(
        "edit_request",
        full_prompt=format_prompt(body.fullPrompt, empty="(not provided)"),
        location=location,
        variables=format_variables(contract),
        selected_text=body.selectedText,
        instruction=body.instruction,
    )


async def rewrite_selection(
    call: AuthoringCall, body: AINLEditRequest, selection: Selection | None = None
) -> EditResult:
    selection = selection or find_selection(body)
    call.services.router.check_ready(call.choice)
    contract, warnings = read_contract(body.variableContext)
    system = system_blocks("edit_assisted" if body.assistedMode else "edit_light")
    user = edit_request_text(body, selection)
    answer = await ask(call, system, user)
    result = await asyncio.to_thread(check_rewrite, selection, answer, contract)
    if not result.ok:
        assert result.reason is not None
        answer = await ask(call, system, reask_message(user, answer, result.reason))
        second = await asyncio.to_thread(check_rewrite, selection, answer, contract)
        result = _last_resort(selection, second, contract)
    notes = [note[:1].upper() + note[1:] for note in dict.fromkeys(result.notes)]
    return EditResult(result.rewritten_text, [*warnings, *notes])


def _last_resort(
    selection: Selection, result: SpliceResult, contract: VariableContract | None
) -> SpliceResult:
    if result.ok:
        return result
    if result.fallback is not None and result.fallback.ok:
        return result.fallback
    if selection.kind == "text" and _TAG.search(result.rewritten_text):
        stripped = check_rewrite(selection, _TAG.sub("", result.rewritten_text), contract)
        stripped = stripped if stripped.ok else (stripped.fallback or stripped)
        if stripped.ok:
            note = "removed XML tags from the rewrite, because the selection is plain text"
            return SpliceResult(
                stripped.status,
                stripped.rewritten_text,
                stripped.full_prompt,
                selection,
                None,
                (note, *stripped.notes),
            )
    raise UnusableModelOutput(
        message=f"The model did not return a usable rewrite after a retry: {result.reason}"
    )
