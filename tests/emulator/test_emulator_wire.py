"""The emulator's wire formats, read with a plain HTTP client."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from promptsmith.emulator.testing import Emulator

USER = {"role": "user", "content": "hello there"}


def sse_events(text: str) -> list[tuple[str | None, str]]:
    """(event name, data) pairs of an SSE body."""
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        if not block.strip():
            continue
        name, data = None, []
        for line in block.split("\n"):
            if line.startswith("event: "):
                name = line[len("event: ") :]
            elif line.startswith("data: "):
                data.append(line[len("data: ") :])
        events.append((name, "\n".join(data)))
    return events


async def post(emulator: Emulator, path: str, body: dict[str, Any]) -> httpx.Response:
    async with httpx.AsyncClient(base_url=emulator.url, timeout=10) as client:
        return await client.post(path, json=body)


async def anthropic_stream(emulator: Emulator, model: str) -> httpx.Response:
    body = {"model": model, "max_tokens": 50, "stream": True, "messages": [USER]}
    body["tools"] = [{"name": "search", "input_schema": {"type": "object"}}]
    return await post(emulator, "/v1/messages", body)


async def test_anthropic_event_sequence(emulator: Emulator) -> None:
    response = await anthropic_stream(emulator, "emu-think-tool")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.text)
    names = [name for name, _ in events]
    assert names[:3] == ["message_start", "ping", "content_block_start"]
    assert names[-2:] == ["message_delta", "message_stop"]
    payloads = [json.loads(data) for _, data in events]
    assert all(p["type"] == name for p, (name, _) in zip(payloads, events, strict=True))
    delta_types = [p["delta"]["type"] for p in payloads if p["type"] == "content_block_delta"]
    assert delta_types.index("signature_delta") < delta_types.index("input_json_delta")
    blocks = [p["content_block"]["type"] for p in payloads if p["type"] == "content_block_start"]
    assert blocks == ["thinking", "tool_use"]
    tool_json = "".join(
        p["delta"]["partial_json"]
        for p in payloads
        if p["type"] == "content_block_delta" and p["delta"]["type"] == "input_json_delta"
    )
    assert json.loads(tool_json) == {"query": "hello there"}
    assert payloads[-2]["delta"]["stop_reason"] == "tool_use"


async def test_anthropic_usage_splits_cached_tokens(emulator: Emulator) -> None:
    response = await anthropic_stream(emulator, "emu-cached-cachewrite")
    payloads = [json.loads(data) for _, data in sse_events(response.text)]
    usage = payloads[-2]["usage"]
    assert usage["cache_read_input_tokens"] == 1024
    assert usage["cache_creation_input_tokens"] == 512
    assert usage["input_tokens"] > 0


@pytest.mark.parametrize("include_usage", [True, False])
async def test_openai_chat_stream_ends_with_done(emulator: Emulator, include_usage: bool) -> None:
    body = {"model": "emu-cached", "stream": True, "messages": [USER]}
    if include_usage:
        body["stream_options"] = {"include_usage": True}
    response = await post(emulator, "/v1/chat/completions", body)

    events = sse_events(response.text)
    assert events[-1] == (None, "[DONE]")
    chunks = [json.loads(data) for _, data in events[:-1]]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert "".join(
        c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]
    ) == ("Echo: hello there")
    finish = [c for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]
    assert [c["choices"][0]["finish_reason"] for c in finish] == ["stop"]
    usage_chunks = [c for c in chunks if c.get("usage")]
    if include_usage:
        [last] = usage_chunks
        assert last is chunks[-1]
        assert last["choices"] == []
        assert last["usage"]["prompt_tokens_details"]["cached_tokens"] == 1024
    else:
        assert usage_chunks == []


async def test_openai_responses_event_sequence(emulator: Emulator) -> None:
    body = {"model": "emu-think-cached", "stream": True, "input": "hello there"}
    response = await post(emulator, "/v1/responses", body)

    events = sse_events(response.text)
    payloads = [json.loads(data) for _, data in events]
    assert [p["sequence_number"] for p in payloads] == list(range(len(payloads)))
    assert payloads[0]["type"] == "response.created"
    assert payloads[-1]["type"] == "response.completed"
    assert all(name == p["type"] for (name, _), p in zip(events, payloads, strict=True))
    kinds = [p["type"] for p in payloads]
    assert kinds.index("response.reasoning_summary_text.delta") < kinds.index(
        "response.output_text.delta"
    )
    usage = payloads[-1]["response"]["usage"]
    assert usage["input_tokens_details"]["cached_tokens"] == 1024
    assert usage["output_tokens_details"]["reasoning_tokens"] == 6


async def test_gemini_stream(emulator: Emulator) -> None:
    body = {"contents": [{"role": "user", "parts": [{"text": "hello there"}]}]}
    async with httpx.AsyncClient(base_url=emulator.url, timeout=10) as client:
        response = await client.post(
            "/v1beta/models/emu-think:streamGenerateContent", params={"alt": "sse"}, json=body
        )

    assert "\r\n\r\n" in response.text
    chunks = [json.loads(data) for _, data in sse_events(response.text)]
    parts = [part for c in chunks for part in c["candidates"][0]["content"]["parts"]]
    assert (
        "".join(p["text"] for p in parts if p.get("thought")) == "Let me think about: hello there"
    )
    assert "".join(p["text"] for p in parts if not p.get("thought")) == "Echo: hello there"
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"
    assert chunks[-1]["usageMetadata"]["thoughtsTokenCount"] == 6


async def test_error_bodies_use_each_providers_shape(emulator: Emulator) -> None:
    anthropic = await post(emulator, "/v1/messages", {"model": "emu-529", "messages": [USER]})
    assert anthropic.status_code == 529
    assert anthropic.json()["type"] == "error"
    assert anthropic.json()["error"]["type"] == "overloaded_error"

    openai = await post(emulator, "/v1/chat/completions", {"model": "emu-429", "messages": [USER]})
    assert openai.status_code == 429
    assert openai.headers["retry-after"] == "1"
    assert openai.json()["error"]["code"] == "rate_limit_exceeded"

    gemini = await post(emulator, "/v1beta/models/emu-429-ra5:generateContent", {"contents": []})
    assert gemini.status_code == 429
    error = gemini.json()["error"]
    assert (error["code"], error["status"]) == (429, "RESOURCE_EXHAUSTED")
    assert error["details"][0]["retryDelay"] == "5s"
    assert gemini.headers["retry-after"] == "5"


async def test_fail_once_is_counted_per_provider_and_model(emulator: Emulator) -> None:
    anthropic = {"model": "emu-500once", "max_tokens": 5, "messages": [USER]}
    chat = {"model": "emu-500once", "messages": [USER]}
    assert (await post(emulator, "/v1/messages", anthropic)).status_code == 500
    assert (await post(emulator, "/v1/messages", anthropic)).status_code == 200
    assert (await post(emulator, "/v1/chat/completions", chat)).status_code == 500
    assert (await post(emulator, "/v1/chat/completions", chat)).status_code == 200

    await emulator.control.reset()
    assert (await post(emulator, "/v1/messages", anthropic)).status_code == 500


async def test_queued_replies_are_used_in_order_per_provider(emulator: Emulator) -> None:
    await emulator.control.queue("emu-q", {"text": "one"}, {"text": "two"})
    await emulator.control.queue("emu-q", {"text": "for openai"}, provider="openai")
    chat = {"model": "emu-q", "messages": [USER]}
    messages = {"model": "emu-q", "max_tokens": 5, "messages": [USER]}

    def chat_text(r: httpx.Response) -> str:
        return str(r.json()["choices"][0]["message"]["content"])

    def anthropic_text(r: httpx.Response) -> str:
        return str(r.json()["content"][0]["text"])

    assert chat_text(await post(emulator, "/v1/chat/completions", chat)) == "for openai"
    assert anthropic_text(await post(emulator, "/v1/messages", messages)) == "one"
    assert chat_text(await post(emulator, "/v1/chat/completions", chat)) == "two"
    assert anthropic_text(await post(emulator, "/v1/messages", messages)) == "Echo: hello there"


async def test_a_queued_error_reply(emulator: Emulator) -> None:
    await emulator.control.queue("emu-qe", {"error": {"status": 503, "retry_after": 2}})
    response = await post(emulator, "/v1/chat/completions", {"model": "emu-qe", "messages": [USER]})
    assert response.status_code == 503
    assert response.headers["retry-after"] == "2"
    follow_up = await post(
        emulator, "/v1/chat/completions", {"model": "emu-qe", "messages": [USER]}
    )
    assert follow_up.status_code == 200


async def test_requests_are_recorded_with_headers_and_body(emulator: Emulator) -> None:
    async with httpx.AsyncClient(base_url=emulator.url, timeout=10) as client:
        await client.post(
            "/v1/chat/completions",
            json={"model": "emu-rec", "messages": [USER]},
            headers={"x-custom": "yes"},
        )
    await post(emulator, "/v1/messages", {"model": "emu-rec", "max_tokens": 5, "messages": [USER]})

    [chat] = await emulator.control.requests(model="emu-rec", provider="openai")
    assert chat["path"] == "/v1/chat/completions"
    assert chat["headers"]["x-custom"] == "yes"
    assert chat["body"] == {"model": "emu-rec", "messages": [USER]}
    assert chat["stream"] is False
    assert len(await emulator.control.requests(model="emu-rec")) == 2
    assert len(await emulator.control.requests(provider="messages")) == 1


async def test_stream_lifecycle_is_recorded(emulator: Emulator) -> None:
    body = {"model": "emu-stream-5x40ms", "stream": True, "messages": [USER]}
    await post(emulator, "/v1/chat/completions", body)

    [connection] = await emulator.control.connections(model="emu-stream-5x40ms")
    assert connection["outcome"] == "completed"
    assert connection["tokens_sent"] == 5
    assert connection["closed_at"] - connection["started_at"] >= 0.15  # paced, never faster


async def test_a_hanging_stream_sends_headers_then_nothing(emulator: Emulator) -> None:
    body = {"model": "emu-hang", "max_tokens": 5, "stream": True, "messages": [USER]}
    async with (
        httpx.AsyncClient(base_url=emulator.url, timeout=httpx.Timeout(10, read=0.3)) as client,
        client.stream("POST", "/v1/messages", json=body) as response,
    ):
        assert response.status_code == 200
        with pytest.raises(httpx.ReadTimeout):
            await response.aread()

    connection = await emulator.control.wait_closed("emu-hang")
    assert connection["outcome"] == "client_disconnected"


async def test_bad_requests(emulator: Emulator) -> None:
    async with httpx.AsyncClient(base_url=emulator.url, timeout=10) as client:
        assert (await client.post("/v1/nothing-here", json={})).status_code == 404
        assert (await client.post("/v1/messages", content=b"{not json")).status_code == 400
        assert (await client.post("/_emulator/replies", json={"replies": []})).status_code == 400
        assert (await client.get("/_emulator/unknown")).status_code == 404
        assert (await client.get("/_emulator/health")).json() == {"ok": True}
