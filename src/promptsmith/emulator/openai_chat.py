"""OpenAI Chat Completions (`POST /v1/chat/completions`), streaming and not.

Stream: `data: {chat.completion.chunk}` lines ending with `data: [DONE]`. The
first chunk carries the role; reasoning goes in `delta.reasoning_content`
(DeepSeek / vLLM style); a tool call opens with index, id, type and name, then
streams `function.arguments` fragments; the finish chunk has an empty delta;
with `stream_options.include_usage` a last chunk has `choices: []` and usage
with `prompt_tokens_details.cached_tokens` and
`completion_tokens_details.reasoning_tokens`.
"""

from __future__ import annotations

from typing import Any

from .script import Prompt, Script, UsageSpec
from .wire import Call, ErrorResponse, Frame, sse, text_of

_ERRORS = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
}


class OpenAIChatSurface:
    provider = "openai"
    api = "chat.completions"

    def model(self, body: dict[str, Any], path: str) -> str:
        return str(body.get("model", ""))

    def streaming(self, body: dict[str, Any], path: str) -> bool:
        return bool(body.get("stream"))

    def prompt(self, body: dict[str, Any]) -> Prompt:
        last = ""
        for message in body.get("messages") or []:
            if message.get("role") == "user":
                last = text_of(message.get("content")) or last
        tools = [
            (tool.get("function") or {}).get("name", "")
            for tool in body.get("tools") or []
            if tool.get("type", "function") == "function"
        ]
        return Prompt(last_user_text=last, tool_names=tools)

    def frames(self, script: Script, call: Call) -> list[Frame]:
        include_usage = bool((call.body.get("stream_options") or {}).get("include_usage"))
        include_usage = include_usage and not script.behaviour.no_usage
        chunk = _chunker(call, include_usage)
        frames = [Frame(sse(None, chunk({"role": "assistant", "content": ""})))]
        frames += [
            Frame(sse(None, chunk({"reasoning_content": t})), True) for t in script.reasoning
        ]
        frames += [Frame(sse(None, chunk({"content": t})), True) for t in script.text]
        for index, tool in enumerate(script.tool_calls):
            opening: dict[str, Any] = {
                "index": index,
                "type": "function",
                "function": {"name": tool.name, "arguments": ""},
            }
            if not script.behaviour.no_ids:
                opening["id"] = tool.id
            frames.append(Frame(sse(None, chunk({"tool_calls": [opening]}))))
            for piece in tool.fragments:
                fragment = {"index": index, "function": {"arguments": piece}}
                frames.append(Frame(sse(None, chunk({"tool_calls": [fragment]})), True))
        frames.append(Frame(sse(None, chunk({}, finish=script.finish))))
        if include_usage:
            last = chunk(None)
            last["usage"] = _usage(script.usage)
            frames.append(Frame(sse(None, last)))
        frames.append(Frame(b"data: [DONE]\n\n"))
        return frames

    def complete(self, script: Script, call: Call) -> dict[str, Any]:
        message: dict[str, Any] = {
            "role": "assistant",
            "content": script.full_text or None,
            "refusal": None,
        }
        if script.reasoning:
            message["reasoning_content"] = script.reasoning_text
        if script.tool_calls:
            message["tool_calls"] = [
                {
                    "id": tool.id,
                    "type": "function",
                    "function": {"name": tool.name, "arguments": tool.arguments},
                }
                for tool in script.tool_calls
            ]
        body: dict[str, Any] = {
            "id": f"chatcmpl-emu-{call.serial}",
            "object": "chat.completion",
            "created": call.created,
            "model": call.model,
            "choices": [
                {"index": 0, "message": message, "logprobs": None, "finish_reason": script.finish}
            ],
            "system_fingerprint": None,
        }
        if not script.behaviour.no_usage:
            body["usage"] = _usage(script.usage)
        return body

    def error(self, status: int, message: str, retry_after: float | None = None) -> ErrorResponse:
        kind, code = _ERRORS.get(
            status, ("server_error" if status >= 500 else "invalid_request_error", None)
        )
        body = {
            "error": {
                "message": message or f"Emulated error {status}",
                "type": kind,
                "param": None,
                "code": code,
            }
        }
        return ErrorResponse(status, body, {"x-request-id": "req_emu"})

    def stream_error(self, call: Call) -> bytes:
        error = {
            "message": "The server is overloaded, please try again later.",
            "type": "server_error",
            "param": None,
            "code": None,
        }
        return sse(None, {"error": error})

    def bad_json(self, call: Call) -> bytes:
        return (
            b'data: {"id": "chatcmpl-emu", "object": "chat.completion.chunk", "choices": [{"del\n\n'
        )


def _chunker(call: Call, include_usage: bool) -> Any:
    ident = f"chatcmpl-emu-{call.serial}"

    def chunk(delta: dict[str, Any] | None, finish: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": ident,
            "object": "chat.completion.chunk",
            "created": call.created,
            "model": call.model,
            "system_fingerprint": None,
            "choices": []
            if delta is None
            else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if include_usage:
            body["usage"] = None
        return body

    return chunk


def _usage(usage: UsageSpec) -> dict[str, Any]:
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.input_tokens + usage.output_tokens,
        "prompt_tokens_details": {
            "cached_tokens": usage.cache_read_tokens,
            "cache_write_tokens": usage.cache_write_tokens,
            "audio_tokens": 0,
        },
        "completion_tokens_details": {
            "reasoning_tokens": usage.reasoning_tokens,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }
