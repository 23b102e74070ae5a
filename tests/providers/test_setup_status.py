"""What the start-up log says about the AI providers, for a first run without keys and after."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from promptsmith.app import create_app
from promptsmith.providers.registry import startup_status


def status(make_settings: Any, **values: Any) -> tuple[int, str]:
    return startup_status(make_settings(default_provider="anthropic", **values))


def test_no_key_says_what_to_set_and_how_to_run_offline(make_settings: Any) -> None:
    level, message = status(make_settings)
    assert level == logging.WARNING
    assert message.startswith("AI provider setup required")
    assert "ANTHROPIC_API_KEY" in message and "ANTHROPIC_BASE_URL" in message
    assert "OPENAI_BASE_URL=http://localhost:11434/v1" in message
    assert "README" in message


@pytest.mark.parametrize(
    "values",
    [
        {"anthropic_api_key": "k"},
        {"anthropic_base_url": "http://127.0.0.1:8100"},
        {"default_provider": "openai", "openai_base_url": "http://localhost:11434/v1"},
        {"default_provider": "google", "gemini_api_key": "k"},
    ],
)
def test_a_configured_default_is_named(make_settings: Any, values: dict[str, Any]) -> None:
    settings = make_settings(**{"default_provider": "anthropic", **values})
    level, message = startup_status(settings)
    assert level == logging.INFO
    assert message == f"default model: {settings.default_provider}:{settings.default_model}"


def test_an_unconfigured_default_with_a_ready_fallback(make_settings: Any) -> None:
    level, message = status(
        make_settings,
        fallback_chain="google:gemini-2.5-flash, openai:llama3.1",
        openai_base_url="http://localhost:11434/v1",
    )
    assert level == logging.WARNING
    assert "ANTHROPIC_API_KEY" in message
    assert message.endswith("calls fall back to openai:llama3.1")


def test_model_roles_are_listed(make_settings: Any) -> None:
    _, message = status(
        make_settings, anthropic_api_key="k", model_roles="summary=anthropic:claude-haiku-4-5"
    )
    assert message.endswith("; model roles: summary=anthropic:claude-haiku-4-5")


async def test_the_app_logs_it_at_start_up(
    make_settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="promptsmith")
    app = create_app(make_settings(default_provider="openai"))
    async with app.router.lifespan_context(app):
        pass
    [record] = [r for r in caplog.records if "setup required" in r.getMessage()]
    assert record.levelno == logging.WARNING
    assert "OPENAI_API_KEY" in record.getMessage()
