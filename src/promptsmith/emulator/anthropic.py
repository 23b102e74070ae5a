"""Anthropic Messages API (`POST /v1/messages`), streaming and not.

Stream: message_start, ping, then per content block content_block_start,
content_block_delta* (thinking_delta + signature_delta, text_delta,
input_json_delta), content_block_stop; then message_delta (stop_reason and
cumulative usage) and message_stop. Errors use `{"type": "error", "error":
{"type": ..., "message": ...}}`, with status 529 for `overloaded_error`.
"""

from __future__ import annotations

import base64
from typing import Any

from .script import Prompt, Script, UsageSpec
from .wire import Call, ErrorResponse, Frame, sse, text_of

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
_STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}


class AnthropicSurface:
    provider = "anthropic"
    api = "messages"

    def model(self, body: dict[str, Any], path: str) -> str:
        return str(body.get("model", ""))

    def streaming(self, body: dict[str, Any], path: str) -> bool:
        return bool(body.get("stream"))

    def prompt(self, body: dict[str, Any]) -> Prompt:
        last = ""
        for message in body.get("messages") or []:
            if message.get("role") == "user":
                last = text_of(message.get("content")) or last
        tools = [tool.get("name", "") for tool in body.get("tools") or []]
        return Prompt(last_user_text=last, tool_names=tools)

    def frames(self, script: Script, call: Call) -> list[Frame]:
        message = _message(script, call, content=[], stop_reason=None)
        message["usage"] = _usage(script.usage, output_tokens=1)
        frames = [
            Frame(sse("message_start", {"type": "message_start", "message": message})),
            Frame(sse("ping", {"type": "ping"})),
        ]
        index = 0
        if script.reasoning:
            frames += _block(index, {"type": "thinking", "thinking": "", "signature": ""})
            frames += [
                _delta(index, {"type": "thinking_delta", "thinking": t}, True)
                for t in script.reasoning
            ]
            frames.append(
                _delta(index, {"type": "signature_delta", "signature": _signature(script)}, False)
            )
            frames.append(_stop(index))
            index += 1
        if script.text:
            frames += _block(index, {"type": "text", "text": ""})
            frames += [_delta(index, {"type": "text_delta", "text": t}, True) for t in script.text]
            frames.append(_stop(index))
            index += 1
        for tool in script.tool_calls:
            block = {"type": "tool_use", "id": tool.id, "name": tool.name, "input": {}}
            frames += _block(index, block)
            frames.append(_delta(index, {"type": "input_json_delta", "partial_json": ""}, False))
            frames += [
                _delta(index, {"type": "input_json_delta", "partial_json": piece}, True)
                for piece in tool.fragments
            ]
            frames.append(_stop(index))
            index += 1
        delta = {
            "type": "message_delta",
            "delta": {
                "stop_reason": _STOP_REASONS.get(script.finish, "end_turn"),
                "stop_sequence": None,
            },
            "usage": _usage(script.usage),
        }
        frames.append(Frame(sse("message_delta", delta)))
        frames.append(Frame(sse("message_stop", {"type": "message_stop"})))
        return frames

    def complete(self, script: Script, call: Call) -> dict[str, Any]:
        content: list[dict[str, Any]] = []
        if script.reasoning:
            content.append(
                {
                    "type": "thinking",
                    "thinking": script.reasoning_text,
                    "signature": _signature(script),
                }
            )
        if script.text:
            content.append({"type": "text", "text": script.full_text})
        for tool in script.tool_calls:
            content.append(
                {
                    "type": "tool_use",
                    "id": tool.id,
                    "name": tool.name,
                    "input": tool.arguments_object,
                }
            )
        stop = _STOP_REASONS.get(script.finish, "end_turn")
        message = _message(script, call, content=content, stop_reason=stop)
        message["usage"] = _usage(script.usage)
        return message

    def error(self, status: int, message: str, retry_after: float | None = None) -> ErrorResponse:
        kind = _ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
        body = {
            "type": "error",
            "error": {"type": kind, "message": message or kind.replace("_", " ")},
            "request_id": "req_emu",
        }
        return ErrorResponse(status, body, {"request-id": "req_emu"})

    def stream_error(self, call: Call) -> bytes:
        body = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
        return sse("error", body)

    def bad_json(self, call: Call) -> bytes:
        return (
            b"event: content_block_delta\n"
            b'data: {"type": "content_block_delta", "index": 0, "delta": {"type": "text_del\n\n'
        )


def _message(
    script: Script, call: Call, *, content: list[dict[str, Any]], stop_reason: str | None
) -> dict[str, Any]:
    return {
        "id": f"msg_emu_{call.serial}",
        "type": "message",
        "role": "assistant",
        "model": call.model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
    }


def _usage(usage: UsageSpec, output_tokens: int | None = None) -> dict[str, Any]:
    uncached = usage.input_tokens - usage.cache_read_tokens - usage.cache_write_tokens
    out: dict[str, Any] = {
        "input_tokens": max(0, uncached),
        "cache_creation_input_tokens": usage.cache_write_tokens,
        "cache_read_input_tokens": usage.cache_read_tokens,
        "output_tokens": usage.output_tokens if output_tokens is None else output_tokens,
    }
    if usage.reasoning_tokens and output_tokens is None:
        out["output_tokens_details"] = {"thinking_tokens": usage.reasoning_tokens}
    return out


def _block(index: int, block: dict[str, Any]) -> list[Frame]:
    start = {"type": "content_block_start", "index": index, "content_block": block}
    return [Frame(sse("content_block_start", start))]


def _delta(index: int, delta: dict[str, Any], token: bool) -> Frame:
    event = {"type": "content_block_delta", "index": index, "delta": delta}
    return Frame(sse("content_block_delta", event), token)


def _stop(index: int) -> Frame:
    return Frame(sse("content_block_stop", {"type": "content_block_stop", "index": index}))


def _signature(script: Script) -> str:
    return base64.b64encode(f"emu-signature:{len(script.reasoning_text)}".encode()).decode()
