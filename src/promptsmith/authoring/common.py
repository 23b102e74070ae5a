"""What every authoring endpoint needs: model resolution, the call context, and model calls.

`ask` makes one non-streaming model call with a static (cacheable) system
prompt and one user message. `reask_message` builds the user message of the
single re-ask the endpoints allow: the original request, then the model's
previous answer and what was wrong with it (`prompts/reask.md`), in one user
turn so every provider accepts it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..api.schemas import AiModelOverride
from ..auth import Principal
from ..exceptions import ApiError
from ..providers.base import ChatMessage, Completion, ModelRequest, SystemBlock
from ..providers.router import CallContext, ModelChoice
from ..services import Services
from .templates import load, render

LONG_PROMPT_CHARS = 6_000
"""Past this size the model may answer with a `<changes>` block instead of the whole prompt."""


class UnusableModelOutput(ApiError):
    """The model's answers could not be turned into a valid result, even after a re-ask."""

    status_code = 502
    default_error = "Model output unusable"


@dataclass(frozen=True, slots=True)
class AuthoringCall:
    services: Services
    choice: ModelChoice
    context: CallContext


async def prepare_call(
    services: Services,
    principal: Principal,
    override: AiModelOverride | None,
    *,
    endpoint: str,
    request_id: str,
) -> AuthoringCall:
    choice = await services.router.resolve(
        override=(override.provider, override.model) if override else None,
        org=principal.org,
    )
    context = CallContext(
        endpoint=endpoint, request_id=request_id, org=principal.org, user=principal.subject
    )
    return AuthoringCall(services, choice, context)


def system_blocks(
    name: str, *, current_prompt: str | None = None, compact: bool = False
) -> list[SystemBlock]:
    """The system prompt `name`, plus the `<changes>` format for a long current prompt
    (or whenever `compact` is set and there is a current prompt to change)."""
    blocks = [SystemBlock(load(name), cache=True)]
    has_prompt = bool(current_prompt and current_prompt.strip())
    if has_prompt and (compact or len(current_prompt or "") > LONG_PROMPT_CHARS):
        blocks.append(SystemBlock(load("changes_format"), cache=True))
    return blocks


def truncation_problem(has_current_prompt: bool) -> str:
    """The re-ask message for an answer the model's output limit cut off."""
    if has_current_prompt:
        return (
            "Your answer was cut off by the output length limit before the prompt ended. "
            "Return only the sections that change, as one <changes> block."
        )
    return (
        "Your answer was cut off by the output length limit before the prompt ended. "
        "Write the complete prompt again, more concisely."
    )


def model_request(call: AuthoringCall, system: list[SystemBlock], user: str) -> ModelRequest:
    return ModelRequest(
        model=call.choice.model,
        system=system,
        messages=[ChatMessage("user", user)],
    )


async def ask_model(call: AuthoringCall, system: list[SystemBlock], user: str) -> Completion:
    """One model call; the whole answer."""
    request = model_request(call, system, user)
    return await call.services.router.complete(request, call.choice, call.context)


async def ask(call: AuthoringCall, system: list[SystemBlock], user: str) -> str:
    """One model call; its text."""
    return (await ask_model(call, system, user)).text


def reask_message(original: str, previous_answer: str, problem: str) -> str:
    """The original request followed by the re-ask: what was wrong with the previous answer."""
    follow_up = render("reask", previous_answer=previous_answer.strip(), problem=problem)
    return f"{original}\n\n{follow_up}"
