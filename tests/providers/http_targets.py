"""The four providers (and the Responses API path) as a deployment would configure them,
pointed at the emulator, with an app and an HTTP client around them.

A `Target` is one way a user configures promptsmith: the settings that make the
provider callable, and how the emulator files that provider's requests.
`Stack` is a running app (lifespan entered) for one target, and what tests need
to drive it and look at the result: the HTTP client, the services (router, usage
writer, database), the org's auth headers, and the emulator.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from promptsmith.app import create_app
from promptsmith.emulator.testing import Emulator
from promptsmith.services import Services
from promptsmith.settings import Settings
from promptsmith.storage.models import UsageRecord
from promptsmith.testing import parse_ndjson

API_KEY = "sk-test-emulator-key-0123456789"
ASSISTANT = "/api/ai/prompt-assistant/stream"
NL_EDIT = "/api/ai/nl-edit"
NL_CREATE = "/api/ai/nl-create"
# A question: the assistant answers it in chat mode, streaming the model's text 1:1.
QUESTION = "What does a system prompt do?"

Configure = Callable[[Emulator], dict[str, Any]]


def _anthropic(emu: Emulator) -> dict[str, Any]:
    return {"anthropic_api_key": API_KEY, "anthropic_base_url": emu.anthropic_base_url}


def _openai(api: str) -> Configure:
    def configure(emu: Emulator) -> dict[str, Any]:
        return {
            "openai_api_key": API_KEY,
            "openai_base_url": emu.openai_base_url,
            "openai_api": api,
        }

    return configure


def _gemini(emu: Emulator) -> dict[str, Any]:
    return {"gemini_api_key": API_KEY, "gemini_base_url": emu.gemini_base_url}


def _openai_compatible(emu: Emulator) -> dict[str, Any]:
    # A local server (Ollama, vLLM, llama.cpp, LM Studio): a base URL and no key.
    return {"openai_base_url": emu.openai_base_url}


@dataclass(frozen=True)
class Target:
    name: str
    provider: str  # promptsmith's provider name
    api: str  # the emulator's API name (filters its records)
    configure: Configure
    keyless: bool = False

    @property
    def url_setting(self) -> str:
        """The setting that holds this provider's base URL."""
        return {"google": "gemini_base_url"}.get(self.provider, f"{self.provider}_base_url")

    @property
    def backup(self) -> Target:
        """Another provider, for fallback tests."""
        return TARGETS[1] if self.provider == "anthropic" else TARGETS[0]


TARGETS = [
    Target("anthropic", "anthropic", "messages", _anthropic),
    Target("openai", "openai", "chat.completions", _openai("chat")),
    Target("openai-responses", "openai", "responses", _openai("responses")),
    Target("google", "google", "generateContent", _gemini),
    Target("openai-compatible", "openai", "chat.completions", _openai_compatible, keyless=True),
]


@dataclass
class Stack:
    target: Target
    emulator: Emulator
    settings: Settings
    services: Services
    app: FastAPI
    client: httpx.AsyncClient
    headers: dict[str, str]

    async def stream(self, instruction: str = QUESTION, **body: Any) -> list[dict[str, Any]]:
        """POST to the assistant stream; every event, in order."""
        response = await self.client.post(
            ASSISTANT, json={"instruction": instruction, **body}, headers=self.headers
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/x-ndjson")
        return parse_ndjson(response.text)

    async def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        return await self.client.post(path, json=body, headers=self.headers)

    async def requests(self, model: str, api: str | None = None) -> list[dict[str, Any]]:
        """What reached the emulator for `model` (through this target's API by default)."""
        return await self.emulator.control.requests(model=model, provider=api or self.target.api)

    async def usage_rows(self) -> list[UsageRecord]:
        """Every usage row written so far, oldest first."""
        await self.services.usage.flush()
        async with self.services.db.session() as session:
            result = await session.execute(select(UsageRecord).order_by(UsageRecord.id))
            return list(result.scalars())


StackFactory = Callable[..., Awaitable[Stack]]


@dataclass
class Deployment:
    """An app configured for a target, not started yet."""

    settings: Settings
    services: Services
    app: FastAPI
    headers: dict[str, str]


def deploy(
    make_settings: Callable[..., Settings],
    emulator: Emulator,
    target: Target,
    model: str,
    *,
    configure: list[Target] | None = None,
    **overrides: Any,
) -> Deployment:
    """An app whose default model is `target`'s provider with `model`.

    `configure` lists the targets whose settings are applied (default: the target
    alone); pass `[]` for a server with no provider configured.
    """
    values: dict[str, Any] = {
        "default_provider": target.provider,
        "default_model": model,
        "retry_base_delay": 0.01,
        "connect_timeout": 5.0,
    }
    for configured in [target] if configure is None else configure:
        values.update(configured.configure(emulator))
    values.update(overrides)
    settings = make_settings(**values)
    services = Services.build(settings)
    token = services.verifier.mint(user="user-1", org="org-1")
    headers = {"Authorization": f"Bearer {token}"}
    return Deployment(settings, services, create_app(settings, services), headers)


async def open_stacks(
    make_settings: Callable[..., Settings], emulator: Emulator, target: Target
) -> AsyncIterator[StackFactory]:
    """Yield `start(model, configure=..., **settings)` (see `deploy`), which starts the
    app in-process behind an ASGI client; every stack is closed afterwards."""
    async with AsyncExitStack() as exits:

        async def start(model: str, **options: Any) -> Stack:
            d = deploy(make_settings, emulator, target, model, **options)
            await exits.enter_async_context(d.app.router.lifespan_context(d.app))
            client = await exits.enter_async_context(
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=d.app), base_url="http://testserver"
                )
            )
            return Stack(target, emulator, d.settings, d.services, d.app, client, d.headers)

        yield start


def types(events: list[dict[str, Any]]) -> list[str]:
    return [event["type"] for event in events]


def deltas(events: list[dict[str, Any]], kind: str = "assistant-delta") -> list[str]:
    return [event["delta"] for event in events if event["type"] == kind]


def assert_well_formed(events: list[dict[str, Any]]) -> None:
    """What every assistant stream promises: `mode` first, exactly one `done`, last."""
    kinds = types(events)
    assert kinds[0] == "mode", kinds
    assert kinds[-1] == "done", kinds
    assert kinds.count("done") == 1, kinds
