"""Gemini API: `POST /{version}/models/{model}:streamGenerateContent?alt=sse` and
`:generateContent`.

Stream: `data: {GenerateContentResponse}` events. Parts are `{"text": ...}`,
`{"text": ..., "thought": true}` or `{"functionCall": {"name", "args"}}` (no id,
like the Gemini API); the last event carries `finishReason` and the full
`usageMetadata` (promptTokenCount includes cachedContentTokenCount;
candidatesTokenCount excludes thoughtsTokenCount). Errors use
`{"error": {"code", "message", "status", "details"}}`; a retry delay is given
as a `google.rpc.RetryInfo` detail.
"""

from __future__ import annotations

import re
from typing import Any

from .script import Prompt, Script, UsageSpec
from .wire import Call, ErrorResponse, Frame, sse

_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "NOT_IMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_FINISH = {"stop": "STOP", "length": "MAX_TOKENS", "tool_calls": "STOP"}
_CRLF = b"\r\n"
PATH = re.compile(
    r"/models/(?P<model>[^/:]+(?:/[^/:]+)*):(?P<method>streamGenerateContent|generateContent)$"
)


class GeminiSurface:
    provider = "gemini"
    api = "generateContent"

    def model(self, body: dict[str, Any], path: str) -> str:
        match = PATH.search(path)
        return match.group("model") if match else ""

    def streaming(self, body: dict[str, Any], path: str) -> bool:
        return path.endswith(":streamGenerateContent")

    def prompt(self, body: dict[str, Any]) -> Prompt:
        last = ""
        for content in body.get("contents") or []:
            if content.get("role", "user") == "user":
                text = "".join(part.get("text", "") for part in content.get("parts") or [])
                last = text or last
        tools = [
            declaration.get("name", "")
            for tool in body.get("tools") or []
            for declaration in tool.get("functionDeclarations")
            or tool.get("function_declarations")
            or []
        ]
        return Prompt(last_user_text=last, tool_names=tools)

    def frames(self, script: Script, call: Call) -> list[Frame]:
        def chunk(parts: list[dict[str, Any]], **extra: Any) -> bytes:
            candidate = {"content": {"parts": parts, "role": "model"}, "index": 0, **extra}
            body: dict[str, Any] = {
                "candidates": [candidate],
                "modelVersion": call.model,
                "responseId": f"emu-{call.serial}",
            }
            if not script.behaviour.no_usage:
                body["usageMetadata"] = _usage(script.usage, final="finishReason" in extra)
            return sse(None, body, newline=_CRLF)

        frames = [Frame(chunk([{"text": t, "thought": True}]), True) for t in script.reasoning]
        frames += [Frame(chunk([{"text": t}]), True) for t in script.text]
        frames += [Frame(chunk([_function_call(tool)]), True) for tool in script.tool_calls]
        frames.append(Frame(chunk([{"text": ""}], finishReason=_FINISH.get(script.finish, "STOP"))))
        return frames

    def complete(self, script: Script, call: Call) -> dict[str, Any]:
        parts: list[dict[str, Any]] = []
        if script.reasoning:
            parts.append({"text": script.reasoning_text, "thought": True})
        if script.text:
            parts.append({"text": script.full_text})
        parts += [_function_call(tool) for tool in script.tool_calls]
        candidate = {
            "content": {"parts": parts, "role": "model"},
            "finishReason": _FINISH.get(script.finish, "STOP"),
            "index": 0,
        }
        body: dict[str, Any] = {
            "candidates": [candidate],
            "modelVersion": call.model,
            "responseId": f"emu-{call.serial}",
        }
        if not script.behaviour.no_usage:
            body["usageMetadata"] = _usage(script.usage, final=True)
        return body

    def error(self, status: int, message: str, retry_after: float | None = None) -> ErrorResponse:
        error: dict[str, Any] = {
            "code": status,
            "message": message or f"Emulated error {status}",
            "status": _STATUS.get(
                status, "UNAVAILABLE" if status >= 500 else "FAILED_PRECONDITION"
            ),
        }
        if retry_after is not None:
            error["details"] = [
                {
                    "@type": "type.googleapis.com/google.rpc.RetryInfo",
                    "retryDelay": f"{retry_after:g}s",
                }
            ]
        return ErrorResponse(status, {"error": error}, {})

    def stream_error(self, call: Call) -> bytes:
        error = {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}
        return sse(None, {"error": error}, newline=_CRLF)

    def bad_json(self, call: Call) -> bytes:
        return b'data: {"candidates": [{"content": {"parts": [{"te\r\n\r\n'


def _function_call(tool: Any) -> dict[str, Any]:
    return {"functionCall": {"name": tool.name, "args": tool.arguments_object}}


def _usage(usage: UsageSpec, *, final: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"promptTokenCount": usage.input_tokens}
    if usage.cache_read_tokens:
        out["cachedContentTokenCount"] = usage.cache_read_tokens
    if not final:
        out["totalTokenCount"] = usage.input_tokens
        return out
    out["candidatesTokenCount"] = usage.output_tokens - usage.reasoning_tokens
    if usage.reasoning_tokens:
        out["thoughtsTokenCount"] = usage.reasoning_tokens
    out["totalTokenCount"] = usage.input_tokens + usage.output_tokens
    return out
