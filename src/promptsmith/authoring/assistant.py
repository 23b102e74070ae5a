"""prompt-assistant/stream: one assistant turn as a stream of events (foundation version)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing

from ..api.schemas import AIPromptAssistantStreamRequest, clean_history
from ..providers.base import ChatMessage, ModelRequest, ReasoningDelta, SystemBlock, TextDelta
from ..streaming.events import (
    AssistantDelta,
    Event,
    ModeEvent,
    ReasoningDeltaEvent,
    StatusEvent,
)
from .common import AuthoringCall

SYSTEM = "You help people write XML prompts for AI agents."


async def assistant_turn(
    call: AuthoringCall, body: AIPromptAssistantStreamRequest
) -> AsyncIterator[Event]:
    yield ModeEvent(mode="chat")
    call.services.router.check_ready(call.choice)
    yield StatusEvent(label="Thinking")
    messages = [ChatMessage(t.role, t.content) for t in clean_history(body.conversationHistory)]
    messages.append(ChatMessage("user", body.instruction))
    request = ModelRequest(model=call.choice.model, system=[SystemBlock(SYSTEM)], messages=messages)
    stream = call.services.router.stream(request, call.choice, call.context)
    async with aclosing(stream) as events:
        async for event in events:
            if isinstance(event, TextDelta):
                yield AssistantDelta(delta=event.text)
            elif isinstance(event, ReasoningDelta):
                yield ReasoningDeltaEvent(delta=event.text)
