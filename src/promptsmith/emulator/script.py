"""What a reply contains, independent of any provider's wire format.

A `Script` is built from the model name's `Behaviour`, what the request asked
(`Prompt`), and an optional reply queued through the control API. Each provider
module renders a script into its own frames or JSON body.

A queued reply is a JSON object; every key is optional:

    {"text": "Hello there",            # streamed word by word...
     "chunks": ["Hel", "lo"],          # ...or exactly these text deltas
     "reasoning": "Let me think",      # or "reasoning_chunks": [...]
     "tool_calls": [{"name": "search", "arguments": {"q": "x"}, "id": "call_1"}],
     "usage": {"input_tokens": 10, "output_tokens": 5, "cache_read_tokens": 0,
               "cache_write_tokens": 0, "reasoning_tokens": 0},
     "finish_reason": "stop" | "length" | "tool_calls",
     "error": {"status": 503, "message": "...", "retry_after": 2}}
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import orjson

from .grammar import CACHE_READ_TOKENS, CACHE_WRITE_TOKENS, Behaviour

_WORDS = re.compile(r"\S+\s*|\s+")
_FRAGMENT = 12  # characters per tool-argument fragment


def words(text: str) -> list[str]:
    """Split text into word-sized deltas that join back to exactly `text`."""
    return _WORDS.findall(text)


@dataclass(slots=True)
class Prompt:
    """The parts of a request the emulator's default replies depend on."""

    last_user_text: str = ""
    tool_names: list[str] = field(default_factory=list)
    size: int = 0  # request body bytes, for a deterministic input-token count


@dataclass(slots=True)
class ToolCallSpec:
    id: str
    name: str
    arguments: str  # JSON text

    @property
    def fragments(self) -> list[str]:
        text = self.arguments
        return [text[i : i + _FRAGMENT] for i in range(0, len(text), _FRAGMENT)] or [""]

    @property
    def arguments_object(self) -> Any:
        return orjson.loads(self.arguments) if self.arguments else {}


@dataclass(slots=True)
class UsageSpec:
    """Normalized usage: input includes cached tokens, output includes reasoning."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0


@dataclass(slots=True)
class ErrorSpec:
    status: int
    message: str = ""
    retry_after: float | None = None


@dataclass(slots=True)
class Script:
    reasoning: list[str]
    text: list[str]
    tool_calls: list[ToolCallSpec]
    usage: UsageSpec
    finish: str  # "stop" | "length" | "tool_calls"
    behaviour: Behaviour

    @property
    def reasoning_text(self) -> str:
        return "".join(self.reasoning)

    @property
    def full_text(self) -> str:
        return "".join(self.text)


def build_script(
    behaviour: Behaviour, prompt: Prompt, queued: dict[str, Any] | None, serial: int
) -> Script:
    """Everything the reply will say. `serial` makes tool-call ids unique per request."""
    if queued is not None:
        reasoning, text, calls = _queued_content(queued, serial)
    else:
        reasoning, text, calls = _default_content(behaviour, prompt, serial)
    usage = _usage(behaviour, prompt, reasoning, text, calls, (queued or {}).get("usage"))
    finish = (queued or {}).get("finish_reason") or ("tool_calls" if calls else "stop")
    return Script(reasoning, text, calls, usage, finish, behaviour)


def queued_error(queued: dict[str, Any] | None) -> ErrorSpec | None:
    error = (queued or {}).get("error")
    if not error:
        return None
    return ErrorSpec(
        status=int(error.get("status", 500)),
        message=str(error.get("message", "")),
        retry_after=error.get("retry_after"),
    )


def _default_content(
    behaviour: Behaviour, prompt: Prompt, serial: int
) -> tuple[list[str], list[str], list[ToolCallSpec]]:
    reasoning = words(f"Let me think about: {prompt.last_user_text}") if behaviour.reasoning else []
    if behaviour.tokens is not None:
        text = [f"t{i} " for i in range(behaviour.tokens)]
    elif behaviour.tool:
        text = []
    else:
        text = words(f"Echo: {prompt.last_user_text}")
    calls: list[ToolCallSpec] = []
    if behaviour.tool:
        name = prompt.tool_names[0] if prompt.tool_names else "lookup"
        arguments = orjson.dumps({"query": prompt.last_user_text}).decode()
        calls.append(ToolCallSpec(f"call_emu_{serial}_0", name, arguments))
    return reasoning, text, calls


def _queued_content(
    queued: dict[str, Any], serial: int
) -> tuple[list[str], list[str], list[ToolCallSpec]]:
    text = list(queued["chunks"]) if "chunks" in queued else words(queued.get("text", ""))
    if "reasoning_chunks" in queued:
        reasoning = list(queued["reasoning_chunks"])
    else:
        reasoning = words(queued.get("reasoning", ""))
    calls = []
    for index, call in enumerate(queued.get("tool_calls", [])):
        arguments = call.get("arguments", {})
        if not isinstance(arguments, str):
            arguments = orjson.dumps(arguments).decode()
        calls.append(
            ToolCallSpec(call.get("id") or f"call_emu_{serial}_{index}", call["name"], arguments)
        )
    return reasoning, text, calls


def _usage(
    behaviour: Behaviour,
    prompt: Prompt,
    reasoning: list[str],
    text: list[str],
    calls: list[ToolCallSpec],
    override: dict[str, int] | None,
) -> UsageSpec:
    cache_read = CACHE_READ_TOKENS if behaviour.cached else 0
    cache_write = CACHE_WRITE_TOKENS if behaviour.cache_write else 0
    output = len(reasoning) + len(text) + sum(len(call.fragments) for call in calls)
    usage = UsageSpec(
        input_tokens=max(1, prompt.size // 4) + cache_read + cache_write,
        output_tokens=max(1, output),
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
        reasoning_tokens=len(reasoning),
    )
    for key, value in (override or {}).items():
        if hasattr(usage, key):
            setattr(usage, key, int(value))
    return usage
