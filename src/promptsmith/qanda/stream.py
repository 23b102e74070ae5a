"""qanda-stream: answer a learner's question from the course materials, as SSE events.

    connected -> tool_call (search_course_materials) -> tool_result -> stream* -> complete

Retrieval runs before the model call (the events are the same as if the model had called
the tool). With `ragOnly`, a question whose best evidence is below the relevance floor gets
a fixed reply and no model call. Citation markers that do not match a retrieved chunk are
removed from the streamed text and never listed in `complete.citations`.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import aclosing

import anyio.to_thread

from ..providers.base import ModelRequest, TextDelta, Usage
from ..providers.router import CallContext, ModelChoice
from ..retrieval.relevance import RelevanceFloor
from ..retrieval.store import SearchHit
from ..services import Services
from ..streaming.events import (
    Complete,
    Connected,
    Event,
    StreamChunk,
    ToolCallEvent,
    ToolResultEvent,
)
from .access import QandaContext
from .citations import CitationFilter
from .prompt import REFUSAL, Source, local_time, messages, sources_of, system_blocks

TOOL_NAME = "search_course_materials"
MIN_CHUNKS = 6  # when the course is relevant, the model sees at least this many (if there are)


def relevance_floor(services: Services) -> RelevanceFloor:
    minimum = services.settings.qanda_min_evidence
    return RelevanceFloor() if minimum is None else RelevanceFloor(min_evidence=minimum)


async def search(services: Services, context: QandaContext) -> list[SearchHit]:
    """The chunks worth giving the model: none when nothing clears the relevance floor."""
    partition = context.partition
    if partition is None:
        return []
    embedder = await services.embedders.aget()
    query = context.search_query
    vector = await anyio.to_thread.run_sync(embedder.embed_query, query)
    k = services.settings.qanda_top_k
    result = await services.retriever.search(partition, query, vector, k)
    kept = relevance_floor(services).keep(result)
    if not kept:
        return []
    # The floor trims hits far below the best one; still give the model 6-8 chunks, in
    # fused-rank order.
    chosen = {hit.chunk_id for hit in kept}
    for hit in result.hits:
        if len(chosen) >= min(MIN_CHUNKS, k):
            break
        chosen.add(hit.chunk_id)
    return [hit for hit in result.hits if hit.chunk_id in chosen][:k]


async def choose_model(services: Services, context: QandaContext) -> ModelChoice:
    return context.assigned_model or await services.router.resolve(org=context.org)


async def answer(
    services: Services, context: QandaContext, request_id: str
) -> AsyncIterator[Event]:
    yield Connected()
    sources: list[Source] = []
    if context.course is not None:
        call_id = f"call_{uuid.uuid4().hex[:24]}"
        label = f"Searching {context.course.course_name}"
        yield ToolCallEvent(
            call_id=call_id,
            name=TOOL_NAME,
            arguments={"query": context.search_query},
            displayInfo={"label": label},
        )
        sources = sources_of(await search(services, context))
        yield ToolResultEvent(
            call_id=call_id, name=TOOL_NAME, results=[s.result() for s in sources]
        )
    choice = await choose_model(services, context)
    if context.rag_only and not sources:
        yield StreamChunk(prompt=REFUSAL, delta=REFUSAL)
        yield Complete(usage=0, outputs=[REFUSAL], model=choice.model, cached=0, completion=0)
        return
    async for event in _generate(services, context, choice, sources, request_id):
        yield event


async def _generate(
    services: Services,
    context: QandaContext,
    choice: ModelChoice,
    sources: list[Source],
    request_id: str,
) -> AsyncIterator[Event]:
    services.router.check_ready(choice)
    call = CallContext(
        endpoint="qanda-stream",
        request_id=request_id,
        org=context.org,
        institution=context.principal.institution,
        user=context.principal.subject,
    )
    request = ModelRequest(
        model=choice.model,
        system=system_blocks(
            rag_only=context.rag_only,
            instructions=context.assistant.instructions if context.assistant else "",
            local_now=local_time(context.timezone, context.timezone_name),
            course_name=context.course.course_name if context.course else None,
            sources=sources,
        ),
        messages=messages(context.inputs),
    )
    citations = CitationFilter({s.n for s in sources})
    text, usage = "", Usage()
    async with aclosing(services.router.stream(request, choice, call)) as events:
        async for event in events:
            if isinstance(event, TextDelta):
                delta = citations.feed(event.text)
                if delta:
                    text += delta
                    yield StreamChunk(prompt=text, delta=delta)
            elif isinstance(event, Usage):
                usage = event
    if tail := citations.flush():
        text += tail
        yield StreamChunk(prompt=text, delta=tail)
    by_number = {s.n: s for s in sources}
    yield Complete(
        usage=usage.total_tokens,
        outputs=[text],
        model=choice.model,
        cached=usage.cache_read_tokens,
        completion=usage.output_tokens,
        citations=[by_number[n].result() for n in citations.cited],
    )
