"""Every provider, configured by settings pointing at the emulator, through the HTTP API.

Parametrized over anthropic, openai (Chat Completions), openai-responses (the
Responses API via `openai_api`), google (Gemini) and an OpenAI-compatible server
(the openai adapter with a base URL and no key). Requests go through the real
endpoints, the router, the official SDK and the emulator's wire protocol.

The assistant stream is driven with a plain question, which it answers in chat
mode: the model's text streams 1:1 as `assistant-delta` events. nl-edit / nl-create
results are post-processed by the authoring code, so those tests check status,
envelope and what reached the emulator rather than the exact output.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

import httpx
import pytest
from http_targets import (
    API_KEY,
    ASSISTANT,
    NL_CREATE,
    NL_EDIT,
    QUESTION,
    TARGETS,
    Stack,
    StackFactory,
    Target,
    assert_well_formed,
    deltas,
    deploy,
    open_stacks,
    types,
)
from sqlalchemy import select

from promptsmith.emulator.testing import Emulator
from promptsmith.providers.base import (
    ChatMessage,
    Finish,
    ModelRequest,
    ProviderEvent,
    ReasoningDelta,
    TextDelta,
    ToolCall,
    ToolSpec,
)
from promptsmith.providers.router import CallContext, ModelRouter
from promptsmith.storage.db import Database
from promptsmith.storage.models import UsageRecord
from promptsmith.testing import LiveServer, free_port, parse_ndjson


@pytest.fixture(params=TARGETS, ids=[t.name for t in TARGETS])
def target(request: pytest.FixtureRequest) -> Target:
    param: Target = request.param
    return param


@pytest.fixture
async def start(make_settings: Any, emulator: Emulator, target: Target) -> AsyncIterator[Any]:
    async for factory in open_stacks(make_settings, emulator, target):
        yield factory


def last_user_text(request: dict[str, Any]) -> str:
    """The last user message of a recorded request, whatever the wire format."""
    body = request["body"]
    if "messages" in body:  # Anthropic, OpenAI chat
        content = [m for m in body["messages"] if m["role"] == "user"][-1]["content"]
    elif "input" in body:  # OpenAI Responses
        content = [m for m in body["input"] if m.get("role") == "user"][-1]["content"]
    else:  # Gemini
        content = [c for c in body["contents"] if c["role"] == "user"][-1]["parts"]
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content)


def echoes_question(events: list[dict[str, Any]]) -> bool:
    """The emulator's echo of the assistant's user message (which wraps the question in tags)."""
    text = "".join(deltas(events))
    return text.startswith("Echo: ") and QUESTION in text


def body_text(request: dict[str, Any]) -> str:
    """A recorded request's whole JSON body as text, wherever the prompt put things."""
    return json.dumps(request["body"], ensure_ascii=False)


# --- streaming ---------------------------------------------------------------------


async def test_text_streams_in_order(start: StackFactory) -> None:
    stack = await start("emu-text")
    chunks = ["A system ", "prompt ", "sets the ", "model's ", "role", "."]
    await stack.emulator.control.queue("emu-text", {"chunks": chunks})

    events = await stack.stream()

    assert_well_formed(events)
    assert deltas(events) == chunks
    assert "error" not in types(events)
    [request] = await stack.requests("emu-text")
    assert QUESTION in last_user_text(request)
    assert request["stream"] is True


async def test_reasoning_streams_as_reasoning_deltas(start: StackFactory) -> None:
    stack = await start("emu-think")
    reasoning = ["The user ", "asks about ", "system prompts."]
    await stack.emulator.control.queue(
        "emu-think", {"reasoning_chunks": reasoning, "chunks": ["It sets ", "the role."]}
    )

    events = await stack.stream()

    assert_well_formed(events)
    assert deltas(events, "reasoning-delta") == reasoning
    assert deltas(events) == ["It sets ", "the role."]
    kinds = types(events)
    assert max(i for i, k in enumerate(kinds) if k == "reasoning-delta") < kinds.index(
        "assistant-delta"
    )


async def test_the_request_carries_the_key_only_when_there_is_one(
    start: StackFactory, target: Target
) -> None:
    stack = await start("emu-text")
    await stack.stream()
    [request] = await stack.requests("emu-text")
    headers = request["headers"]
    sent = " ".join(headers.get(h, "") for h in ("authorization", "x-api-key", "x-goog-api-key"))
    assert (API_KEY in sent) is not target.keyless
    if target.keyless:
        assert "authorization" not in headers
    assert API_KEY not in request["query"]


# --- tool calls: through the router (the authoring endpoints surface none) ---------------

SEARCH = ToolSpec(
    "search",
    "Search the course documents",
    {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
)
LOOKUP = ToolSpec(
    "lookup", "Look a term up", {"type": "object", "properties": {"term": {"type": "string"}}}
)


async def route(stack: Stack, model: str, **overrides: Any) -> list[ProviderEvent]:
    """One call through the app's router, as an endpoint would make it."""
    router = stack.services.router
    choice = await router.resolve(org="org-1")
    request = ModelRequest(
        model=choice.model,
        messages=[ChatMessage("user", "Find the syllabus")],
        tools=[SEARCH, LOOKUP],
        **overrides,
    )
    context = CallContext(endpoint="tools", org="org-1", user="user-1")
    async with aclosing(router.stream(request, choice, context)) as events:
        return [event async for event in events]


@pytest.mark.parametrize("model", ["emu-tool", "emu-tool-noids"])
async def test_a_tool_call_arrives_whole(start: StackFactory, target: Target, model: str) -> None:
    stack = await start(model)

    events = await route(stack, model)

    [call] = [e for e in events if isinstance(e, ToolCall)]
    assert (call.name, call.arguments) == ("search", {"query": "Find the syllabus"})
    assert call.id
    assert events[-1] == Finish("tool_calls")
    [row] = await stack.usage_rows()
    assert (row.provider, row.model, row.endpoint, row.status) == (
        target.provider,
        model,
        "tools",
        "ok",
    )
    [request] = await stack.requests(model)
    assert "search" in str(request["body"]) and "lookup" in str(request["body"])


async def test_several_tool_calls_with_text_and_reasoning(start: StackFactory) -> None:
    stack = await start("emu-tools")
    arguments = {"query": "syllabus week 3", "filters": {"kind": ["pdf", "doc"]}, "k": 5}
    await stack.emulator.control.queue(
        "emu-tools",
        {
            "reasoning": "I should search first.",
            "text": "Let me look.",
            "tool_calls": [
                {"name": "search", "arguments": arguments, "id": "call_one"},
                {"name": "lookup", "arguments": {"term": "rubric"}, "id": "call_two"},
            ],
        },
    )

    events = await route(stack, "emu-tools", reasoning=True)

    calls = [e for e in events if isinstance(e, ToolCall)]
    assert [(c.name, c.arguments) for c in calls] == [
        ("search", arguments),
        ("lookup", {"term": "rubric"}),
    ]
    assert len({c.id for c in calls}) == 2
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Let me look."
    reasoning = "".join(e.text for e in events if isinstance(e, ReasoningDelta))
    assert reasoning == "I should search first."
    assert events[-1] == Finish("tool_calls")


# --- org assignment ------------------------------------------------------------------------


async def test_an_org_assignment_routes_the_org_to_its_provider(
    start: StackFactory, target: Target
) -> None:
    backup = target.backup
    # The server default is another provider; the org's admin assigns this one.
    stack = await start(
        "emu-server-default", configure=[target, backup], default_provider=backup.provider
    )
    admin = stack.services.verifier.mint(user="admin-1", org="org-1", role="admin")
    assignment = {"provider": target.provider, "model": "emu-org-model"}
    put = await stack.client.put(
        "/api/admin/org/model", json=assignment, headers={"Authorization": f"Bearer {admin}"}
    )
    assert put.status_code == 200, put.text

    events = await stack.stream()
    other = stack.services.verifier.mint(user="user-2", org="org-2")
    response = await stack.client.post(
        ASSISTANT, json={"instruction": QUESTION}, headers={"Authorization": f"Bearer {other}"}
    )

    assert echoes_question(events)
    assert len(await stack.requests("emu-org-model")) == 1
    assert "error" not in types(parse_ndjson(response.text))
    assert len(await stack.requests("emu-server-default", backup.api)) == 1
    rows = await stack.usage_rows()
    assert [(r.org_id, r.provider, r.model) for r in rows] == [
        ("org-1", target.provider, "emu-org-model"),
        ("org-2", backup.provider, "emu-server-default"),
    ]


# --- usage ---------------------------------------------------------------------------


async def test_usage_is_recorded_with_cached_and_reasoning_tokens(
    start: StackFactory, target: Target
) -> None:
    stack = await start("emu-think-cached")
    usage = {
        "input_tokens": 1500,
        "output_tokens": 60,
        "cache_read_tokens": 1024,
        "reasoning_tokens": 20,
    }
    await stack.emulator.control.queue(
        "emu-think-cached", {"reasoning": "Think.", "text": "Answer.", "usage": usage}
    )

    events = await stack.stream()

    assert_well_formed(events)
    [row] = await stack.usage_rows()
    assert (row.provider, row.model, row.org_id, row.user_id) == (
        target.provider,
        "emu-think-cached",
        "org-1",
        "user-1",
    )
    assert row.endpoint == "prompt-assistant"
    assert (row.input_tokens, row.output_tokens) == (1500, 60)
    assert (row.cache_read_tokens, row.reasoning_tokens) == (1024, 20)
    assert (row.status, row.partial) == ("ok", False)
    assert row.request_id


async def test_anthropic_cache_writes_are_recorded(make_settings: Any, emulator: Emulator) -> None:
    async for start in open_stacks(make_settings, emulator, TARGETS[0]):
        stack = await start("emu-cached-cachewrite")
        await stack.stream()
        [row] = await stack.usage_rows()
        assert (row.cache_read_tokens, row.cache_write_tokens) == (1024, 512)
        assert row.input_tokens >= 1024 + 512


# --- retries and fallback --------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "attempts"),
    [("emu-429once-ra0", 2), ("emu-529once", 2), ("emu-503x2", 3)],
)
async def test_retry_then_success(start: StackFactory, model: str, attempts: int) -> None:
    stack = await start(model, max_retries=2)

    events = await stack.stream()

    assert_well_formed(events)
    assert echoes_question(events)
    assert "error" not in types(events)
    assert len(await stack.requests(model)) == attempts
    rows = await stack.usage_rows()
    assert [r.status for r in rows] == ["error"] * (attempts - 1) + ["ok"]
    assert rows[-1].partial is False


async def test_retry_waits_what_retry_after_says(
    start: StackFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Backoff alone would wait about a minute: only the header can make it 0.05 s.
    stack = await start("emu-429once-ra0.05", retry_base_delay=60, retry_max_delay=60)
    waits: list[float] = []
    backoff = ModelRouter._backoff

    def spy(router: ModelRouter, attempt: int, retry_after: float | None) -> float:
        waits.append(backoff(router, attempt, retry_after))
        return waits[-1]

    monkeypatch.setattr(ModelRouter, "_backoff", spy)

    events = await stack.stream()

    assert echoes_question(events)
    assert waits == [pytest.approx(0.05)]


@pytest.mark.parametrize("primary", ["failing", "unconfigured"])
async def test_fallback_to_another_provider(
    start: StackFactory, target: Target, primary: str
) -> None:
    backup = target.backup
    configure = [target, backup] if primary == "failing" else [backup]
    stack = await start(
        "emu-529",
        configure=configure,
        max_retries=1,
        fallback_chain=f"{backup.provider}:emu-backup",
    )
    await stack.emulator.control.queue("emu-backup", {"chunks": ["From ", "the ", "backup."]})

    events = await stack.stream()

    assert_well_formed(events)
    assert deltas(events) == ["From ", "the ", "backup."]
    assert "error" not in types(events)
    assert len(await stack.requests("emu-backup", backup.api)) == 1
    primary_calls = await stack.emulator.control.requests(model="emu-529")
    assert len(primary_calls) == (2 if primary == "failing" else 0)
    rows = await stack.usage_rows()
    assert [(r.provider, r.status) for r in rows][-1] == (backup.provider, "ok")
    assert all(r.provider == target.provider for r in rows[:-1])


async def test_a_pinned_model_does_not_fall_back(start: StackFactory, target: Target) -> None:
    backup = target.backup
    stack = await start(
        "emu-text",
        configure=[target, backup],
        max_retries=0,
        fallback_chain=f"{backup.provider}:emu-backup",
    )
    override = {"provider": target.provider, "model": "emu-529"}

    events = await stack.stream(modelOverride=override)

    assert_well_formed(events)
    assert types(events)[-2:] == ["error", "done"]
    assert await stack.emulator.control.requests(model="emu-backup") == []


async def test_a_longer_retry_after_than_the_max_delay_is_passed_on(start: StackFactory) -> None:
    stack = await start("emu-429-ra30", max_retries=2, retry_max_delay=5)

    response = await stack.post(NL_EDIT, {"selectedText": "<rule>x</rule>", "instruction": "y"})

    assert response.status_code == 429
    assert response.headers["retry-after"] == "30"
    assert response.json()["success"] is False
    assert len(await stack.requests("emu-429-ra30")) == 1, "not retried: it would be refused"


async def test_an_unreachable_server_is_an_error_naming_the_provider(
    start: StackFactory, target: Target
) -> None:
    # E.g. a local Ollama that is not running: connection refused, retried, then reported.
    address = f"127.0.0.1:{free_port()}" + ("/v1" if target.provider == "openai" else "")
    stack = await start("llama3", max_retries=1, **{target.url_setting: f"http://me:pw@{address}"})

    events = await stack.stream()

    assert_well_formed(events)
    assert types(events)[-2:] == ["error", "done"]
    error = events[-2]
    assert error["provider"] == target.provider
    assert f"connection to {target.provider} at http://{address} failed" in error["message"]
    assert "pw@" not in error["message"]
    rows = await stack.usage_rows()
    assert [r.status for r in rows] == ["error", "error"]


# --- failures after and before the first token -------------------------------------------


async def test_a_mid_stream_drop_is_an_error_then_done_without_duplicates(
    start: StackFactory, target: Target
) -> None:
    backup = target.backup
    stack = await start(
        "emu-drop3",
        configure=[target, backup],
        fallback_chain=f"{backup.provider}:emu-backup",
    )
    chunks = ["one ", "two ", "three ", "four ", "five "]
    await stack.emulator.control.queue("emu-drop3", {"chunks": chunks})

    events = await stack.stream()

    assert_well_formed(events)
    assert deltas(events) == chunks[:3]
    assert types(events)[-2:] == ["error", "done"]
    error = events[-2]
    assert error["error"] == "Model provider failed"
    assert error["provider"] == target.provider
    assert "Traceback" not in error["message"]
    assert len(await stack.requests("emu-drop3")) == 1, "no retry after the first token"
    assert await stack.emulator.control.requests(model="emu-backup") == [], "no fallback either"
    [connection] = await stack.emulator.control.connections(model="emu-drop3")
    assert (connection["outcome"], connection["tokens_sent"]) == ("dropped", 3)
    [row] = await stack.usage_rows()
    assert (row.status, row.partial) == ("error", True)


async def test_first_token_timeout_on_a_hang(start: StackFactory, target: Target) -> None:
    stack = await start("emu-hang", first_token_timeout=0.5, max_retries=0)

    events = await stack.stream()

    assert_well_formed(events)
    assert types(events)[-2:] == ["error", "done"]
    assert "first token" in events[-2]["message"]
    assert deltas(events) == []
    connection = await stack.emulator.control.wait_closed("emu-hang")
    assert connection["outcome"] == "client_disconnected"
    assert connection["closed_at"] is not None
    assert connection["tokens_sent"] == 0
    [row] = await stack.usage_rows()
    assert (row.status, row.partial) == ("error", True)


async def test_every_hung_attempt_is_closed(start: StackFactory) -> None:
    stack = await start("emu-hang", first_token_timeout=0.5, max_retries=1)

    events = await stack.stream()

    assert_well_formed(events)
    assert types(events)[-2:] == ["error", "done"]
    connections = await stack.emulator.control.connections(model="emu-hang")
    assert len(connections) == 2, "the timeout is retried once"
    assert [c["outcome"] for c in connections] == ["client_disconnected"] * 2


# --- client disconnect -------------------------------------------------------------------


async def wait_for_usage(url: str, within: float = 10.0) -> list[UsageRecord]:
    """Rows written by the live server's usage writer (its own loop), once there are any."""
    db = Database(url)
    try:
        deadline = time.monotonic() + within
        while True:
            async with db.session() as session:
                rows = list((await session.execute(select(UsageRecord))).scalars())
            if rows or time.monotonic() > deadline:
                return rows
            await asyncio.sleep(0.05)
    finally:
        await db.dispose()


async def test_client_disconnect_closes_the_upstream_stream(
    make_settings: Any, emulator: Emulator, target: Target
) -> None:
    model = "emu-stream-400x10ms"  # four seconds of tokens
    deployment = deploy(make_settings, emulator, target, model)
    with LiveServer(deployment.app) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            request = {"instruction": QUESTION}
            async with client.stream(
                "POST", ASSISTANT, json=request, headers=deployment.headers
            ) as response:
                received = 0
                async for line in response.aiter_lines():
                    received += '"assistant-delta"' in line
                    if received == 3:
                        break
                disconnected_at = time.time()
            # Leaving the block closed the unfinished response, and its connection.

        connection = await emulator.control.wait_closed(model)
        rows = await wait_for_usage(deployment.settings.resolved_database_url)

    assert connection["outcome"] == "client_disconnected"
    assert connection["closed_at"] - disconnected_at < 1.0
    assert 3 <= connection["tokens_sent"] < 400
    [row] = rows
    assert (row.provider, row.model, row.endpoint) == (target.provider, model, "prompt-assistant")
    assert (row.status, row.partial) == ("cancelled", True)


# --- setup required -----------------------------------------------------------------------


async def test_setup_required_when_the_provider_has_no_key_and_no_url(
    start: StackFactory, target: Target
) -> None:
    stack = await start("emu-text", configure=[])

    events = await stack.stream()

    assert_well_formed(events)
    assert types(events)[-2:] == ["ai-setup-required", "done"]
    card = events[-2]
    assert (card["provider"], card["code"]) == (target.provider, "missing_api_key")
    assert card["message"] and card["reason"]
    assert "error" not in types(events)
    for path, body in (
        (NL_EDIT, {"selectedText": "<rule>Be kind.</rule>", "instruction": "Shorter"}),
        (NL_CREATE, {"instruction": "A tutor for algebra"}),
    ):
        response = await stack.post(path, body)
        assert response.status_code == 503
        payload = response.json()
        assert (payload["success"], payload["error"]) == (False, "ai_setup_required")
        assert payload["provider"] == target.provider
        assert payload["message"]
    assert await stack.emulator.control.requests() == []
    assert await stack.usage_rows() == []


# --- the non-streaming endpoints ------------------------------------------------------------


async def test_nl_edit_goes_through_the_provider(start: StackFactory, target: Target) -> None:
    stack = await start("emu-edit")
    await stack.emulator.control.queue("emu-edit", {"text": "<rule>Always be brief.</rule>"})
    selected = "<rule>Try to keep answers reasonably short where possible.</rule>"

    response = await stack.post(NL_EDIT, {"selectedText": selected, "instruction": "Tighten it"})

    assert response.status_code == 200, response.text
    payload = response.json()
    assert payload["success"] is True
    assert isinstance(payload["rewrittenText"], str)
    requests = await stack.requests("emu-edit")
    assert requests
    sent = body_text(requests[0])
    assert selected in sent and "Tighten it" in sent
    rows = await stack.usage_rows()
    assert rows and {r.endpoint for r in rows} == {"nl-edit"}
    assert {(r.provider, r.model, r.org_id) for r in rows} == {
        (target.provider, "emu-edit", "org-1")
    }


async def test_nl_create_goes_through_the_provider(start: StackFactory) -> None:
    stack = await start("emu-create")
    draft = (
        "<prompt><role>You tutor algebra.</role><rules><rule>Be patient.</rule></rules></prompt>"
    )
    await stack.emulator.control.queue("emu-create", {"text": draft})

    response = await stack.post(NL_CREATE, {"instruction": "A patient algebra tutor"})

    assert response.status_code == 200, response.text
    payload = response.json()
    assert payload["success"] is True
    assert isinstance(payload["prompt"], str)
    requests = await stack.requests("emu-create")
    assert requests
    assert "A patient algebra tutor" in body_text(requests[0])


@pytest.mark.parametrize(
    ("model", "status", "settings"),
    [
        ("emu-529", 502, {"max_retries": 1}),
        ("emu-hang", 504, {"max_retries": 0, "first_token_timeout": 0.5}),
        ("emu-400", 502, {}),
    ],
)
async def test_nl_edit_failures_use_the_envelope(
    start: StackFactory, target: Target, model: str, status: int, settings: dict[str, Any]
) -> None:
    stack = await start(model, **settings)

    response = await stack.post(NL_EDIT, {"selectedText": "<rule>x</rule>", "instruction": "y"})

    assert response.status_code == status
    payload = response.json()
    assert (payload["success"], payload["error"]) == (False, "Model provider failed")
    assert target.provider in payload["message"]
    assert "Traceback" not in payload["message"]


# --- secrets ---------------------------------------------------------------------------------


async def test_an_echoed_api_key_never_reaches_the_client_or_the_logs(
    start: StackFactory, target: Target, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    stack = await start("emu-auth", max_retries=0)
    # Some providers quote the key they were given back in their error messages.
    echo = {"error": {"status": 401, "message": f"Incorrect API key provided: {API_KEY}."}}
    await stack.emulator.control.queue("emu-auth", echo, echo)

    events = await stack.stream()
    response = await stack.post(NL_EDIT, {"selectedText": "<rule>x</rule>", "instruction": "y"})

    assert types(events)[-2:] == ["error", "done"]
    assert response.status_code == 502
    assert "Incorrect API key provided" in events[-2]["message"]
    for text in (str(events), response.text, caplog.text):
        assert API_KEY not in text
        assert API_KEY[:12] not in text
    assert "Traceback" not in str(events) + response.text + caplog.text
