"""Every adapter, through its real SDK over HTTP, behaves the same way."""

from __future__ import annotations

import asyncio
import gc
import time
from contextlib import aclosing

import pytest
from provider_cases import Subject, make_request

from promptsmith.exceptions import (
    ProviderConnectionError,
    ProviderError,
    ProviderOverloaded,
    ProviderRateLimited,
    ProviderRequestError,
    StreamInterrupted,
)
from promptsmith.providers.base import (
    Finish,
    ProviderEvent,
    ReasoningDelta,
    TextDelta,
    ToolCall,
    Usage,
    collect,
)


async def drain(subject: Subject, model: str, **overrides: object) -> list[ProviderEvent]:
    request = make_request(model, **overrides)
    async with aclosing(subject.provider.stream(request)) as stream:  # type: ignore[type-var]
        return [event async for event in stream]


async def drain_until_error(
    subject: Subject, model: str
) -> tuple[list[ProviderEvent], ProviderError]:
    events: list[ProviderEvent] = []

    async def consume() -> None:
        async with aclosing(subject.provider.stream(make_request(model))) as stream:  # type: ignore[type-var]
            async for event in stream:
                events.append(event)

    with pytest.raises(ProviderError) as caught:
        await consume()
    return events, caught.value


async def test_text_deltas_arrive_in_order_then_usage_then_finish(subject: Subject) -> None:
    await subject.emulator.control.queue("emu-text", {"chunks": ["Hel", "lo, ", "wor", "ld!"]})

    events = await drain(subject, "emu-text")

    texts = [e.text for e in events if isinstance(e, TextDelta)]
    assert texts == ["Hel", "lo, ", "wor", "ld!"]
    kinds = [e.kind for e in events]
    assert kinds[-1] == "finish"
    assert kinds.count("finish") == 1
    assert kinds.count("usage") == 1
    assert kinds.index("usage") > max(i for i, k in enumerate(kinds) if k == "text")
    assert events[-1] == Finish("stop")


async def test_default_reply_echoes_the_last_user_message(subject: Subject) -> None:
    completion = await collect(subject.provider.stream(make_request("emu-plain", "Hi there")))
    assert completion.text == "Echo: Hi there"
    assert completion.finish_reason == "stop"


async def test_reasoning_arrives_as_reasoning_deltas_before_the_text(subject: Subject) -> None:
    await subject.emulator.control.queue(
        "emu-thinker", {"reasoning": "First, add two and two.", "text": "It is 4."}
    )

    events = await drain(subject, "emu-thinker", reasoning=True)

    reasoning = [e for e in events if isinstance(e, ReasoningDelta)]
    text = [e for e in events if isinstance(e, TextDelta)]
    assert "".join(e.text for e in reasoning) == "First, add two and two."
    assert "".join(e.text for e in text) == "It is 4."
    assert events.index(reasoning[-1]) < events.index(text[0])


async def test_a_tool_call_arrives_whole_with_parsed_arguments(subject: Subject) -> None:
    arguments = {"query": "photosynthesis", "limit": 3, "filters": {"tags": ["bio", "plants"]}}
    await subject.emulator.control.queue(
        "emu-caller", {"tool_calls": [{"id": "call_abc", "name": "search", "arguments": arguments}]}
    )

    events = await drain(subject, "emu-caller")

    [call] = [e for e in events if isinstance(e, ToolCall)]
    assert call.name == "search"
    assert call.arguments == arguments
    assert call.id
    if subject.case.name != "gemini":  # Gemini sends no call ids; the adapter makes one
        assert call.id == "call_abc"
    assert events[-1] == Finish("tool_calls")


async def test_text_and_two_tool_calls_keep_their_order(subject: Subject) -> None:
    await subject.emulator.control.queue(
        "emu-two-calls",
        {
            "text": "Let me check.",
            "tool_calls": [
                {"name": "search", "arguments": {"query": "a"}},
                {"name": "search", "arguments": {"query": "b"}},
            ],
        },
    )

    completion = await collect(subject.provider.stream(make_request("emu-two-calls")))

    assert completion.text == "Let me check."
    assert [c.arguments for c in completion.tool_calls] == [{"query": "a"}, {"query": "b"}]
    assert len({c.id for c in completion.tool_calls}) == 2


async def test_usage_reports_cached_and_reasoning_tokens(subject: Subject) -> None:
    usage = {
        "input_tokens": 2000,
        "output_tokens": 300,
        "cache_read_tokens": 1500,
        "reasoning_tokens": 120,
    }
    await subject.emulator.control.queue(
        "emu-usage", {"text": "ok", "reasoning": "hm", "usage": usage}
    )

    completion = await collect(subject.provider.stream(make_request("emu-usage", reasoning=True)))

    assert completion.usage == Usage(
        input_tokens=2000, output_tokens=300, cache_read_tokens=1500, reasoning_tokens=120
    )


async def test_model_name_grammar_gives_cached_usage(subject: Subject) -> None:
    completion = await collect(
        subject.provider.stream(make_request("emu-think-cached", reasoning=True))
    )

    assert completion.usage.cache_read_tokens == 1024
    assert completion.usage.input_tokens > 1024
    assert completion.usage.reasoning_tokens == len(completion.reasoning.split())
    assert completion.usage.output_tokens >= completion.usage.reasoning_tokens


@pytest.mark.parametrize(
    ("status", "expected", "retryable"),
    [
        (400, ProviderRequestError, False),
        (401, ProviderRequestError, False),
        (404, ProviderRequestError, False),
        (429, ProviderRateLimited, True),
        (500, ProviderOverloaded, True),
        (503, ProviderOverloaded, True),
        (529, ProviderOverloaded, True),
    ],
)
async def test_error_statuses_map_to_provider_errors(
    subject: Subject, status: int, expected: type[ProviderError], retryable: bool
) -> None:
    events, error = await drain_until_error(subject, f"emu-{status}")

    assert events == []
    assert type(error) is expected
    assert error.retryable is retryable
    assert error.status_code == status
    assert error.model == f"emu-{status}"


async def test_retry_after_is_read_from_the_response(subject: Subject) -> None:
    _, error = await drain_until_error(subject, "emu-429-ra7")
    assert isinstance(error, ProviderRateLimited)
    assert error.retry_after == 7.0


async def test_overloaded_once_then_the_same_request_succeeds(subject: Subject) -> None:
    _, error = await drain_until_error(subject, "emu-529once")
    assert isinstance(error, ProviderOverloaded)

    completion = await collect(subject.provider.stream(make_request("emu-529once", "again")))
    assert completion.text == "Echo: again"


async def test_a_dropped_connection_after_some_tokens_interrupts_the_stream(
    subject: Subject,
) -> None:
    events, error = await drain_until_error(subject, "emu-drop3")

    assert [e.text for e in events if isinstance(e, TextDelta)] == ["Echo: ", "What ", "is "]
    assert isinstance(error, StreamInterrupted)
    assert error.retryable is False
    connection = await subject.emulator.control.wait_closed("emu-drop3")
    assert connection["outcome"] == "dropped"


async def test_a_connection_dropped_before_any_token_is_retryable(subject: Subject) -> None:
    events, error = await drain_until_error(subject, "emu-drop0")
    assert events == []
    assert isinstance(error, ProviderConnectionError)
    assert error.retryable is True


@pytest.mark.parametrize("model", ["emu-streamerror2", "emu-badjson2", "emu-malformed2"])
async def test_broken_streams_after_some_tokens_interrupt(subject: Subject, model: str) -> None:
    events, error = await drain_until_error(subject, model)

    assert len([e for e in events if isinstance(e, TextDelta)]) == 2
    assert isinstance(error, StreamInterrupted)


async def test_an_in_stream_overload_before_any_token_is_retryable(subject: Subject) -> None:
    events, error = await drain_until_error(subject, "emu-streamerror0")
    assert events == []
    assert isinstance(error, ProviderOverloaded)
    assert error.retryable is True


@pytest.mark.parametrize("model", ["emu-badjson0", "emu-malformed0"])
async def test_garbage_before_any_token_is_a_retryable_connection_error(
    subject: Subject, model: str
) -> None:
    events, error = await drain_until_error(subject, model)
    assert events == []
    assert isinstance(error, ProviderConnectionError)


async def test_a_hanging_upstream_yields_nothing_and_is_closed_on_timeout(subject: Subject) -> None:
    stream = subject.provider.stream(make_request("emu-hang"))

    with pytest.raises(TimeoutError):
        await asyncio.wait_for(anext(stream), timeout=0.5)

    connection = await subject.emulator.control.wait_closed("emu-hang")
    assert connection["outcome"] == "client_disconnected"
    assert connection["tokens_sent"] == 0


async def test_cancelling_the_consumer_closes_the_upstream_connection(subject: Subject) -> None:
    model = "emu-stream-500x20ms"  # ten seconds of tokens
    received = asyncio.Event()
    events: list[ProviderEvent] = []

    async def consume() -> None:
        async for event in subject.provider.stream(make_request(model)):
            events.append(event)
            if len(events) == 2:
                received.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(received.wait(), timeout=10)
    cancelled_at = time.time()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    connection = await subject.emulator.control.wait_closed(model)
    assert connection["outcome"] == "client_disconnected"
    assert connection["closed_at"] - cancelled_at < 1.0
    assert connection["tokens_sent"] < 500


async def test_closing_the_stream_early_closes_the_upstream_connection(subject: Subject) -> None:
    model = "emu-stream-500x20ms"
    stream = subject.provider.stream(make_request(model))
    first = await anext(stream)
    assert isinstance(first, TextDelta)

    closed_at = time.time()
    await stream.aclose()  # type: ignore[attr-defined]

    connection = await subject.emulator.control.wait_closed(model)
    assert connection["outcome"] == "client_disconnected"
    assert connection["closed_at"] - closed_at < 1.0


async def test_closing_the_stream_closes_the_upstream_without_garbage_collection(
    subject: Subject,
) -> None:
    # The SDK's own generators may hold the response; closing ours must close it,
    # not leave it to whenever the garbage collector finds the generator cycle.
    model = "emu-stream-500x20ms"
    gc.collect()
    gc.disable()
    try:
        stream = subject.provider.stream(make_request(model))
        await anext(stream)
        await anext(stream)
        await stream.aclose()  # type: ignore[attr-defined]
        del stream
        connection = await subject.emulator.control.wait_closed(model, within=5.0)
    finally:
        gc.enable()
    assert connection["outcome"] == "client_disconnected"


async def test_the_model_name_reaches_the_provider_unchanged(subject: Subject) -> None:
    await collect(subject.provider.stream(make_request("emu-exact-Name-42")))

    [recorded] = await subject.emulator.control.requests(model="emu-exact-Name-42")
    assert recorded["api"] == subject.case.api
    assert recorded["stream"] is True
