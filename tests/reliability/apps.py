"""Apps for the reliability tests: promptsmith configured for one provider at the emulator.

`PROVIDERS` lists every way promptsmith reaches a model (Anthropic, OpenAI Chat
Completions, the OpenAI Responses API, Gemini), each as the settings that point it
at the wire-level emulator. `build_app` returns a configured app and an org token;
`stream_events` posts one assistant turn and returns the parsed NDJSON events.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI

from promptsmith.app import create_app
from promptsmith.emulator.testing import Emulator
from promptsmith.services import Services
from promptsmith.settings import Settings
from promptsmith.testing import parse_ndjson

API_KEY = "sk-test-reliability-0123456789"
ASSISTANT = "/api/ai/prompt-assistant/stream"
QUESTION = "What does a system prompt do?"


@dataclass(frozen=True)
class Provider:
    name: str  # test id
    provider: str  # promptsmith's provider name
    settings: Callable[[Emulator], dict[str, Any]]

    def backup(self) -> Provider:
        """Another provider to fall back to."""
        return PROVIDERS[1] if self.provider == "anthropic" else PROVIDERS[0]


def _openai(api: str) -> Callable[[Emulator], dict[str, Any]]:
    return lambda emu: {
        "openai_api_key": API_KEY,
        "openai_base_url": emu.openai_base_url,
        "openai_api": api,
    }


PROVIDERS = [
    Provider(
        "anthropic",
        "anthropic",
        lambda emu: {"anthropic_api_key": API_KEY, "anthropic_base_url": emu.url},
    ),
    Provider("openai", "openai", _openai("chat")),
    Provider("openai-responses", "openai", _openai("responses")),
    Provider(
        "google", "google", lambda emu: {"gemini_api_key": API_KEY, "gemini_base_url": emu.url}
    ),
]


@dataclass
class App:
    app: FastAPI
    services: Services
    headers: dict[str, str]


def build_app(
    make_settings: Callable[..., Settings],
    emulator: Emulator,
    provider: Provider,
    model: str,
    *,
    also: Provider | None = None,
    **overrides: Any,
) -> App:
    """An app whose default model is `model` at `provider` (and `also` configured)."""
    values: dict[str, Any] = {
        "default_provider": provider.provider,
        "default_model": model,
        "retry_base_delay": 0.01,
        "connect_timeout": 5.0,
        **provider.settings(emulator),
    }
    if also is not None:
        values.update(also.settings(emulator))
    values.update(overrides)
    settings = make_settings(**values)
    services = Services.build(settings)
    token = services.verifier.mint(user="user-1", org="org-1")
    return App(create_app(settings, services), services, {"Authorization": f"Bearer {token}"})


async def stream_events(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = await client.post(ASSISTANT, json={"instruction": QUESTION}, headers=headers)
    assert response.status_code == 200, response.text
    return parse_ndjson(response.text)


def kinds(events: list[dict[str, Any]]) -> list[str]:
    return [str(e["type"]) for e in events]


def text(events: list[dict[str, Any]]) -> str:
    return "".join(e["delta"] for e in events if e["type"] == "assistant-delta")


def assert_one_done_last(events: list[dict[str, Any]]) -> None:
    assert kinds(events).count("done") == 1, kinds(events)
    assert events[-1]["type"] == "done", kinds(events)
