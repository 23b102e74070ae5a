"""OpenAI adapter (official `openai` SDK): Chat Completions and the Responses API.

Which API: `settings.openai_api` ("auto" | "chat" | "responses", or the
constructor's `api=`). "auto" uses the Responses API for OpenAI's reasoning
models (o1/o3/o4..., gpt-5...) at api.openai.com and Chat Completions
otherwise, which is what OpenAI-compatible servers (Ollama, vLLM, llama.cpp,
LM Studio) speak.

Chat Completions: streams with `stream_options.include_usage`; tool-call
fragments are assembled by index and yielded when the choice finishes;
`reasoning_content` / `reasoning` deltas (DeepSeek, vLLM, Ollama) become
`ReasoningDelta`s; missing usage, ids or finish reasons are tolerated where
harmless. At api.openai.com `max_completion_tokens` is sent, elsewhere
`max_tokens`.

Responses API: `store=False`; system prompt as `instructions`; reasoning
summaries (`summary: "auto"`) become `ReasoningDelta`s; function calls are
yielded at `response.output_item.done`.

No API key (a local server): no Authorization header is sent.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncGenerator, AsyncIterator
from functools import partial
from typing import Any, Literal

import openai

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

PROVIDER = "openai"
OpenAIApi = Literal["auto", "chat", "responses"]
_REASONING_MODELS = re.compile(r"^(o\d|gpt-5)")
_FINISH: dict[str | None, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
}


class OpenAIProvider:
    name = PROVIDER

    def __init__(self, settings: Settings, *, api: OpenAIApi | None = None) -> None:
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
        self._secrets = (key,) if key else ()
        base_url = settings.openai_base_url
        self._base_url = base_url
        self.hosted = base_url is None or "api.openai.com" in base_url
        self.api: OpenAIApi = api or settings.openai_api
        timeout = upstream_timeout(settings.connect_timeout)
        # Without a key, send no Authorization header at all (the SDK insists on a key).
        self._keyless: dict[str, Any] = (
            {} if key else {"extra_headers": {"Authorization": openai.omit}}
        )
        self._client = openai.AsyncOpenAI(
            api_key=key or "unused",
            base_url=base_url,
            max_retries=0,
            timeout=timeout,
            http_client=openai.DefaultAsyncHttpxClient(limits=UPSTREAM_LIMITS, timeout=timeout),
        )

    def uses_responses_api(self, model: str) -> bool:
        if self.api != "auto":
            return self.api == "responses"
        return self.hosted and bool(_REASONING_MODELS.match(model))

    def stream(self, request: ModelRequest) -> AsyncIterator[ProviderEvent]:
        if self.uses_responses_api(request.model):
            events = self._responses_events(request)
        else:
            events = self._chat_events(request)
        return guarded(
            events,
            partial(map_error, model=request.model, base_url=self._base_url),
            self._secrets,
        )

    async def aclose(self) -> None:
        await self._client.close()

    async def _chat_events(self, request: ModelRequest) -> AsyncGenerator[ProviderEvent, None]:
        params = chat_params(request, hosted=self.hosted)
        upstream = await self._client.chat.completions.create(**params, **self._keyless)
        reader = _ChatReader()
        async with upstream:
            async for chunk in upstream:
                for event in reader.feed(chunk):
                    yield event
        if not reader.finished:
            raise incomplete_stream(PROVIDER, request.model)
        if reader.usage is not None:
            yield reader.usage
        yield Finish(reader.finish)

    async def _responses_events(self, request: ModelRequest) -> AsyncGenerator[ProviderEvent, None]:
        params = responses_params(request, hosted=self.hosted)
        upstream = await self._client.responses.create(**params, **self._keyless)
        reader = _ResponsesReader(request.model)
        async with upstream:
            async for event in upstream:
                out = reader.feed(event)
                if out is not None:
                    yield out
        if not reader.finished:
            raise incomplete_stream(PROVIDER, request.model)
        if reader.usage is not None:
            yield reader.usage
        yield Finish(reader.finish)


def _is_reasoning_model(model: str, hosted: bool) -> bool:
    return hosted and bool(_REASONING_MODELS.match(model))


def chat_params(request: ModelRequest, *, hosted: bool) -> dict[str, Any]:
    messages: list[dict[str, Any]] = []
    if request.system:
        messages.append({"role": "system", "content": request.system_text})
    messages += [_chat_message(message) for message in request.messages]
    params: dict[str, Any] = {
        "model": request.model,
        "messages": messages,
        "stream": True,
        "stream_options": {"include_usage": True},
        ("max_completion_tokens" if hosted else "max_tokens"): request.max_tokens,
    }
    if request.tools:
        params["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": t.name,
                    "description": t.description,
                    "parameters": t.parameters,
                },
            }
            for t in request.tools
        ]
    reasoning_model = _is_reasoning_model(request.model, hosted)
    if request.reasoning and reasoning_model:
        params["reasoning_effort"] = "medium"
    if request.temperature is not None and not reasoning_model:
        params["temperature"] = request.temperature
    return params


def _chat_message(message: ChatMessage) -> dict[str, Any]:
    if message.role == "tool":
        return {
            "role": "tool",
            "tool_call_id": message.tool_call_id or "",
            "content": message.content,
        }
    if message.role == "assistant" and message.tool_calls:
        return {
            "role": "assistant",
            "content": message.content or None,
            "tool_calls": [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
                }
                for call in message.tool_calls
            ],
        }
    return {"role": message.role, "content": message.content}


def responses_params(request: ModelRequest, *, hosted: bool) -> dict[str, Any]:
    params: dict[str, Any] = {
        "model": request.model,
        "input": _responses_input(request.messages),
        "stream": True,
        "store": False,
        "max_output_tokens": request.max_tokens,
    }
    if request.system:
        params["instructions"] = request.system_text
    if request.tools:
        params["tools"] = [
            {
                "type": "function",
                "name": t.name,
                "description": t.description,
                "parameters": t.parameters,
                "strict": False,
            }
            for t in request.tools
        ]
    # OpenAI refuses `reasoning` for its other models; other servers decide for themselves.
    if request.reasoning and (_is_reasoning_model(request.model, hosted) or not hosted):
        params["reasoning"] = {"effort": "medium", "summary": "auto"}
    if request.temperature is not None and not _is_reasoning_model(request.model, hosted):
        params["temperature"] = request.temperature
    return params


def _responses_input(messages: list[ChatMessage]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "tool":
            items.append(
                {
                    "type": "function_call_output",
                    "call_id": message.tool_call_id or "",
                    "output": message.content,
                }
            )
            continue
        if message.content or message.role == "user":
            items.append({"role": message.role, "content": message.content})
        items += [
            {
                "type": "function_call",
                "call_id": call.id,
                "name": call.name,
                "arguments": json.dumps(call.arguments),
            }
            for call in message.tool_calls
        ]
    return items


class _ChatReader:
    """Chat Completions chunks to normalized events (choice 0 only)."""

    def __init__(self) -> None:
        self.finished = False
        self.finish: FinishReason = "stop"
        self.usage: Usage | None = None
        self._tools = ToolCallAssembler("call")
        self._called = False
        self._last_tool_key: Any = None

    def feed(self, chunk: Any) -> list[ProviderEvent]:
        out: list[ProviderEvent] = []
        for choice in chunk.choices or ():
            if choice.index not in (0, None):
                continue
            delta = choice.delta
            if delta is not None:
                reasoning = getattr(delta, "reasoning_content", None) or getattr(
                    delta, "reasoning", None
                )
                if reasoning and isinstance(reasoning, str):
                    out.append(ReasoningDelta(reasoning))
                if delta.content:
                    out.append(TextDelta(delta.content))
                for call in delta.tool_calls or ():
                    function = call.function
                    self._tools.add(
                        self._tool_key(call),
                        id=call.id,
                        name=function.name if function else None,
                        fragment=(function.arguments or "") if function else "",
                    )
            if choice.finish_reason:
                out += self._finish(choice.finish_reason)
        if chunk.usage is not None:
            self.usage = _chat_usage(chunk.usage)
        return out

    def _tool_key(self, call: Any) -> Any:
        """Which call a fragment belongs to: its index; without one (some compatible
        servers), a new id starts a new call and no id continues the last one."""
        if call.index is not None:
            key: Any = call.index
        elif call.id:
            key = ("id", call.id)
        else:
            key = self._last_tool_key if self._last_tool_key is not None else 0
        self._last_tool_key = key
        return key

    def _finish(self, reason: str) -> list[ToolCall]:
        self.finished = True
        calls = self._tools.finish_all()
        self._called |= bool(calls)
        self.finish = "tool_calls" if self._called else _FINISH.get(reason, "other")
        return calls


def _chat_usage(usage: Any) -> Usage:
    prompt_details = usage.prompt_tokens_details
    completion_details = usage.completion_tokens_details
    cached = (prompt_details.cached_tokens if prompt_details else None) or getattr(
        usage, "prompt_cache_hit_tokens", None
    )
    return Usage(
        input_tokens=usage.prompt_tokens or 0,
        output_tokens=usage.completion_tokens or 0,
        cache_read_tokens=cached or 0,
        cache_write_tokens=(getattr(prompt_details, "cache_write_tokens", None) or 0),
        reasoning_tokens=(completion_details.reasoning_tokens if completion_details else None) or 0,
    )


class _ResponsesReader:
    """Responses API stream events to normalized events."""

    def __init__(self, model: str) -> None:
        self.finished = False
        self.finish: FinishReason = "stop"
        self.usage: Usage | None = None
        self._model = model
        self._tools = ToolCallAssembler("call")
        self._called = False

    def feed(self, event: Any) -> ProviderEvent | None:
        kind = event.type
        if kind == "response.output_text.delta":
            return TextDelta(event.delta)
        if kind in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"):
            return ReasoningDelta(event.delta)
        if kind == "response.function_call_arguments.delta":
            self._tools.add(_item_key(event.item_id, event.output_index), fragment=event.delta)
        elif kind in ("response.output_item.added", "response.output_item.done"):
            return self._item(event, done=kind.endswith("done"))
        elif kind in ("response.completed", "response.incomplete"):
            self._complete(event.response)
        elif kind in ("response.failed", "error"):
            raise self._error(event)
        return None

    def _item(self, event: Any, *, done: bool) -> ToolCall | None:
        item = event.item
        if item.type != "function_call":
            return None
        key = _item_key(item.id, event.output_index)
        self._tools.add(key, id=item.call_id, name=item.name)
        if not done:
            return None
        self._called = True
        return self._tools.finish(key, arguments=item.arguments or None)

    def _complete(self, response: Any) -> None:
        self.finished = True
        if response.usage is not None:
            self.usage = _responses_usage(response.usage)
        reason = response.incomplete_details.reason if response.incomplete_details else None
        if reason == "content_filter":
            self.finish = "content_filter"
        elif reason is not None:
            self.finish = "length"
        else:
            self.finish = "tool_calls" if self._called else "stop"

    def _error(self, event: Any) -> ProviderError:
        error = getattr(getattr(event, "response", None), "error", None) or event
        code = getattr(error, "code", None)
        message = getattr(error, "message", None) or "the response failed"
        return status_error(status_for_kind(code), message, provider=PROVIDER, model=self._model)


def _item_key(item_id: str | None, output_index: int | None) -> str:
    return item_id or f"#{output_index}"


def _responses_usage(usage: Any) -> Usage:
    input_details = usage.input_tokens_details
    output_details = usage.output_tokens_details
    return Usage(
        input_tokens=usage.input_tokens or 0,
        output_tokens=usage.output_tokens or 0,
        cache_read_tokens=(input_details.cached_tokens if input_details else 0) or 0,
        cache_write_tokens=(getattr(input_details, "cache_write_tokens", None) or 0),
        reasoning_tokens=(output_details.reasoning_tokens if output_details else 0) or 0,
    )


def map_error(
    exc: BaseException, started: bool, *, model: str, base_url: str | None = None
) -> ProviderError:
    """Any openai SDK or transport failure as a ProviderError (final once started)."""
    error: ProviderError
    if isinstance(exc, openai.APIStatusError):
        retry_after = parse_retry_after(exc.response.headers)
        error = status_error(
            exc.status_code,
            _body_message(exc.body) or exc.message,
            provider=PROVIDER,
            model=model,
            retry_after=retry_after,
        )
    elif isinstance(exc, openai.APITimeoutError):
        error = ProviderTimeout(exc.message, provider=PROVIDER, model=model)
    elif isinstance(exc, openai.APIConnectionError):
        error = connection_error(exc, provider=PROVIDER, model=model, base_url=base_url)
    elif isinstance(exc, openai.APIError):  # an `{"error": ...}` payload inside the stream
        body = exc.body if isinstance(exc.body, dict) else {}
        kind = body.get("code") or body.get("type")
        error = status_error(status_for_kind(kind), exc.message, provider=PROVIDER, model=model)
    else:
        error = transport_error(
            exc, provider=PROVIDER, model=model, base_url=base_url
        ) or unexpected_error(exc, provider=PROVIDER, model=model)
    return interrupted(error) if started else error


def _body_message(body: object) -> str | None:
    """The `error.message` of an error body (the SDK prefixes its own "Error code: N - ")."""
    error = body.get("error", body) if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    return message if isinstance(message, str) and message else None
