"""nl-edit: rewrite only the selected span (foundation version)."""

from __future__ import annotations

from ..api.schemas import AINLEditRequest
from ..providers.base import ChatMessage, ModelRequest, SystemBlock
from .common import AuthoringCall

SYSTEM = "Rewrite only the selected text as instructed. Answer with the replacement text only."


async def rewrite_selection(call: AuthoringCall, body: AINLEditRequest) -> str:
    call.services.router.check_ready(call.choice)
    user = (
        f"<selection>{body.selectedText}</selection>\n<instruction>{body.instruction}</instruction>"
    )
    request = ModelRequest(
        model=call.choice.model, system=[SystemBlock(SYSTEM)], messages=[ChatMessage("user", user)]
    )
    completion = await call.services.router.complete(request, call.choice, call.context)
    return completion.text.strip()
