"""The router's resilience with scripted providers: retries, fallback, timeouts, usage."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from promptsmith.exceptions import (
    ProviderOverloaded,
    ProviderRateLimited,
    ProviderRequestError,
    ProviderTimeout,
    SetupRequired,
    StreamInterrupted,
)
from promptsmith.providers.base import ChatMessage, ModelRequest, TextDelta, Usage, collect
from promptsmith.providers.router import CallContext, ModelChoice, ModelRouter
from promptsmith.providers.scripted import Pause, ScriptedProvider
from promptsmith.services import Services
from promptsmith.storage.usage import summarize

CONTEXT = CallContext(endpoint="test", org="org-1", user="u")


def request() -> ModelRequest:
    return ModelRequest(model="ignored", messages=[ChatMessage("user", "hello")])


@pytest.fixture
async def build(make_settings: Any) -> AsyncIterator[Callable[..., Awaitable[Services]]]:
    """Services with fast retry settings, migrated, and shut down cleanly afterwards."""
    built: list[Services] = []

    async def factory(**overrides: Any) -> Services:
        values: dict[str, Any] = {
            "retry_base_delay": 0,
            "max_retries": 2,
            "first_token_timeout": 5,
            "idle_timeout": 5,
        }
        values.update(overrides)
        services = Services.build(make_settings(**values))
        await services.db.migrate()
        built.append(services)
        return services

    yield factory
    for services in built:
        await services.usage.flush()
        await services.db.dispose()


def rate_limited() -> ProviderRateLimited:
    return ProviderRateLimited("slow down", provider="anthropic", status_code=429, retry_after=0)


async def text_of(router: ModelRouter, choice: ModelChoice) -> str:
    completion = await collect(router.stream(request(), choice, CONTEXT))
    return completion.text


async def test_retry_then_success(build: Any) -> None:
    services = await build()
    flaky = ScriptedProvider([[rate_limited()], [ProviderOverloaded("529")], "recovered"])
    services.providers.register("anthropic", flaky)
    choice = ModelChoice("anthropic", "claude-x")
    assert await text_of(services.router, choice) == "recovered"
    assert len(flaky.requests) == 3
    assert {r.model for r in flaky.requests} == {"claude-x"}


async def test_retries_are_bounded(build: Any) -> None:
    services = await build(max_retries=1)
    down = ScriptedProvider([[ProviderOverloaded("down")]])
    services.providers.register("anthropic", down)
    with pytest.raises(ProviderOverloaded):
        await text_of(services.router, ModelChoice("anthropic", "m"))
    assert len(down.requests) == 2


async def test_non_retryable_errors_are_not_retried(build: Any) -> None:
    services = await build()
    bad = ScriptedProvider([[ProviderRequestError("bad request", status_code=400)]])
    services.providers.register("anthropic", bad)
    with pytest.raises(ProviderRequestError):
        await text_of(services.router, ModelChoice("anthropic", "m"))
    assert len(bad.requests) == 1


async def test_fallback_before_first_token(build: Any) -> None:
    services = await build(max_retries=0, fallback_chain="openai:gpt-backup")
    services.providers.register("anthropic", ScriptedProvider([[ProviderOverloaded("down")]]))
    backup = ScriptedProvider(["from the backup"])
    services.providers.register("openai", backup)
    assert await text_of(services.router, ModelChoice("anthropic", "claude")) == "from the backup"
    assert backup.requests[0].model == "gpt-backup"


async def test_pinned_override_does_not_fall_back(build: Any) -> None:
    services = await build(max_retries=0, fallback_chain="openai:gpt-backup")
    services.providers.register("anthropic", ScriptedProvider([[ProviderOverloaded("down")]]))
    backup = ScriptedProvider(["from the backup"])
    services.providers.register("openai", backup)
    choice = await services.router.resolve(override=("anthropic", "claude"), org="org-1")
    assert choice.pinned
    with pytest.raises(ProviderOverloaded):
        await text_of(services.router, choice)
    assert backup.requests == []


async def test_failure_after_first_token_is_final(build: Any) -> None:
    services = await build(fallback_chain="openai:gpt-backup")
    broken = ScriptedProvider([["partial ", ProviderOverloaded("dropped")]])
    backup = ScriptedProvider(["never"])
    services.providers.register("anthropic", broken)
    services.providers.register("openai", backup)
    seen: list[str] = []

    async def consume() -> None:
        stream = services.router.stream(request(), ModelChoice("anthropic", "m"), CONTEXT)
        async for event in stream:
            if isinstance(event, TextDelta):
                seen.append(event.text)

    with pytest.raises(StreamInterrupted):
        await consume()
    assert seen == ["partial "]
    assert len(broken.requests) == 1
    assert backup.requests == []


async def test_first_token_timeout(build: Any) -> None:
    services = await build(first_token_timeout=0.2, max_retries=1)
    hung = ScriptedProvider([[Pause(30), "too late"]])
    services.providers.register("anthropic", hung)
    with pytest.raises(ProviderTimeout, match="first token"):
        await text_of(services.router, ModelChoice("anthropic", "m"))
    assert len(hung.requests) == 2
    assert hung.cancelled == 2


async def test_idle_timeout_after_first_token(build: Any) -> None:
    services = await build(idle_timeout=0.2)
    stalls = ScriptedProvider([["hello ", Pause(30), "world"]])
    services.providers.register("anthropic", stalls)
    with pytest.raises(StreamInterrupted, match="within"):
        await text_of(services.router, ModelChoice("anthropic", "m"))
    assert len(stalls.requests) == 1


async def test_unconfigured_primary_falls_back(build: Any) -> None:
    services = await build(fallback_chain="openai:gpt-backup")
    backup = ScriptedProvider(["backup answer"])
    services.providers.register("openai", backup)
    choice = ModelChoice("anthropic", "claude")
    services.router.check_ready(choice)
    assert await text_of(services.router, choice) == "backup answer"


async def test_check_ready_raises_setup_required(build: Any) -> None:
    services = await build()
    with pytest.raises(SetupRequired) as info:
        services.router.check_ready(ModelChoice("google", "gemini-x"))
    assert info.value.provider == "google"
    assert "GEMINI_API_KEY" in info.value.message


async def test_backoff_honours_retry_after(build: Any) -> None:
    router = (await build(retry_base_delay=0.5, retry_max_delay=8)).router
    assert router._backoff(0, 3.0) == 3.0
    assert router._backoff(0, 100.0) == 8
    delays = [router._backoff(3, None) for _ in range(50)]
    assert all(2.0 <= d <= 4.0 for d in delays)
    assert len(set(delays)) > 1, "jitter"


async def test_usage_is_recorded(build: Any) -> None:
    services = await build()
    usage = Usage(input_tokens=100, output_tokens=20, cache_read_tokens=80, reasoning_tokens=5)
    services.providers.register("anthropic", ScriptedProvider([["answer", usage]]))
    await text_of(services.router, ModelChoice("anthropic", "claude-x"))
    await services.usage.flush()
    [row] = await summarize(services.db, org="org-1")
    assert (row.provider, row.model, row.endpoint, row.calls) == (
        "anthropic",
        "claude-x",
        "test",
        1,
    )
    assert (row.input_tokens, row.output_tokens, row.cache_read_tokens) == (100, 20, 80)
    assert row.reasoning_tokens == 5
    assert row.partial_calls == 0
    assert await summarize(services.db, org="someone-else") == []


async def test_cut_stream_is_recorded_as_partial(build: Any) -> None:
    services = await build()
    slow = ScriptedProvider([["first ", Pause(30), "second"]])
    services.providers.register("anthropic", slow)

    async def consume() -> None:
        async for _ in services.router.stream(request(), ModelChoice("anthropic", "m"), CONTEXT):
            pass

    task = asyncio.create_task(consume())
    while not slow.requests:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await services.usage.flush()
    [row] = await summarize(services.db, org="org-1")
    assert row.partial_calls == 1
    assert slow.cancelled == 1


async def test_a_retry_after_longer_than_the_max_delay_falls_back_at_once(build: Any) -> None:
    services = await build(retry_max_delay=1, fallback_chain="openai:gpt-backup")
    limited = ScriptedProvider(
        [[ProviderRateLimited("slow down", status_code=429, retry_after=60)], "never"]
    )
    backup = ScriptedProvider(["from the backup"])
    services.providers.register("anthropic", limited)
    services.providers.register("openai", backup)
    assert await text_of(services.router, ModelChoice("anthropic", "m")) == "from the backup"
    assert len(limited.requests) == 1


async def test_a_retry_after_longer_than_the_max_delay_is_final_without_fallback(
    build: Any,
) -> None:
    services = await build(retry_max_delay=1)
    limited = ScriptedProvider(
        [[ProviderRateLimited("slow down", status_code=429, retry_after=60)], "never"]
    )
    services.providers.register("anthropic", limited)
    with pytest.raises(ProviderRateLimited) as caught:
        await text_of(services.router, ModelChoice("anthropic", "m"))
    assert caught.value.retry_after == 60
    assert len(limited.requests) == 1
