"""Validating a drafted prompt: the checks nl-create and the assistant's draft share.

    draft = await validate_draft(current_prompt, model_output, contract, reask)

1. `refine_checked` extracts the prompt from fenced or prose-wrapped output,
   applies it to the current prompt section by section (untouched sections keep
   their bytes), repairs damage and holds it to the variable contract.
2. Output that had to be repaired because the model wrote malformed XML, that
   is unusable, or that invents variables is *re-asked once* with the problem
   (the parser's message, or which variables do not exist), through `reask`.
3. If the second answer still has a problem, its repaired / plain-words
   fallback is used (else the first answer's), and `warnings` say what was
   changed. Only when nothing usable exists is `UnusableModelOutput` raised.

The result always parses as a `<prompt>` document, never contains code fences
around it, and has been linted (`diagnostics`).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from .changes import has_changes_block, refine_checked
from .common import UnusableModelOutput
from .lint import lint
from .repair import repair_with_notes
from .sections import Refinement
from .variables import VariableContract
from .xml import PromptXMLError, extract_prompt, is_well_formed, parse_prompt

UNREPORTED = frozenset({"removed fences or prose around the prompt"})
"""Repairs too routine to be worth a warning: extraction is part of the contract."""

Reask = Callable[[str, str], Awaitable[str]]
"""`reask(previous_answer, problem)` asks the model once more and returns its new answer."""


@dataclass(frozen=True, slots=True)
class ValidatedDraft:
    prompt: str
    section: str | None
    summary: list[str]
    warnings: list[str]
    diagnostics: list[dict[str, Any]] = field(default_factory=list)
    reasked: bool = False


@dataclass(frozen=True, slots=True)
class _Assessment:
    problem: str | None  # what to tell the model; None when the answer is fine as it is
    usable: Refinement | None  # the best result this answer gives (repaired / fallback)


async def validate_draft(
    original: str,
    output: str,
    contract: VariableContract | None,
    reask: Reask,
    *,
    problem: str | None = None,
) -> ValidatedDraft:
    """Validate `output` against `original`; re-ask once when needed (see module docstring).

    `problem` forces a re-ask with that message (e.g. the answer had no draft at all).
    """
    # Parsing, merging, repairing and linting are CPU work (up to ~0.5 s on pathological
    # output, see bench/authoring.md): off the event loop.
    if problem:
        first = _Assessment(problem, None)
    else:
        first = await asyncio.to_thread(assess, original, output, contract)
    if first.problem is None and first.usable is not None:
        return await asyncio.to_thread(finish, first.usable, contract)
    assert first.problem is not None
    second_output = await reask(output, first.problem)
    second = await asyncio.to_thread(assess, original, second_output, contract)
    for candidate in (second.usable, first.usable):
        if candidate is not None:
            return await asyncio.to_thread(finish, candidate, contract, reasked=True)
    raise UnusableModelOutput(
        message=f"The model did not return a usable prompt after a retry: {second.problem}"
    )


NO_SECTIONS = (
    "Your answer contains no prompt: write the complete prompt as XML, from <prompt> to "
    "</prompt>, with its sections (<role>, <goal>, …) as child elements."
)


def assess(original: str, output: str, contract: VariableContract | None) -> _Assessment:
    output = bare_sections_as_changes(original, output) or output
    checked = refine_checked(original, output, contract)
    if checked.status == "reask":
        problems = [checked.reason, malformation(output) if checked.refinement else None]
        problem = " ".join(p for p in problems if p)
        return _Assessment(problem, _with_sections(checked.fallback))
    usable = _with_sections(checked.refinement)
    if usable is None:
        return _Assessment(NO_SECTIONS, None)
    return _Assessment(malformation(output), usable)


def bare_sections_as_changes(original: str, output: str) -> str | None:
    """Sections answered without a `<prompt>` root, as a `<changes>` block (else None).

    A model revising a prompt sometimes returns only the sections it changed.
    Merged as a whole prompt, that would delete every other section; read as
    replacements (same tag and position) and additions (new tags), it is exactly
    what the model meant. A complete re-emission without the root gives the
    same result either way.
    """
    if "<prompt" in output or has_changes_block(output) or not is_well_formed(original):
        return None
    fragment = extract_prompt(output)
    try:
        sections = parse_prompt(f"<prompt>{fragment}</prompt>").sections
    except PromptXMLError:
        return None
    if not sections:
        return None
    existing = Counter(node.name for node in parse_prompt(original).sections)
    wrapped, seen = f"<prompt>{fragment}</prompt>", Counter[str]()
    edits = []
    for node in sections:
        seen[node.name] += 1
        source = node.source(wrapped)
        if seen[node.name] <= existing[node.name]:
            index = seen[node.name]
            edits.append(f'<replace section="{node.name}" index="{index}">{source}</replace>')
        else:
            edits.append(f"<add>{source}</add>")
    return "<changes>" + "".join(edits) + "</changes>"


def _with_sections(refinement: Refinement | None) -> Refinement | None:
    """`refinement`, unless it has no sections (prose the repairer wrapped in `<prompt>`)."""
    if refinement is None:
        return None
    try:
        return refinement if parse_prompt(refinement.text).sections else None
    except PromptXMLError:
        return refinement  # `finish` repairs it


def malformation(output: str) -> str | None:
    """Why the prompt the model wrote is not well-formed XML (None when it is).

    Fences and surrounding prose are not malformations: they are removed by
    extraction. A `<changes>` block was already parsed strictly by `refine`.
    """
    if has_changes_block(output):
        return None
    try:
        parse_prompt(extract_prompt(output))
    except PromptXMLError as exc:
        return f"Your answer is not a well-formed XML prompt. {exc.message}"
    return None


def finish(
    refinement: Refinement, contract: VariableContract | None, *, reasked: bool = False
) -> ValidatedDraft:
    text, notes = refinement.text, list(refinement.notes)
    try:
        parse_prompt(text)
    except PromptXMLError:
        try:
            repaired = repair_with_notes(text)
        except PromptXMLError as exc:
            raise UnusableModelOutput(message=f"The drafted prompt is not usable: {exc}") from None
        text, notes = repaired.text, [*notes, *repaired.notes]
    diagnostics = [diagnostic.to_dict() for diagnostic in lint(text, contract)]
    return ValidatedDraft(
        prompt=text,
        section=refinement.section if refinement.section != "prompt" else None,
        summary=refinement.summary or ["No changes."],
        warnings=[_sentence(note) for note in dict.fromkeys(notes) if note not in UNREPORTED],
        diagnostics=diagnostics,
        reasked=reasked,
    )


def _sentence(note: str) -> str:
    return note[:1].upper() + note[1:]
