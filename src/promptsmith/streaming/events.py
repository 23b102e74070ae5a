"""Typed stream events for both streaming endpoints, and their one-time JSON encoding.

Events are frozen slotted dataclasses whose `type` field comes first, so orjson
serializes them natively in one pass. Classes that carry optional fields set
`sparse = True`; their `None` fields are left out of the JSON instead of being
sent as `null`.

The transport, not the endpoint, sends `Done`: endpoint generators never yield it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Literal

import orjson

Mode = Literal["chat", "clarify", "draft"]


@dataclass(slots=True, frozen=True, kw_only=True)
class Event:
    sparse: ClassVar[bool] = False


# --- shared by both streams ---------------------------------------------------


@dataclass(slots=True, frozen=True, kw_only=True)
class Done(Event):
    type: Literal["done"] = "done"


@dataclass(slots=True, frozen=True, kw_only=True)
class ErrorEvent(Event):
    sparse: ClassVar[bool] = True
    type: Literal["error"] = "error"
    error: str
    message: str | None = None
    code: str | None = None
    provider: str | None = None
    requestId: str | None = None


@dataclass(slots=True, frozen=True, kw_only=True)
class SetupRequiredEvent(Event):
    type: Literal["ai-setup-required"] = "ai-setup-required"
    code: str
    provider: str
    reason: str
    message: str


# --- prompt-assistant (NDJSON or SSE) ----------------------------------------------


@dataclass(slots=True, frozen=True, kw_only=True)
class ModeEvent(Event):
    type: Literal["mode"] = "mode"
    mode: Mode


@dataclass(slots=True, frozen=True, kw_only=True)
class StatusEvent(Event):
    type: Literal["status"] = "status"
    label: str


@dataclass(slots=True, frozen=True, kw_only=True)
class AssistantDelta(Event):
    type: Literal["assistant-delta"] = "assistant-delta"
    delta: str


@dataclass(slots=True, frozen=True, kw_only=True)
class ReasoningDeltaEvent(Event):
    type: Literal["reasoning-delta"] = "reasoning-delta"
    delta: str


@dataclass(slots=True, frozen=True, kw_only=True)
class DraftReady(Event):
    sparse: ClassVar[bool] = True
    type: Literal["draft-ready"] = "draft-ready"
    prompt: str
    section: str | None = None
    summary: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    diagnostics: list[dict[str, Any]] | None = None


# --- qanda-stream (SSE) --------------------------------------------------------------


@dataclass(slots=True, frozen=True, kw_only=True)
class Connected(Event):
    type: Literal["connected"] = "connected"
    message: str = "Stream connected"


@dataclass(slots=True, frozen=True, kw_only=True)
class ToolCallEvent(Event):
    type: Literal["tool_call"] = "tool_call"
    call_id: str
    name: str
    arguments: dict[str, Any]
    displayInfo: dict[str, Any]


@dataclass(slots=True, frozen=True, kw_only=True)
class ToolResultEvent(Event):
    type: Literal["tool_result"] = "tool_result"
    call_id: str
    name: str
    results: list[dict[str, Any]]


@dataclass(slots=True, frozen=True, kw_only=True)
class StreamChunk(Event):
    """`prompt` is the cumulative answer so far, `delta` the new text (as the spec has it)."""

    type: Literal["stream"] = "stream"
    prompt: str
    delta: str


@dataclass(slots=True, frozen=True, kw_only=True)
class Complete(Event):
    type: Literal["complete"] = "complete"
    success: bool = True
    usage: int
    outputs: list[str]
    model: str
    cached: int
    completion: int
    citations: list[dict[str, Any]] = field(default_factory=list)


_FIELD_NAMES: dict[type[Event], tuple[str, ...]] = {}


def _field_names(cls: type[Event]) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(cls))
    return names


def encode(event: Event) -> bytes:
    """Serialize an event to compact JSON bytes, once."""
    if not event.sparse:
        return orjson.dumps(event)
    return orjson.dumps(
        {
            name: value
            for name in _field_names(type(event))
            if (value := getattr(event, name)) is not None
        }
    )
