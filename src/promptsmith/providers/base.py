"""The provider contract: one request type in, one stream of normalized events out.

A provider adapter turns a `ModelRequest` into the provider's wire request and
turns whatever the provider streams back into these events, in order:

    TextDelta* / ReasoningDelta* / ToolCall*   (interleaved as the model produced them)
    Usage                                     (at most once, usually near the end)
    Finish                                    (exactly once, last)

Non-streaming callers use `collect()`, so both paths share one code path.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

Role = Literal["user", "assistant", "tool"]
FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "error", "other"]


@dataclass(slots=True)
class SystemBlock:
    """A piece of the system prompt. `cache=True` marks a stable prefix worth caching."""

    text: str
    cache: bool = False


@dataclass(slots=True)
class ToolSpec:
    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(slots=True, frozen=True)
class TextDelta:
    text: str
    kind: Literal["text"] = "text"


@dataclass(slots=True, frozen=True)
class ReasoningDelta:
    text: str
    kind: Literal["reasoning"] = "reasoning"


@dataclass(slots=True, frozen=True)
class ToolCall:
    """A complete tool call: adapters buffer argument fragments until the call is whole."""

    id: str
    name: str
    arguments: dict[str, Any]
    kind: Literal["tool_call"] = "tool_call"


@dataclass(slots=True, frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    kind: Literal["usage"] = "usage"

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cache_read_tokens=self.cache_read_tokens + other.cache_read_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
            reasoning_tokens=self.reasoning_tokens + other.reasoning_tokens,
        )


@dataclass(slots=True, frozen=True)
class Finish:
    reason: FinishReason = "stop"
    kind: Literal["finish"] = "finish"


ProviderEvent = TextDelta | ReasoningDelta | ToolCall | Usage | Finish


@dataclass(slots=True)
class ChatMessage:
    role: Role
    content: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    # For role="tool": which call this message answers.
    tool_call_id: str | None = None
    name: str | None = None


@dataclass(slots=True)
class ModelRequest:
    """What every adapter understands. `model` is passed to the provider unchanged."""

    model: str
    messages: list[ChatMessage]
    system: list[SystemBlock] = field(default_factory=list)
    tools: list[ToolSpec] = field(default_factory=list)
    max_tokens: int = 4096
    temperature: float | None = None
    # Ask for the model's reasoning/thinking where the provider supports it.
    reasoning: bool = False
    reasoning_budget: int = 2048
    # Free-form tags for logs and the usage table (endpoint, org, ...).
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def system_text(self) -> str:
        return "\n\n".join(block.text for block in self.system)


@runtime_checkable
class Provider(Protocol):
    """A model provider. `stream` is an async generator of `ProviderEvent`.

    Adapters raise `promptsmith.exceptions.ProviderError` subclasses (mapped from
    the SDK's errors in one place per adapter) and must let `asyncio.CancelledError`
    propagate so the upstream HTTP stream is closed when the client goes away.
    """

    name: str

    def stream(self, request: ModelRequest) -> AsyncIterator[ProviderEvent]: ...


@dataclass(slots=True)
class Completion:
    """A whole response, assembled from the stream by `collect`."""

    text: str = ""
    reasoning: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    finish_reason: FinishReason = "stop"


async def collect(events: AsyncIterator[ProviderEvent]) -> Completion:
    """Drain a provider stream into a `Completion`."""
    text: list[str] = []
    reasoning: list[str] = []
    completion = Completion()
    async for event in events:
        if isinstance(event, TextDelta):
            text.append(event.text)
        elif isinstance(event, ReasoningDelta):
            reasoning.append(event.text)
        elif isinstance(event, ToolCall):
            completion.tool_calls.append(event)
        elif isinstance(event, Usage):
            completion.usage = event
        elif isinstance(event, Finish):
            completion.finish_reason = event.reason
    completion.text = "".join(text)
    completion.reasoning = "".join(reasoning)
    return completion
