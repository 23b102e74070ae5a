"""The authoring endpoints against the wire-level emulator, through the real provider SDKs.

Replies are queued with the emulator's control API (`POST /_emulator/replies`) and
what reached the "model" is read back (`GET /_emulator/requests`), so these tests
check the layout the model is sent as well as what the endpoints make of its answer.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from promptsmith.app import create_app
from promptsmith.emulator.testing import Emulator
from promptsmith.services import Services
from promptsmith.testing import LiveServer, parse_ndjson

from .endpoint_helpers import ASSISTANT, NL_CREATE, NL_EDIT, XML_BOMBS, between

KEY = "sk-test-emulator-key-0123456789"
MODEL = "emu-authoring"
PROVIDERS = {
    "anthropic": ("messages", lambda emu: {"anthropic_base_url": emu.anthropic_base_url}),
    "openai": ("chat.completions", lambda emu: {"openai_base_url": emu.openai_base_url}),
    "google": ("generateContent", lambda emu: {"gemini_base_url": emu.gemini_base_url}),
}
CURRENT = """<prompt>
  <role>You are the leasing assistant of Maple Court.</role>
  <goal>Reply to leads.</goal>
  <rules>
    <rule>Greet @lead.firstName by name.</rule>
  </rules>
  <output_format>One SMS.</output_format>
</prompt>"""
NEW_GOAL = CURRENT.replace("Reply to leads.", "Book a tour within 48 hours.")
VARIABLES = {"lead": {"firstName": "Alex"}}


class Api:
    def __init__(self, client: httpx.AsyncClient, headers: dict[str, str], emulator: Emulator):
        self.client, self.headers, self.emulator = client, headers, emulator

    async def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        return await self.client.post(path, json=body, headers=self.headers)

    async def queue(self, *texts: str | list[str]) -> None:
        replies = [{"chunks": t} if isinstance(t, list) else {"text": t} for t in texts]
        await self.emulator.control.queue(MODEL, *replies)

    async def requests(self) -> list[dict[str, Any]]:
        return await self.emulator.control.requests(model=MODEL)


@pytest.fixture(params=list(PROVIDERS))
async def api(
    request: pytest.FixtureRequest, make_settings: Any, emulator: Emulator
) -> AsyncIterator[Api]:
    provider: str = request.param
    name = {"google": "gemini"}.get(provider, provider)
    settings = make_settings(
        default_provider=provider,
        default_model=MODEL,
        **{f"{name}_api_key": KEY},
        **PROVIDERS[provider][1](emulator),
    )
    services = Services.build(settings)
    app = create_app(settings, services)
    headers = {"Authorization": "Bearer " + services.verifier.mint(user="u-1", org="org-1")}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Api(client, headers, emulator)


def user_text(record: dict[str, Any]) -> str:
    """The last user message of a recorded request, whatever the wire format."""
    body = record["body"]
    if "messages" in body:
        content = [m for m in body["messages"] if m["role"] == "user"][-1]["content"]
    else:
        content = [c for c in body["contents"] if c["role"] == "user"][-1]["parts"]
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content)


def system_text(record: dict[str, Any]) -> str:
    body = record["body"]
    if "system" in body:
        return json.dumps(body["system"])
    if "systemInstruction" in body or "system_instruction" in body:
        return json.dumps(body.get("systemInstruction") or body.get("system_instruction"))
    return json.dumps([m for m in body["messages"] if m["role"] in ("system", "developer")])


async def test_nl_create_reasks_malformed_output_and_keeps_sections(api: Api) -> None:
    broken = NEW_GOAL.replace("</goal>", "")
    await api.queue(f"```xml\n{broken}\n```", f"Here you go:\n{NEW_GOAL}")
    body = {
        "instruction": "Goal: tours within 48h",
        "existingPrompt": CURRENT,
        "variableContext": VARIABLES,
        "assistedMode": True,
    }
    response = await api.post(NL_CREATE, body)
    assert response.status_code == 200, response.text
    assert response.json()["prompt"] == NEW_GOAL
    assert response.json()["section"] == "goal"
    first, second = await api.requests()
    sent = user_text(first)
    assert between(sent, "current_prompt") == CURRENT
    assert between(sent, "user_request") == "Goal: tours within 48h"
    assert "@lead.firstName" in between(sent, "available_variables")
    assert "prompt architect" in system_text(first)
    assert "well-formed" in between(user_text(second), "problem")


async def test_nl_create_replaces_invented_variables(api: Api) -> None:
    invented = NEW_GOAL.replace("Book a tour", "Book @unit.number")
    await api.queue(invented, invented)
    body = {"instruction": "Goal", "existingPrompt": CURRENT, "variableContext": VARIABLES}
    payload = (await api.post(NL_CREATE, body)).json()
    assert "@unit.number" not in payload["prompt"] and "@lead.firstName" in payload["prompt"]
    assert any("@unit.number" in w for w in payload["warnings"])
    assert len(await api.requests()) == 2


async def test_nl_edit_selection_checks(api: Api) -> None:
    missing = await api.post(
        NL_EDIT, {"selectedText": "Reply slowly.", "instruction": "x", "fullPrompt": CURRENT}
    )
    assert missing.status_code == 400 and missing.json()["success"] is False
    assert await api.requests() == []

    await api.queue("Sure! Here is the rewritten text:\n\n<goal>Book a tour & call back.</goal>")
    body = {
        "selectedText": "Reply to leads.",
        "instruction": "Tours",
        "fullPrompt": CURRENT,
        "context": "goal section",
    }
    response = await api.post(NL_EDIT, body)
    assert response.status_code == 200, response.text
    assert response.json()["rewrittenText"] == "Book a tour &amp; call back."
    [record] = await api.requests()
    assert between(user_text(record), "full_prompt") == CURRENT
    assert "prompt/goal" in between(user_text(record), "selection_location")


async def test_assistant_draft_over_the_wire(api: Api) -> None:
    answer = f"Updated the goal.\n<draft>\n{NEW_GOAL}\n</draft>"
    await api.queue([answer[i : i + 5] for i in range(0, len(answer), 5)])
    body = {
        "instruction": "Change the goal to booking a tour within 48 hours.",
        "currentPrompt": CURRENT,
        "variableContext": VARIABLES,
    }
    response = await api.post(ASSISTANT, body)
    events = parse_ndjson(response.text)
    kinds = [e["type"] for e in events]
    assert kinds[0] == "mode" and events[0]["mode"] == "draft"
    assert kinds[-2:] == ["draft-ready", "done"]
    streamed = "".join(e["delta"] for e in events if e["type"] == "assistant-delta")
    assert streamed == "Updated the goal."
    assert events[-2]["prompt"] == NEW_GOAL and events[-2]["section"] == "goal"
    [record] = await api.requests()
    assert between(user_text(record), "current_prompt") == CURRENT


@pytest.mark.parametrize(
    ("instruction", "mode", "marker"),
    [
        ("What does the goal section do?", "chat", "This turn: answer"),
        ("Make it better", "clarify", "This turn: ask before drafting"),
    ],
)
async def test_assistant_chat_and_clarify_over_the_wire(
    api: Api, instruction: str, mode: str, marker: str
) -> None:
    await api.queue("It defines what success means.")
    body = {"instruction": instruction, "currentPrompt": CURRENT, "assistedMode": True}
    events = parse_ndjson((await api.post(ASSISTANT, body)).text)
    kinds = [e["type"] for e in events]
    assert events[0] == {"type": "mode", "mode": mode}
    assert kinds[1] == "status" and kinds[-1] == "done" and "draft-ready" not in kinds
    streamed = "".join(e["delta"] for e in events if e["type"] == "assistant-delta")
    assert streamed == "It defines what success means."
    [record] = await api.requests()
    assert marker in system_text(record)


@pytest.mark.parametrize("bomb", list(XML_BOMBS))
async def test_xml_bombs_never_reach_the_model(api: Api, bomb: str) -> None:
    cases = [
        (NL_CREATE, {"instruction": "x", "existingPrompt": XML_BOMBS[bomb]}),
        (NL_EDIT, {"instruction": "x", "selectedText": "lol", "fullPrompt": XML_BOMBS[bomb]}),
        (ASSISTANT, {"instruction": "x", "currentPrompt": XML_BOMBS[bomb]}),
    ]
    for path, body in cases:
        response = await api.post(path, body)
        assert response.status_code == 400, path
        assert response.json()["success"] is False
    assert await api.requests() == []
    await api.queue("Fine.")
    healthy = await api.post(ASSISTANT, {"instruction": "What is a goal?"})
    assert healthy.status_code == 200 and '"done"' in healthy.text


async def test_disconnect_in_draft_mode_cancels_the_model_call(
    make_settings: Any, emulator: Emulator
) -> None:
    model = "emu-stream-400x10ms"  # four seconds of tokens: "t0 t1 t2 ..."
    settings = make_settings(
        default_provider="anthropic",
        default_model=model,
        anthropic_api_key=KEY,
        anthropic_base_url=emulator.anthropic_base_url,
    )
    services = Services.build(settings)
    headers = {"Authorization": "Bearer " + services.verifier.mint(user="u-1", org="org-1")}
    body = {"instruction": "Change the goal to booking a tour within 48 hours."}
    with LiveServer(create_app(settings, services)) as server:
        async with (
            httpx.AsyncClient(base_url=server.url, timeout=30) as client,
            client.stream("POST", ASSISTANT, json=body, headers=headers) as response,
        ):
            lines = []
            async for line in response.aiter_lines():
                lines.append(line)
                if sum('"assistant-delta"' in seen for seen in lines) == 3:
                    break
        connection = await emulator.control.wait_closed(model)
    assert '"mode":"draft"' in lines[0]
    assert connection["outcome"] == "client_disconnected"
    assert connection["tokens_sent"] < 400
