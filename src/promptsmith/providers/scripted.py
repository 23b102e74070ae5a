"""A deterministic provider for tests and demos, registered like a real one.

    provider = ScriptedProvider(["first reply", "second reply"])   # one reply per call
    provider = ScriptedProvider(lambda request: [TextDelta("hi"), Finish()])

A reply may be a string (streamed word by word), a list of events and strings,
or an exception instance (raised when reached, so "fails mid-stream" is easy
to script). Every request is recorded in `provider.requests`.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable, Iterable, Sequence

from .base import Finish, ModelRequest, ProviderEvent, TextDelta, ToolCall, Usage

ScriptItem = ProviderEvent | str | BaseException
Reply = str | Sequence[ScriptItem]
ScriptFunction = Callable[[ModelRequest], Reply]

_WORDS = re.compile(r"\S+\s*|\s+")


def words(text: str) -> list[str]:
    """Split text into word-sized deltas that join back to exactly `text`."""
    return _WORDS.findall(text) or [text]


class ScriptedProvider:
    name = "scripted"

    def __init__(
        self,
        script: Sequence[Reply] | ScriptFunction | None = None,
        *,
        delay: float = 0.0,
        usage: Usage | None = None,
    ) -> None:
        self._function: ScriptFunction | None = script if callable(script) else None
        self._replies: list[Reply] = [] if callable(script) or script is None else list(script)
        self._delay = delay
        self._usage = usage
        self.requests: list[ModelRequest] = []
        self.cancelled = 0
        self.completed = 0

    def _next_reply(self, request: ModelRequest) -> Reply:
        if self._function is not None:
            return self._function(request)
        if not self._replies:
            return default_reply(request)
        return self._replies.pop(0) if len(self._replies) > 1 else self._replies[0]

    async def stream(self, request: ModelRequest) -> AsyncIterator[ProviderEvent]:
        self.requests.append(request)
        reply = self._next_reply(request)
        items: Iterable[ScriptItem] = [reply] if isinstance(reply, str) else reply
        saw_usage = saw_finish = saw_tool_call = False
        output_chars = 0
        try:
            for item in items:
                for event in _expand(item):
                    if self._delay:
                        await asyncio.sleep(self._delay)
                    if isinstance(event, TextDelta):
                        output_chars += len(event.text)
                    saw_usage |= isinstance(event, Usage)
                    saw_finish |= isinstance(event, Finish)
                    saw_tool_call |= isinstance(event, ToolCall)
                    yield event
            if not saw_usage:
                yield self._usage or _estimate_usage(request, output_chars)
            if not saw_finish:
                yield Finish("tool_calls" if saw_tool_call else "stop")
            self.completed += 1
        except (asyncio.CancelledError, GeneratorExit):
            self.cancelled += 1
            raise


def _expand(item: ScriptItem) -> Iterable[ProviderEvent]:
    if isinstance(item, BaseException):
        raise item
    if isinstance(item, str):
        return [TextDelta(piece) for piece in words(item)]
    return [item]


def _estimate_usage(request: ModelRequest, output_chars: int) -> Usage:
    input_chars = len(request.system_text) + sum(len(m.content) for m in request.messages)
    return Usage(input_tokens=max(1, input_chars // 4), output_tokens=max(1, output_chars // 4))


def default_reply(request: ModelRequest) -> str:
    """What an unscripted provider answers: an echo of the last user message."""
    last = next((m.content for m in reversed(request.messages) if m.role == "user"), "")
    return f"(scripted reply) {last[:200]}"
