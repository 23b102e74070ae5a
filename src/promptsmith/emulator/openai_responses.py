"""OpenAI Responses API (`POST /v1/responses`), streaming and not.

Stream (each event `event: <type>` + `data:` with a `sequence_number`):
response.created, response.in_progress; per output item
response.output_item.added ... response.output_item.done, with
reasoning_summary_part / reasoning_summary_text deltas for reasoning,
content_part / output_text deltas for the message, and
function_call_arguments delta/done for function calls; then
response.completed carrying usage (input_tokens_details.cached_tokens,
output_tokens_details.reasoning_tokens). There is no `[DONE]`.
"""

from __future__ import annotations

from typing import Any

from .openai_chat import OpenAIChatSurface
from .script import Prompt, Script, UsageSpec
from .wire import Call, ErrorResponse, Frame, sse, text_of


class OpenAIResponsesSurface:
    provider = "openai"
    api = "responses"

    def model(self, body: dict[str, Any], path: str) -> str:
        return str(body.get("model", ""))

    def streaming(self, body: dict[str, Any], path: str) -> bool:
        return bool(body.get("stream"))

    def prompt(self, body: dict[str, Any]) -> Prompt:
        items = body.get("input")
        last = items if isinstance(items, str) else ""
        for item in items if isinstance(items, list) else []:
            if item.get("role") == "user":
                last = text_of(item.get("content")) or last
        tools = [
            tool.get("name", "")
            for tool in body.get("tools") or []
            if tool.get("type") == "function"
        ]
        return Prompt(last_user_text=last, tool_names=tools)

    def frames(self, script: Script, call: Call) -> list[Frame]:
        writer = _Writer()
        writer.event("response.created", response=_response(script, call, "in_progress", []))
        writer.event("response.in_progress", response=_response(script, call, "in_progress", []))
        output: list[dict[str, Any]] = []
        if script.reasoning:
            output.append(_reasoning_events(writer, script, call, len(output)))
        if script.text:
            output.append(_message_events(writer, script, call, len(output)))
        for index, tool in enumerate(script.tool_calls):
            item = {
                "id": f"fc_emu_{call.serial}_{index}",
                "type": "function_call",
                "status": "in_progress",
                "arguments": "",
                "call_id": tool.id,
                "name": tool.name,
            }
            position = len(output)
            writer.event("response.output_item.added", output_index=position, item=dict(item))
            for piece in tool.fragments:
                writer.event(
                    "response.function_call_arguments.delta",
                    token=True,
                    item_id=item["id"],
                    output_index=position,
                    delta=piece,
                )
            writer.event(
                "response.function_call_arguments.done",
                item_id=item["id"],
                output_index=position,
                arguments=tool.arguments,
            )
            item.update(status="completed", arguments=tool.arguments)
            writer.event("response.output_item.done", output_index=position, item=item)
            output.append(item)
        writer.event("response.completed", response=_response(script, call, "completed", output))
        return writer.frames

    def complete(self, script: Script, call: Call) -> dict[str, Any]:
        return _response(script, call, "completed", _output_items(script, call))

    def error(self, status: int, message: str, retry_after: float | None = None) -> ErrorResponse:
        return OpenAIChatSurface().error(status, message)

    def stream_error(self, call: Call) -> bytes:
        error = {
            "type": "error",
            "code": "server_error",
            "message": "The server is overloaded, please try again later.",
            "param": None,
            "sequence_number": 999,
        }
        return sse("error", error)

    def bad_json(self, call: Call) -> bytes:
        return (
            b"event: response.output_text.delta\n"
            b'data: {"type": "response.output_text.delta", "del\n\n'
        )


class _Writer:
    """Numbers events in order and keeps which ones carry tokens."""

    def __init__(self) -> None:
        self.frames: list[Frame] = []

    def event(self, kind: str, *, token: bool = False, **fields: Any) -> None:
        payload = {"type": kind, "sequence_number": len(self.frames), **fields}
        self.frames.append(Frame(sse(kind, payload), token))


def _reasoning_events(writer: _Writer, script: Script, call: Call, position: int) -> dict[str, Any]:
    item_id = f"rs_emu_{call.serial}"
    writer.event(
        "response.output_item.added",
        output_index=position,
        item={"id": item_id, "type": "reasoning", "summary": []},
    )
    where: dict[str, Any] = {"item_id": item_id, "output_index": position, "summary_index": 0}
    writer.event(
        "response.reasoning_summary_part.added", part={"type": "summary_text", "text": ""}, **where
    )
    for piece in script.reasoning:
        writer.event("response.reasoning_summary_text.delta", token=True, delta=piece, **where)
    full = {"type": "summary_text", "text": script.reasoning_text}
    writer.event("response.reasoning_summary_text.done", text=script.reasoning_text, **where)
    writer.event("response.reasoning_summary_part.done", part=full, **where)
    item = {"id": item_id, "type": "reasoning", "summary": [full]}
    writer.event("response.output_item.done", output_index=position, item=item)
    return item


def _message_events(writer: _Writer, script: Script, call: Call, position: int) -> dict[str, Any]:
    item_id = f"msg_emu_{call.serial}"
    opening = {
        "id": item_id,
        "type": "message",
        "status": "in_progress",
        "role": "assistant",
        "content": [],
    }
    writer.event("response.output_item.added", output_index=position, item=opening)
    where: dict[str, Any] = {"item_id": item_id, "output_index": position, "content_index": 0}
    empty = {"type": "output_text", "text": "", "annotations": []}
    writer.event("response.content_part.added", part=empty, **where)
    for piece in script.text:
        writer.event("response.output_text.delta", token=True, delta=piece, logprobs=[], **where)
    part = {"type": "output_text", "text": script.full_text, "annotations": []}
    writer.event("response.output_text.done", text=script.full_text, logprobs=[], **where)
    writer.event("response.content_part.done", part=part, **where)
    item = {**opening, "status": "completed", "content": [part]}
    writer.event("response.output_item.done", output_index=position, item=item)
    return item


def _output_items(script: Script, call: Call) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if script.reasoning:
        summary = [{"type": "summary_text", "text": script.reasoning_text}]
        items.append({"id": f"rs_emu_{call.serial}", "type": "reasoning", "summary": summary})
    if script.text:
        part = {"type": "output_text", "text": script.full_text, "annotations": []}
        items.append(
            {
                "id": f"msg_emu_{call.serial}",
                "type": "message",
                "status": "completed",
                "role": "assistant",
                "content": [part],
            }
        )
    for index, tool in enumerate(script.tool_calls):
        items.append(
            {
                "id": f"fc_emu_{call.serial}_{index}",
                "type": "function_call",
                "status": "completed",
                "arguments": tool.arguments,
                "call_id": tool.id,
                "name": tool.name,
            }
        )
    return items


def _response(
    script: Script, call: Call, status: str, output: list[dict[str, Any]]
) -> dict[str, Any]:
    body = call.body
    return {
        "id": f"resp_emu_{call.serial}",
        "object": "response",
        "created_at": call.created,
        "status": status,
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "model": call.model,
        "output": output,
        "parallel_tool_calls": True,
        "reasoning": body.get("reasoning"),
        "store": body.get("store", True),
        "temperature": body.get("temperature"),
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": body.get("tools") or [],
        "top_p": None,
        "usage": _usage(script.usage)
        if status == "completed" and not script.behaviour.no_usage
        else None,
    }


def _usage(usage: UsageSpec) -> dict[str, Any]:
    return {
        "input_tokens": usage.input_tokens,
        "input_tokens_details": {
            "cached_tokens": usage.cache_read_tokens,
            "cache_write_tokens": usage.cache_write_tokens,
        },
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": usage.input_tokens + usage.output_tokens,
    }
