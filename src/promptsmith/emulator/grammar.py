"""The model-name grammar: a model called `emu-...` says how the emulator behaves.

    emu[-TOKEN]...          tokens are separated by "-", case-insensitive, any order

    text           a plain text reply (the default): "Echo: <last user message>"
    think          reasoning before the answer (Anthropic thinking + signature,
                   OpenAI chat `reasoning_content`, Responses reasoning summary,
                   Gemini `thought: true` parts)
    tool           a tool call to the first tool in the request (else `lookup`)
                   with arguments {"query": <last user message>}
    cached         usage reports 1024 cache-read tokens
    cachewrite     usage reports 512 cache-write tokens
    NxTms          N text tokens ("t0 t1 ...") spaced T ms apart; `stream` may
                   precede it: emu-stream-64x5ms
    <status>       every request fails with that HTTP status (400-599): emu-529
    <status>once   the first request per (provider, model) fails, then success;
    <status>xK     ...the first K requests fail: emu-429x2
    ra<S>          `retry-after: S` on error responses (429 defaults to 1)
    drop[N]        cut the connection after N tokens (default 3)
    hang           send the response headers, then nothing until the client leaves
    malformed[N]   after N tokens, lines that are not SSE, then end the body
    badjson[N]     after N tokens, an event whose JSON is cut short
    streamerror[N] after N tokens, the provider's in-stream error (overloaded)
    nousage        no usage in the stream (like some OpenAI-compatible servers)
    noids          tool calls without ids (like some OpenAI-compatible servers)

Unknown tokens are ignored, so `emu-case-17` is a plain model with its own
reply queue and failure counters. Names not starting with `emu` are plain text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

DEFAULT_AFTER = 3
CACHE_READ_TOKENS = 1024
CACHE_WRITE_TOKENS = 512

_STATUS = re.compile(r"^([45]\d\d)(once|x(\d+))?$")
_PACE = re.compile(r"^(\d+)x(\d+(?:\.\d+)?)ms$")
_AFTER = re.compile(r"^(drop|malformed|badjson|streamerror)(\d*)$")
_RETRY_AFTER = re.compile(r"^ra(\d+(?:\.\d+)?)$")


@dataclass(frozen=True, slots=True)
class Behaviour:
    """What a model name asks for. The defaults are a plain, well-behaved model."""

    reasoning: bool = False
    tool: bool = False
    cached: bool = False
    cache_write: bool = False
    tokens: int | None = None
    interval: float = 0.0  # seconds between tokens
    fail_status: int | None = None
    fail_times: int | None = None  # None: fail every request
    retry_after: float | None = None
    drop_after: int | None = None
    hang: bool = False
    malformed_after: int | None = None
    badjson_after: int | None = None
    stream_error_after: int | None = None
    no_usage: bool = False
    no_ids: bool = False

    @property
    def cut_after(self) -> int | None:
        """Token count after which the stream stops early, whatever the reason."""
        cuts = [
            n
            for n in (
                self.drop_after,
                self.malformed_after,
                self.badjson_after,
                self.stream_error_after,
            )
            if n is not None
        ]
        return min(cuts) if cuts else None


_FLAGS = {
    "think": "reasoning",
    "reasoning": "reasoning",
    "tool": "tool",
    "cached": "cached",
    "cachewrite": "cache_write",
    "hang": "hang",
    "nousage": "no_usage",
    "noids": "no_ids",
}


@lru_cache(maxsize=4096)
def parse_model(model: str) -> Behaviour:
    """Parse a model name; cached because benchmarks send the same names again and again."""
    name = model.rsplit("/", 1)[-1].lower()
    if not name.startswith("emu"):
        return Behaviour()
    fields: dict[str, object] = {}
    for token in name.split("-")[1:]:
        _apply(token, fields)
    return Behaviour(**fields)  # type: ignore[arg-type]


def _apply(token: str, fields: dict[str, object]) -> None:
    if token in _FLAGS:
        fields[_FLAGS[token]] = True
    elif match := _PACE.match(token):
        fields["tokens"] = int(match.group(1))
        fields["interval"] = float(match.group(2)) / 1000.0
    elif match := _STATUS.match(token):
        fields["fail_status"] = int(match.group(1))
        if match.group(2) == "once":
            fields["fail_times"] = 1
        elif match.group(3):
            fields["fail_times"] = int(match.group(3))
    elif match := _RETRY_AFTER.match(token):
        fields["retry_after"] = float(match.group(1))
    elif match := _AFTER.match(token):
        after = int(match.group(2)) if match.group(2) else DEFAULT_AFTER
        fields[f"{_after_field(match.group(1))}"] = after


def _after_field(kind: str) -> str:
    return {
        "drop": "drop_after",
        "malformed": "malformed_after",
        "badjson": "badjson_after",
        "streamerror": "stream_error_after",
    }[kind]
