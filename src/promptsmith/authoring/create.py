"""nl-create: draft a whole XML prompt from an instruction (foundation version)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..api.schemas import AINLCreateRequest, clean_history
from ..providers.base import ChatMessage, ModelRequest, SystemBlock
from .common import AuthoringCall

SYSTEM = (
    "You write XML prompts for AI agents. Answer with one well-formed XML document "
    "whose root element is <prompt>."
)


@dataclass
class CreateResult:
    prompt: str
    warnings: list[str] = field(default_factory=list)


async def create_prompt(call: AuthoringCall, body: AINLCreateRequest) -> CreateResult:
    call.services.router.check_ready(call.choice)
    messages = [ChatMessage(t.role, t.content) for t in clean_history(body.conversationHistory)]
    messages.append(ChatMessage("user", body.instruction))
    request = ModelRequest(model=call.choice.model, system=[SystemBlock(SYSTEM)], messages=messages)
    completion = await call.services.router.complete(request, call.choice, call.context)
    return CreateResult(prompt=completion.text.strip())
