"""Checking and shaping what a request sends, before any model call.

* `guard_prompt`: a prompt field (`existingPrompt`, `fullPrompt`, `currentPrompt`)
  that is dangerous or oversized XML (a DTD, entity declarations such as a
  billion-laughs or external-entity payload, too deep, too many elements, too
  long) is refused with a 400 naming the field. Merely malformed XML is
  accepted: people send prompts they are still writing.
* `cap_history`: the most recent turns that fit a token budget.
* `read_contract`: the variable contract of `variableContext`, and warnings about
  keys that were ignored.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..api.schemas import Turn
from ..exceptions import BadRequest
from .variables import VariableContract, parse_variable_context
from .xml import PromptXMLError, parse_xml

HISTORY_TOKEN_BUDGET = 6_000
CHARS_PER_TOKEN = 4
_REFUSED = frozenset({"dtd_forbidden", "too_large", "too_deep", "too_many_elements"})


def guard_prompt(text: str | None, field: str) -> None:
    """Raise a 400 if `text` is XML the service refuses to process (see module docstring)."""
    if not text or not text.strip():
        return
    try:
        parse_xml(text)
    except PromptXMLError as exc:
        if exc.code in _REFUSED:
            first_line = exc.message.split("\n", 1)[0]
            raise BadRequest(
                error=f"{field} is not acceptable XML",
                message=f"{field}: {first_line}",
                extra={"code": exc.code},
            ) from None


def estimate_tokens(text: str) -> int:
    return -(-len(text) // CHARS_PER_TOKEN)


def cap_history(turns: Sequence[Turn], budget: int = HISTORY_TOKEN_BUDGET) -> list[Turn]:
    """The most recent turns whose estimated tokens fit `budget`, oldest first.

    When even the latest turn is over budget, its end is kept (the newest words
    matter most), marked as shortened.
    """
    kept: list[Turn] = []
    used = 0
    for turn in reversed(turns):
        cost = estimate_tokens(turn.content)
        if used + cost > budget:
            if not kept:
                tail = turn.content[-budget * CHARS_PER_TOKEN :]
                kept.append(Turn(turn.role, "[earlier part of this message omitted] " + tail))
            break
        kept.append(turn)
        used += cost
    kept.reverse()
    return kept


def read_contract(
    variable_context: dict[str, Any] | None,
) -> tuple[VariableContract | None, list[str]]:
    """The contract (None when no `variableContext` was sent) and warnings about ignored keys."""
    contract = parse_variable_context(variable_context) if variable_context is not None else None
    warnings = []
    if contract is not None and contract.ignored:
        names = ", ".join(contract.ignored[:10])
        warnings.append(f"Ignored variableContext keys that are not valid variable names: {names}")
    return contract, warnings
