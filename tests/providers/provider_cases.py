"""Shared by the provider tests: settings pointing at the emulator, the adapter cases, requests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from promptsmith.emulator.testing import Emulator
from promptsmith.providers.anthropic import AnthropicProvider
from promptsmith.providers.base import ChatMessage, ModelRequest, Provider, SystemBlock, ToolSpec
from promptsmith.providers.gemini import GeminiProvider
from promptsmith.providers.openai import OpenAIProvider
from promptsmith.settings import Settings

API_KEY = "test-key"


def settings_for(emu: Emulator, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "anthropic_api_key": API_KEY,
        "anthropic_base_url": emu.anthropic_base_url,
        "openai_api_key": API_KEY,
        "openai_base_url": emu.openai_base_url,
        "gemini_api_key": API_KEY,
        "gemini_base_url": emu.gemini_base_url,
        "connect_timeout": 5.0,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@dataclass(frozen=True)
class Case:
    """One way of reaching a model: an adapter, and how the emulator files its requests."""

    name: str
    api: str  # the emulator's API name, used to filter its records
    build: Callable[[Emulator], Provider]


CASES = [
    Case("anthropic", "messages", lambda e: AnthropicProvider(settings_for(e))),
    Case("openai-chat", "chat.completions", lambda e: OpenAIProvider(settings_for(e))),
    Case(
        "openai-responses",
        "responses",
        lambda e: OpenAIProvider(settings_for(e, openai_api="responses")),
    ),
    Case("gemini", "generateContent", lambda e: GeminiProvider(settings_for(e))),
    Case(
        "openai-compatible",
        "chat.completions",
        lambda e: OpenAIProvider(settings_for(e, openai_api_key=None)),
    ),
]


@dataclass(frozen=True)
class Subject:
    case: Case
    provider: Provider
    emulator: Emulator


def make_request(model: str, text: str = "What is 2+2?", **overrides: Any) -> ModelRequest:
    fields: dict[str, Any] = {
        "model": model,
        "messages": [ChatMessage(role="user", content=text)],
        "system": [SystemBlock("Stable prefix", cache=True), SystemBlock("Dynamic part")],
        "tools": [
            ToolSpec(
                "search",
                "Search the course documents",
                {"type": "object", "properties": {"query": {"type": "string"}}},
            )
        ],
        "max_tokens": 512,
        **overrides,
    }
    return ModelRequest(**fields)
