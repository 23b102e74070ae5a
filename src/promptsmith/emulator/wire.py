"""Shared wire helpers: SSE encoding, frames, and the `Surface` each provider implements.

A streamed reply is rendered up front into a list of `Frame`s: bytes plus a flag
saying whether the frame carries a token (a delta the client would show). The
server paces and cuts streams by counting token frames, so per-chunk work at
send time is one `send()` of pre-encoded bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

import orjson

from .script import Prompt, Script


class Frame(NamedTuple):
    data: bytes
    token: bool = False


_JSON = (b"content-type", b"application/json")

# Lines with no SSE field, the second never closing its brace.
MALFORMED = b"this line is not server-sent events\n{{ not json either\n\n"


def sse(event: str | None, payload: Any, *, newline: bytes = b"\n") -> bytes:
    """One server-sent event: an optional `event:` line and one `data:` line."""
    data = b"data: " + orjson.dumps(payload) + newline + newline
    if event is None:
        return data
    return b"event: " + event.encode() + newline + data


@dataclass(slots=True)
class ErrorResponse:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]


@dataclass(slots=True)
class Call:
    """One provider request, as the surface sees it."""

    path: str
    query: str
    body: dict[str, Any]
    model: str
    serial: int  # request number, used in ids
    created: int  # unix seconds


class Surface(Protocol):
    """One provider API: how to read its requests and how to write its replies."""

    provider: str  # "anthropic" | "openai" | "gemini": failure counters key on it
    api: str

    def model(self, body: dict[str, Any], path: str) -> str: ...

    def streaming(self, body: dict[str, Any], path: str) -> bool: ...

    def prompt(self, body: dict[str, Any]) -> Prompt: ...

    def frames(self, script: Script, call: Call) -> list[Frame]: ...

    def complete(self, script: Script, call: Call) -> dict[str, Any]: ...

    def error(
        self, status: int, message: str, retry_after: float | None = None
    ) -> ErrorResponse: ...

    def stream_error(self, call: Call) -> bytes: ...

    def bad_json(self, call: Call) -> bytes: ...


def text_of(content: Any, text_types: tuple[str, ...] = ("text", "input_text")) -> str:
    """Text of a message `content` that is a string or a list of typed parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [
            part.get("text", "")
            for part in content
            if isinstance(part, dict) and part.get("type") in text_types
        ]
        return "".join(parts)
    return ""


async def send_json(
    send: Any, status: int, body: Any, headers: dict[str, str] | None = None
) -> None:
    data = orjson.dumps(body)
    raw = [_JSON, (b"content-length", str(len(data)).encode())]
    raw += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": data, "more_body": False})
