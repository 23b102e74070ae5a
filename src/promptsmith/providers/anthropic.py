"""Anthropic Messages API adapter (official `anthropic` SDK, streaming).

- `SystemBlock(cache=True)` becomes a system text block with
  `cache_control: {"type": "ephemeral"}`.
- `request.reasoning` turns on extended thinking (`budget_tokens` =
  max(1024, reasoning_budget); max_tokens is raised above the budget if needed;
  temperature is not sent, as thinking requires); thinking deltas become
  `ReasoningDelta`s.
- Tool use: `input_json_delta` fragments are buffered per block and yielded
  as one `ToolCall` at `content_block_stop`.
- Usage: input = input_tokens + cache reads + cache writes.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from functools import partial
from typing import Any

import anthropic

from ..exceptions import ProviderError, ProviderTimeout
from ..settings import Settings
from .base import (
    ChatMessage,
    Finish,
    FinishReason,
    ModelRequest,
    ProviderEvent,
    ReasoningDelta,
    TextDelta,
    ToolCall,
    Usage,
)
from .common import (
    UPSTREAM_LIMITS,
    ToolCallAssembler,
    connection_error,
    guarded,
    incomplete_stream,
    interrupted,
    parse_retry_after,
    status_error,
    status_for_kind,
    transport_error,
    unexpected_error,
    upstream_timeout,
)

PROVIDER = "anthropic"
MIN_THINKING_BUDGET = 1024
_FINISH: dict[str | None, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


class AnthropicProvider:
    name = PROVIDER

    def __init__(self, settings: Settings) -> None:
        key = settings.anthropic_api_key.get_secret_value() if settings.anthropic_api_key else None
        self._secrets = (key,) if key else ()
        self._base_url = settings.anthropic_base_url
        timeout = upstream_timeout(settings.connect_timeout)
        self._client = anthropic.AsyncAnthropic(
            # A keyless base URL (a local proxy) still needs some key for the SDK.
            api_key=key or "unused",
            base_url=settings.anthropic_base_url,
            max_retries=0,
            timeout=timeout,
            http_client=anthropic.DefaultAsyncHttpxClient(limits=UPSTREAM_LIMITS, timeout=timeout),
        )

    def stream(self, request: ModelRequest) -> AsyncIterator[ProviderEvent]:
        return guarded(
            self._events(request),
            partial(map_error, model=request.model, base_url=self._base_url),
            self._secrets,
        )

    async def aclose(self) -> None:
        await self._client.close()

    async def _events(self, request: ModelRequest) -> AsyncGenerator[ProviderEvent, None]:
        upstream = await self._client.messages.create(**request_params(request), stream=True)
        reader = _StreamReader()
        async with upstream:
            async for event in upstream:
                out = reader.feed(event)
                if out is not None:
                    yield out
        if not reader.stopped:
            raise incomplete_stream(PROVIDER, request.model)
        yield reader.usage()
        yield Finish(reader.finish)


def request_params(request: ModelRequest) -> dict[str, Any]:
    params: dict[str, Any] = {
        "model": request.model,
        "max_tokens": request.max_tokens,
        "messages": _messages(request.messages),
    }
    if request.system:
        params["system"] = [_system_block(block.text, block.cache) for block in request.system]
    if request.tools:
        params["tools"] = [
            {"name": t.name, "description": t.description, "input_schema": t.parameters}
            for t in request.tools
        ]
    if request.reasoning:
        budget = max(MIN_THINKING_BUDGET, request.reasoning_budget)
        params["thinking"] = {"type": "enabled", "budget_tokens": budget}
        if request.max_tokens <= budget:
            params["max_tokens"] = budget + request.max_tokens
    elif request.temperature is not None:
        params["temperature"] = request.temperature
    return params


def _system_block(text: str, cache: bool) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "text", "text": text}
    if cache:
        block["cache_control"] = {"type": "ephemeral"}
    return block


def _messages(messages: list[ChatMessage]) -> list[dict[str, Any]]:
    """Anthropic turns: tool results go back as `tool_result` blocks in a user turn,
    and consecutive same-role messages merge into one turn."""
    turns: list[dict[str, Any]] = []
    blocks: list[dict[str, Any]]
    for message in messages:
        if message.role == "tool":
            role = "user"
            blocks = [
                {
                    "type": "tool_result",
                    "tool_use_id": message.tool_call_id or "",
                    "content": message.content,
                }
            ]
        elif message.role == "assistant":
            role = "assistant"
            blocks = [{"type": "text", "text": message.content}] if message.content else []
            blocks += [
                {"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments}
                for c in message.tool_calls
            ]
        else:
            role, blocks = "user", [{"type": "text", "text": message.content}]
        if not blocks:
            continue
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    return turns


class _StreamReader:
    """Turns raw Messages stream events into normalized events, one at a time."""

    def __init__(self) -> None:
        self.stopped = False
        self.finish: FinishReason = "stop"
        self._tools = ToolCallAssembler("toolu")
        self._input = self._cache_read = self._cache_write = 0
        self._output = self._thinking = 0

    def feed(self, event: Any) -> ProviderEvent | None:
        kind = event.type
        if kind == "content_block_delta":
            delta = event.delta
            if delta.type == "text_delta":
                return TextDelta(delta.text)
            if delta.type == "thinking_delta":
                return ReasoningDelta(delta.thinking)
            if delta.type == "input_json_delta":
                self._tools.add(event.index, fragment=delta.partial_json)
        elif kind == "content_block_start":
            block = event.content_block
            if block.type == "tool_use":
                self._tools.add(event.index, id=block.id, name=block.name)
        elif kind == "content_block_stop":
            call: ToolCall | None = self._tools.finish(event.index)
            return call
        elif kind == "message_start":
            self._count(event.message.usage)
        elif kind == "message_delta":
            self._count(event.usage)
            self.finish = _FINISH.get(event.delta.stop_reason, "other")
        elif kind == "message_stop":
            self.stopped = True
        return None

    def _count(self, usage: Any) -> None:
        if usage is None:
            return
        if usage.input_tokens is not None:
            self._input = usage.input_tokens
        if usage.cache_read_input_tokens is not None:
            self._cache_read = usage.cache_read_input_tokens
        if usage.cache_creation_input_tokens is not None:
            self._cache_write = usage.cache_creation_input_tokens
        if usage.output_tokens is not None:
            self._output = usage.output_tokens
        details = getattr(usage, "output_tokens_details", None)
        if details is not None and details.thinking_tokens is not None:
            self._thinking = details.thinking_tokens

    def usage(self) -> Usage:
        return Usage(
            input_tokens=self._input + self._cache_read + self._cache_write,
            output_tokens=self._output,
            cache_read_tokens=self._cache_read,
            cache_write_tokens=self._cache_write,
            reasoning_tokens=self._thinking,
        )


def map_error(
    exc: BaseException, started: bool, *, model: str, base_url: str | None = None
) -> ProviderError:
    """Any anthropic SDK or transport failure as a ProviderError (final once started)."""
    error: ProviderError
    if isinstance(exc, anthropic.APIStatusError):
        status: int | None = exc.status_code
        if status is not None and status < 400:  # an `error` event inside a 200 stream
            status = status_for_kind(getattr(exc, "type", None))
        message = getattr(exc, "api_message", None) or exc.message
        retry_after = parse_retry_after(exc.response.headers)
        error = status_error(
            status, message, provider=PROVIDER, model=model, retry_after=retry_after
        )
    elif isinstance(exc, anthropic.APITimeoutError):
        error = ProviderTimeout(exc.message, provider=PROVIDER, model=model)
    elif isinstance(exc, anthropic.APIConnectionError):
        error = connection_error(exc, provider=PROVIDER, model=model, base_url=base_url)
    else:
        error = transport_error(
            exc, provider=PROVIDER, model=model, base_url=base_url
        ) or unexpected_error(exc, provider=PROVIDER, model=model)
    return interrupted(error) if started else error
