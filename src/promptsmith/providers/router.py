"""Model routing: which provider and model a call goes to, and how it is kept alive.

Resolution order: the request's `modelOverride` (which pins every call of that
request), then the organisation's stored default, then the server default.

Model roles let one request use a cheaper model for some of its calls
(classification, summaries): `PROMPTSMITH_MODEL_ROLES="summary=openai:gpt-4o-mini"`,
then `router.resolve(..., role="summary")`, or `router.for_role(choice, "summary")`
for a further call of a request already resolved. A pinned choice (`modelOverride`)
ignores roles; the organisation's assignment is the default role's; a role that
is not configured uses the default role's model. Role models use the fallback
chain like any other.

`ModelRouter.stream` owns resilience, in one place:

* first-token and idle-between-events timeouts around the adapter's stream;
* retries with exponential backoff and jitter (honouring `retry-after`; a
  longer wait than `retry_max_delay` is not retried) for retryable errors,
  only before the first event reached the caller;
* fallback along `PROMPTSMITH_FALLBACK_CHAIN` when the primary fails before the
  first event (not for pinned requests: an explicit override means that model);
* after the first event, any failure is final (`StreamInterrupted`), so text is
  never duplicated;
* one usage entry per upstream attempt, marked partial when it was cut short.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass, replace
from typing import Protocol

from ..exceptions import (
    ProviderError,
    ProviderTimeout,
    SetupRequired,
    StreamInterrupted,
)
from ..metrics import PROVIDER_CALLS, PROVIDER_LATENCY, PROVIDER_TOKENS
from ..settings import Settings
from .base import Completion, ModelRequest, Provider, ProviderEvent, Usage, collect
from .registry import ProviderRegistry

DEFAULT_ROLE = "default"


@dataclass(frozen=True, slots=True)
class ModelChoice:
    provider: str
    model: str
    pinned: bool = False

    @classmethod
    def parse(cls, spec: str) -> ModelChoice:
        provider, sep, model = spec.strip().partition(":")
        if not sep or not provider or not model:
            raise ValueError(f"expected provider:model, got {spec!r}")
        return cls(provider.strip(), model.strip())


@dataclass(frozen=True, slots=True)
class CallContext:
    """Who a call is for, for usage accounting and logs."""

    endpoint: str
    request_id: str = ""
    org: str | None = None
    institution: str | None = None
    user: str | None = None


@dataclass(frozen=True, slots=True)
class UsageEntry:
    context: CallContext
    provider: str
    model: str
    usage: Usage
    latency_ms: float
    status: str
    partial: bool


class UsageSink(Protocol):
    def record(self, entry: UsageEntry) -> None:
        """Must not block: called on hot and cancellation paths."""


OrgModelLookup = Callable[[str], Awaitable[ModelChoice | None]]


class ModelRouter:
    def __init__(
        self,
        settings: Settings,
        registry: ProviderRegistry,
        *,
        org_models: OrgModelLookup | None = None,
        usage: UsageSink | None = None,
    ) -> None:
        self.settings = settings
        self.registry = registry
        self._org_models = org_models
        self._usage = usage
        self.fallbacks = [
            ModelChoice.parse(spec) for spec in settings.fallback_chain.split(",") if spec.strip()
        ]
        self.roles = parse_roles(settings.model_roles)

    async def resolve(
        self,
        *,
        override: tuple[str, str] | None = None,
        org: str | None = None,
        role: str = DEFAULT_ROLE,
    ) -> ModelChoice:
        """The model for a call: the override (pinned), else the role's model, else
        the org's assignment, else the server default."""
        if override is not None:
            return ModelChoice(override[0], override[1], pinned=True)
        if role != DEFAULT_ROLE and role in self.roles:
            return self.roles[role]
        if org and self._org_models is not None:
            assigned = await self._org_models(org)
            if assigned is not None:
                return assigned
        return ModelChoice(self.settings.default_provider, self.settings.default_model)

    def for_role(self, choice: ModelChoice, role: str) -> ModelChoice:
        """The model for a `role` call of a request whose default call uses `choice`."""
        if choice.pinned or role == DEFAULT_ROLE:
            return choice
        return self.roles.get(role, choice)

    def check_ready(self, choice: ModelChoice) -> None:
        """Raise SetupRequired now, before a stream starts, if nothing in the chain can run."""
        errors: list[SetupRequired] = []
        for candidate in self._chain(choice):
            try:
                self.registry.get(candidate.provider)
                return
            except SetupRequired as exc:
                errors.append(exc)
        raise errors[0]

    async def complete(
        self, request: ModelRequest, choice: ModelChoice, context: CallContext
    ) -> Completion:
        return await collect(self.stream(request, choice, context))

    async def stream(
        self, request: ModelRequest, choice: ModelChoice, context: CallContext
    ) -> AsyncGenerator[ProviderEvent, None]:
        last_error: Exception | None = None
        for candidate in self._chain(choice):
            try:
                provider = self.registry.get(candidate.provider)
            except SetupRequired as exc:
                last_error = last_error or exc
                continue
            call = replace(request, model=candidate.model)
            for attempt in range(self.settings.max_retries + 1):
                sent_any = False
                try:
                    async with aclosing(
                        self._attempt(provider, candidate, call, context)
                    ) as events:
                        async for event in events:
                            sent_any = True
                            yield event
                    return
                except ProviderError as exc:
                    if sent_any:
                        raise _interrupted(exc, candidate) from exc
                    last_error = exc
                    if not self._retry(exc, attempt):
                        break
                    await asyncio.sleep(self._backoff(attempt, exc.retry_after))
        assert last_error is not None
        raise last_error

    def _chain(self, choice: ModelChoice) -> list[ModelChoice]:
        if choice.pinned:
            return [choice]
        same = (choice.provider, choice.model)
        return [choice, *(c for c in self.fallbacks if (c.provider, c.model) != same)]

    def _retry(self, error: ProviderError, attempt: int) -> bool:
        """Whether to try the same model again after `error` on attempt `attempt` (0-based).

        Not when the provider asks for a longer wait than `retry_max_delay`: waiting
        less would be refused again, so fall back (or fail) at once.
        """
        if not error.retryable or attempt >= self.settings.max_retries:
            return False
        return error.retry_after is None or error.retry_after <= self.settings.retry_max_delay

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.settings.retry_max_delay)
        ceiling = min(self.settings.retry_max_delay, self.settings.retry_base_delay * 2**attempt)
        return random.uniform(ceiling / 2, ceiling)

    async def _attempt(
        self,
        provider: Provider,
        choice: ModelChoice,
        request: ModelRequest,
        context: CallContext,
    ) -> AsyncGenerator[ProviderEvent, None]:
        started = time.perf_counter()
        usage: Usage | None = None
        status, finished = "error", False
        events = provider.stream(request)
        first = True
        try:
            while True:
                timeout = self.settings.first_token_timeout if first else self.settings.idle_timeout
                try:
                    async with asyncio.timeout(timeout):
                        event = await anext(events)
                except StopAsyncIteration:
                    break
                except TimeoutError:
                    raise ProviderTimeout(
                        f"no {'first token' if first else 'chunk'} within {timeout:g}s",
                        provider=choice.provider,
                        model=choice.model,
                    ) from None
                first = False
                if isinstance(event, Usage):
                    usage = event
                yield event
            status, finished = "ok", True
        except asyncio.CancelledError:
            status = "cancelled"
            raise
        except GeneratorExit:
            status = "cancelled"
            raise
        finally:
            await _close(events)
            self._record(choice, context, usage, started, status, partial=not finished)

    def _record(
        self,
        choice: ModelChoice,
        context: CallContext,
        usage: Usage | None,
        started: float,
        status: str,
        *,
        partial: bool,
    ) -> None:
        elapsed = time.perf_counter() - started
        reported = usage or Usage()
        PROVIDER_CALLS.labels(choice.provider, choice.model, status).inc()
        PROVIDER_LATENCY.labels(choice.provider).observe(elapsed)
        for kind, count in (
            ("input", reported.input_tokens),
            ("output", reported.output_tokens),
            ("cache_read", reported.cache_read_tokens),
            ("cache_write", reported.cache_write_tokens),
            ("reasoning", reported.reasoning_tokens),
        ):
            if count:
                PROVIDER_TOKENS.labels(choice.provider, kind).inc(count)
        if self._usage is None:
            return
        self._usage.record(
            UsageEntry(
                context=context,
                provider=choice.provider,
                model=choice.model,
                usage=reported,
                latency_ms=elapsed * 1000,
                status=status,
                partial=partial or usage is None,
            )
        )


def parse_roles(spec: str) -> dict[str, ModelChoice]:
    """`"summary=openai:gpt-4o-mini,classify=google:gemini-2.5-flash"` as a role map."""
    roles: dict[str, ModelChoice] = {}
    for item in spec.split(","):
        if not item.strip():
            continue
        role, sep, model = item.partition("=")
        if not sep or not role.strip():
            raise ValueError(f"expected role=provider:model, got {item.strip()!r}")
        roles[role.strip()] = ModelChoice.parse(model)
    return roles


def _interrupted(exc: ProviderError, choice: ModelChoice) -> StreamInterrupted:
    if isinstance(exc, StreamInterrupted):
        return exc
    return StreamInterrupted(
        f"the stream failed after it started: {exc.message}",
        provider=choice.provider,
        model=choice.model,
        status_code=exc.status_code,
    )


async def _close(events: AsyncIterator[ProviderEvent]) -> None:
    aclose = getattr(events, "aclose", None)
    if aclose is not None:
        await aclose()
