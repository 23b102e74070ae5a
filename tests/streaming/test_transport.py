"""The stream transport over real HTTP: framing, one `done`, errors, heartbeat, disconnect."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from promptsmith.exceptions import ProviderOverloaded
from promptsmith.providers.base import ReasoningDelta
from promptsmith.providers.scripted import ScriptedProvider
from promptsmith.streaming.transport import Framing, negotiate_framing
from promptsmith.testing import LiveServer, parse_ndjson, parse_sse, sse_comments

ASSISTANT = "/api/ai/prompt-assistant/stream"
QANDA = "/api/ai/personal-stream/qanda-stream"


def types(events: list[dict[str, Any]]) -> list[str]:
    return [event["type"] for event in events]


async def test_ndjson_by_default(
    client: httpx.AsyncClient, org_headers: dict[str, str], scripted: ScriptedProvider
) -> None:
    scripted._replies = [[ReasoningDelta("thinking"), "Hello there, friend"]]
    response = await client.post(ASSISTANT, json={"instruction": "hi"}, headers=org_headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-accel-buffering"] == "no"
    assert response.text.endswith("\n")
    events = parse_ndjson(response.text)
    assert len(response.text.strip().split("\n")) == len(events)
    assert types(events)[0] == "mode"
    assert types(events).count("done") == 1 and types(events)[-1] == "done"
    assert {"type": "reasoning-delta", "delta": "thinking"} in events
    deltas = "".join(e["delta"] for e in events if e["type"] == "assistant-delta")
    assert deltas == "Hello there, friend"


@pytest.mark.parametrize(
    "accept",
    ["text/event-stream", "application/x-ndjson;q=0.5, text/event-stream", "text/*"],
)
async def test_sse_when_accept_prefers_it(
    client: httpx.AsyncClient, org_headers: dict[str, str], accept: str
) -> None:
    response = await client.post(
        ASSISTANT, json={"instruction": "hi"}, headers={**org_headers, "accept": accept}
    )
    assert response.headers["content-type"].startswith("text/event-stream")
    frames = [f for f in response.text.split("\n\n") if f]
    assert all(frame.startswith("data: {") for frame in frames)
    events = parse_sse(response.text)
    assert types(events)[0] == "mode" and types(events)[-1] == "done"
    assert types(events).count("done") == 1


@pytest.mark.parametrize(
    ("accept", "framing"),
    [
        (None, Framing.NDJSON),
        ("*/*", Framing.NDJSON),
        ("application/json", Framing.NDJSON),
        ("application/x-ndjson, text/event-stream", Framing.NDJSON),
        ("text/event-stream;q=0.4, application/x-ndjson;q=0.8", Framing.NDJSON),
        ("text/event-stream;q=0.9, */*;q=0.1", Framing.SSE),
        ("text/event-stream", Framing.SSE),
    ],
)
def test_negotiate_framing(accept: str | None, framing: Framing) -> None:
    assert negotiate_framing(accept) is framing


async def test_qanda_is_always_sse(
    client: httpx.AsyncClient, institution_headers: dict[str, str]
) -> None:
    headers = {**institution_headers, "accept": "application/x-ndjson"}
    response = await client.post(QANDA, json={"inputs": ["What is ML?"]}, headers=headers)
    assert response.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(response.text)
    assert types(events)[0] == "connected"
    assert types(events)[-2:] == ["complete", "done"]
    streamed = [e for e in events if e["type"] == "stream"]
    assert streamed and streamed[-1]["prompt"] == "".join(e["delta"] for e in streamed)


async def test_failure_mid_stream_is_error_then_done(
    client: httpx.AsyncClient, org_headers: dict[str, str], scripted: ScriptedProvider
) -> None:
    scripted._replies = [["partial answer ", RuntimeError("boom: internal")]]
    response = await client.post(ASSISTANT, json={"instruction": "hi"}, headers=org_headers)
    events = parse_ndjson(response.text)
    assert types(events)[-2:] == ["error", "done"]
    assert types(events).count("done") == 1
    assert "boom" not in response.text
    assert events[-2]["requestId"] == response.headers["x-request-id"]


async def test_provider_error_before_first_token(
    client: httpx.AsyncClient,
    institution_headers: dict[str, str],
    scripted: ScriptedProvider,
) -> None:
    scripted._replies = [[ProviderOverloaded("overloaded", provider="scripted", model="m")]]
    response = await client.post(QANDA, json={"inputs": ["q"]}, headers=institution_headers)
    events = parse_sse(response.text)
    assert types(events) == ["connected", "error", "done"]
    assert "overloaded" in events[1]["message"]


async def test_setup_required_in_streams(make_settings: Any) -> None:
    from promptsmith.app import create_app
    from promptsmith.services import Services

    settings = make_settings(default_provider="anthropic", default_model="claude-x")
    services = Services.build(settings)
    app = create_app(settings, services)
    org = {"Authorization": "Bearer " + services.verifier.mint(user="u", org="o")}
    inst = {"x-access-token": services.verifier.mint(user="u", institution="i")}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            assistant = await client.post(ASSISTANT, json={"instruction": "hi"}, headers=org)
            qanda = await client.post(QANDA, json={"inputs": ["q"]}, headers=inst)
            create = await client.post("/api/ai/nl-create", json={"instruction": "x"}, headers=org)
    events = parse_ndjson(assistant.text)
    assert types(events) == ["mode", "ai-setup-required", "done"]
    setup = events[1]
    assert setup["code"] == "missing_api_key" and setup["provider"] == "anthropic"
    assert "ANTHROPIC_API_KEY" in setup["message"] and setup["reason"]
    qanda_events = parse_sse(qanda.text)
    assert types(qanda_events) == ["connected", "error", "done"]
    assert qanda_events[1]["error"] == "ai_setup_required"
    assert create.status_code == 503
    assert create.json()["error"] == "ai_setup_required"
    assert create.json()["provider"] == "anthropic"
    assert "ANTHROPIC_API_KEY" in create.json()["message"]


async def test_events_are_flushed_one_by_one(
    live_app: str, org_headers: dict[str, str], scripted: ScriptedProvider
) -> None:
    scripted._replies = ["one two three four five six"]
    scripted._delay = 0.3
    async with (
        httpx.AsyncClient(base_url=live_app, timeout=30) as client,
        client.stream("POST", ASSISTANT, json={"instruction": "hi"}, headers=org_headers) as resp,
    ):
        seen: list[str] = []
        async for line in resp.aiter_lines():
            if line:
                seen.append(line)
            if '"assistant-delta"' in line:
                assert scripted.completed == 0, "first delta should arrive before the stream ends"
                break
    assert seen


async def test_sse_heartbeat_before_first_token(
    make_settings: Any, scripted: ScriptedProvider
) -> None:
    from promptsmith.app import create_app
    from promptsmith.services import Services

    settings = make_settings(heartbeat_seconds=0.2)
    services = Services.build(settings)
    scripted._replies = [["late answer"]]
    scripted._delay = 1.0
    services.providers.register("scripted", scripted)
    token = services.verifier.mint(user="u", institution="i")
    with LiveServer(create_app(settings, services)) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            response = await client.post(
                QANDA, json={"inputs": ["q"]}, headers={"x-access-token": token}
            )
    text = response.text
    assert sse_comments(text), "expected at least one ': ping' comment"
    assert set(sse_comments(text)) == {": ping"}
    first_stream = text.index('"type":"stream"')
    assert text.index(": ping") < first_stream
    assert types(parse_sse(text))[-1] == "done"


async def test_client_disconnect_cancels_the_provider(
    live_app: str, org_headers: dict[str, str], scripted: ScriptedProvider
) -> None:
    scripted._replies = [" ".join(f"word{i}" for i in range(200))]
    scripted._delay = 0.05
    async with (
        httpx.AsyncClient(base_url=live_app, timeout=30) as client,
        client.stream("POST", ASSISTANT, json={"instruction": "hi"}, headers=org_headers) as resp,
    ):
        async for line in resp.aiter_lines():
            if '"assistant-delta"' in line:
                break
    deadline = time.monotonic() + 10
    while scripted.cancelled == 0 and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert scripted.cancelled == 1
    assert scripted.completed == 0


async def test_generator_yielding_done_still_ends_with_one_done() -> None:
    from promptsmith.streaming.events import AssistantDelta, Done, Event
    from promptsmith.streaming.transport import EventStreamResponse

    async def events():  # type: ignore[no-untyped-def]
        yield AssistantDelta(delta="a")
        yield Done()
        yield AssistantDelta(delta="never sent")

    async def app(scope: Any, receive: Any, send: Any) -> None:
        source: Any = events()
        response: Event | Any = EventStreamResponse(source, framing=Framing.NDJSON)
        await response(scope, receive, send)

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/")
    assert types(parse_ndjson(response.text)) == ["assistant-delta", "done"]
