"""Gemini adapter (official `google-genai` SDK, `client.aio.models.generate_content_stream`).

- The base URL comes from `settings.gemini_base_url` (`http_options.base_url`).
- `request.reasoning` asks for thought summaries (`include_thoughts`, with
  `thinking_budget` = reasoning_budget); `thought: true` parts become
  `ReasoningDelta`s.
- Function calls arrive whole and become `ToolCall`s (Gemini usually sends no
  call id, so one is made up). The SDK's automatic function calling and
  automatic stream continuation are off: the router owns retries.
- Usage: input = promptTokenCount (cached tokens included); output =
  candidates + thoughts tokens.
- The connect timeout is applied by the transport, since the SDK passes one
  timeout for every phase of a request.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, AsyncIterator
from contextvars import ContextVar
from functools import partial
from typing import Any

import httpx2
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from ..exceptions import ProviderConnectionError, ProviderError
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
    guarded,
    incomplete_stream,
    interrupted,
    parse_retry_after,
    status_error,
    transport_error,
    unexpected_error,
)

PROVIDER = "google"
_FINISH: dict[str, FinishReason] = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
}
_SECONDS = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


# The responses the transport opens for the current call (see `GeminiProvider._events`).
_opened: ContextVar[list[httpx2.Response] | None] = ContextVar("gemini_opened", default=None)


class _Transport(httpx2.AsyncHTTPTransport):
    """Sets the connect timeout on every request, leaving the other phases as asked,
    and hands each response to the call that opened it, so the call can close it."""

    def __init__(self, connect_timeout: float) -> None:
        super().__init__(limits=UPSTREAM_LIMITS)
        self._connect_timeout = connect_timeout

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        timeout = dict(request.extensions.get("timeout") or {})
        timeout["connect"] = self._connect_timeout
        request.extensions["timeout"] = timeout
        response = await super().handle_async_request(request)
        opened = _opened.get()
        if opened is not None:
            opened.append(response)
        return response


class GeminiProvider:
    name = PROVIDER

    def __init__(self, settings: Settings) -> None:
        key = settings.gemini_api_key.get_secret_value() if settings.gemini_api_key else None
        self._secrets = (key,) if key else ()
        self._base_url = settings.gemini_base_url
        self._http = httpx2.AsyncClient(transport=_Transport(settings.connect_timeout))
        options = types.HttpOptions(
            base_url=settings.gemini_base_url, httpx_async_client=self._http
        )
        # A keyless base URL (a local proxy) still needs some key for the SDK.
        self._client = genai.Client(api_key=key or "unused", vertexai=False, http_options=options)

    def stream(self, request: ModelRequest) -> AsyncIterator[ProviderEvent]:
        return guarded(
            self._events(request),
            partial(map_error, model=request.model, base_url=self._base_url),
            self._secrets,
        )

    async def aclose(self) -> None:
        await self._client.aio.aclose()
        await self._http.aclose()

    async def _events(self, request: ModelRequest) -> AsyncGenerator[ProviderEvent, None]:
        # Closing the SDK's stream generator does not close the generators nested
        # in it, which hold the HTTP response: it would stay open (and the model
        # keep generating) until garbage collection. So note the response as the
        # transport opens it (during the first chunk's wait), and close it ourselves.
        upstream = await self._client.aio.models.generate_content_stream(
            model=request.model, contents=contents(request.messages), config=config(request)
        )
        opened: list[httpx2.Response] = []
        reader = _StreamReader()
        try:
            token = _opened.set(opened)
            try:
                chunk = await anext(upstream, None)
            finally:
                _opened.reset(token)
            while chunk is not None:
                for event in reader.feed(chunk):
                    yield event
                chunk = await anext(upstream, None)
        finally:
            await upstream.aclose()  # type: ignore[attr-defined]
            for response in opened:
                await response.aclose()
        if not reader.finished:
            raise incomplete_stream(PROVIDER, request.model)
        if reader.usage is not None:
            yield reader.usage
        yield Finish(reader.finish)


def config(request: ModelRequest) -> types.GenerateContentConfig:
    tools = None
    if request.tools:
        declarations = [
            types.FunctionDeclaration(
                name=t.name, description=t.description, parameters_json_schema=t.parameters
            )
            for t in request.tools
        ]
        tools = [types.Tool(function_declarations=declarations)]
    thinking = None
    if request.reasoning:
        thinking = types.ThinkingConfig(
            include_thoughts=True, thinking_budget=request.reasoning_budget
        )
    return types.GenerateContentConfig(
        system_instruction=request.system_text or None,
        max_output_tokens=request.max_tokens,
        temperature=request.temperature,
        tools=tools,
        thinking_config=thinking,
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
        automatic_continuation=False,
    )


def contents(messages: list[ChatMessage]) -> list[types.Content]:
    """Gemini turns ("user" / "model"); tool results are function responses in a user
    turn, and consecutive same-role messages merge into one turn."""
    names = {call.id: call.name for m in messages for call in m.tool_calls}
    turns: list[types.Content] = []
    for message in messages:
        parts: list[types.Part] = []
        if message.role == "tool":
            role = "user"
            name = message.name or names.get(message.tool_call_id or "", "")
            response = types.FunctionResponse(name=name, response={"result": message.content})
            parts.append(types.Part(function_response=response))
        else:
            role = "model" if message.role == "assistant" else "user"
            if message.content:
                parts.append(types.Part(text=message.content))
            parts += [
                types.Part(function_call=types.FunctionCall(name=c.name, args=c.arguments))
                for c in message.tool_calls
            ]
        if not parts:
            continue
        if turns and turns[-1].role == role and turns[-1].parts is not None:
            turns[-1].parts.extend(parts)
        else:
            turns.append(types.Content(role=role, parts=parts))
    return turns


class _StreamReader:
    """GenerateContentResponse chunks to normalized events (first candidate only)."""

    def __init__(self) -> None:
        self.finished = False
        self.finish: FinishReason = "stop"
        self.usage: Usage | None = None
        self._ids = ToolCallAssembler("call")
        self._called = False

    def feed(self, chunk: types.GenerateContentResponse) -> list[ProviderEvent]:
        out: list[ProviderEvent] = []
        if chunk.usage_metadata is not None:
            self.usage = _usage(chunk.usage_metadata)
        if not chunk.candidates:
            feedback = chunk.prompt_feedback
            if feedback is not None and feedback.block_reason:
                self.finished, self.finish = True, "content_filter"
            return out
        candidate = chunk.candidates[0]
        content = candidate.content
        for part in (content.parts if content is not None else None) or ():
            if part.function_call is not None:
                call = part.function_call
                out.append(
                    ToolCall(
                        id=call.id or self._ids.new_id(),
                        name=call.name or "",
                        arguments=dict(call.args or {}),
                    )
                )
                self._called = True
            elif part.text:
                out.append(ReasoningDelta(part.text) if part.thought else TextDelta(part.text))
        if candidate.finish_reason:
            self.finished = True
            reason = _FINISH.get(
                str(getattr(candidate.finish_reason, "value", candidate.finish_reason)), "other"
            )
            self.finish = "tool_calls" if self._called and reason == "stop" else reason
        return out


def _usage(meta: types.GenerateContentResponseUsageMetadata) -> Usage:
    thoughts = meta.thoughts_token_count or 0
    return Usage(
        input_tokens=(meta.prompt_token_count or 0) + (meta.tool_use_prompt_token_count or 0),
        output_tokens=(meta.candidates_token_count or 0) + thoughts,
        cache_read_tokens=meta.cached_content_token_count or 0,
        reasoning_tokens=thoughts,
    )


def _retry_delay(details: Any) -> float | None:
    """The delay of a `google.rpc.RetryInfo` detail in an error body, e.g. "37s"."""
    error = details.get("error", details) if isinstance(details, dict) else {}
    for detail in error.get("details") or []:
        if isinstance(detail, dict) and str(detail.get("@type", "")).endswith("RetryInfo"):
            match = _SECONDS.match(str(detail.get("retryDelay", "")))
            if match:
                return float(match.group(1))
    return None


def map_error(
    exc: BaseException, started: bool, *, model: str, base_url: str | None = None
) -> ProviderError:
    """Any google-genai SDK or transport failure as a ProviderError (final once started)."""
    error: ProviderError
    if isinstance(exc, genai_errors.APIError):
        headers = getattr(exc.response, "headers", None)
        retry_after = parse_retry_after(headers) if headers is not None else None
        if retry_after is None:
            retry_after = _retry_delay(exc.details)
        message = exc.message or str(exc)
        error = status_error(
            exc.code, message, provider=PROVIDER, model=model, retry_after=retry_after
        )
    elif isinstance(exc, genai_errors.UnknownApiResponseError):
        error = ProviderConnectionError(
            f"{PROVIDER} sent a malformed stream: {exc}", provider=PROVIDER, model=model
        )
    else:
        error = transport_error(
            exc, provider=PROVIDER, model=model, base_url=base_url
        ) or unexpected_error(exc, provider=PROVIDER, model=model)
    return interrupted(error) if started else error
