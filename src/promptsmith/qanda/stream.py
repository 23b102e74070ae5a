"""qanda-stream: answer a learner's question as SSE events (foundation version)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing

from ..api.schemas import QandaStreamRequest
from ..auth import Principal
from ..providers.base import ChatMessage, ModelRequest, SystemBlock, TextDelta, Usage
from ..providers.router import CallContext
from ..services import Services
from ..streaming.events import Complete, Connected, Event, StreamChunk

SYSTEM = "You are a course assistant. Answer the learner's question."


async def answer(
    services: Services, principal: Principal, body: QandaStreamRequest, request_id: str
) -> AsyncIterator[Event]:
    yield Connected()
    choice = await services.router.resolve()
    services.router.check_ready(choice)
    context = CallContext(
        endpoint="qanda-stream",
        request_id=request_id,
        institution=principal.institution,
        user=principal.subject,
    )
    messages = [ChatMessage("user", text) for text in body.inputs if text.strip()]
    request = ModelRequest(model=choice.model, system=[SystemBlock(SYSTEM)], messages=messages)
    answer_text, usage = "", Usage()
    async with aclosing(services.router.stream(request, choice, context)) as events:
        async for event in events:
            if isinstance(event, TextDelta):
                answer_text += event.text
                yield StreamChunk(prompt=answer_text, delta=event.text)
            elif isinstance(event, Usage):
                usage = event
    yield Complete(
        usage=usage.total_tokens,
        outputs=[answer_text],
        model=choice.model,
        cached=usage.cache_read_tokens,
        completion=usage.output_tokens,
    )
