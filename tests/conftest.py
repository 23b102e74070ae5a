"""Shared fixtures: an app on the scripted provider, real HTTP clients, tokens."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from promptsmith.app import create_app
from promptsmith.providers.scripted import ScriptedProvider
from promptsmith.services import Services
from promptsmith.settings import Settings

_PROVIDER_ENV = (
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests never see the developer's keys or PROMPTSMITH_* settings."""
    for name in list(os.environ):
        if name.startswith("PROMPTSMITH_") or name in _PROVIDER_ENV:
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


SettingsFactory = Callable[..., Settings]


@pytest.fixture
def make_settings(tmp_path: Path) -> SettingsFactory:
    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "data_dir": tmp_path / "var",
            "default_provider": "scripted",
            "default_model": "scripted-model",
            "log_json": False,
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)

    return build


@pytest.fixture
def settings(make_settings: SettingsFactory) -> Settings:
    return make_settings()


@pytest.fixture
def scripted() -> ScriptedProvider:
    return ScriptedProvider()


@pytest.fixture
def services(settings: Settings, scripted: ScriptedProvider) -> Services:
    built = Services.build(settings)
    built.providers.register("scripted", scripted)
    return built


@pytest.fixture
def app(settings: Settings, services: Services) -> FastAPI:
    return create_app(settings, services)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


@pytest.fixture
def org_token(services: Services) -> str:
    return services.verifier.mint(user="user-1", org="org-1")


@pytest.fixture
def org_headers(org_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {org_token}"}


@pytest.fixture
def institution_headers(services: Services) -> dict[str, str]:
    token = services.verifier.mint(user="learner-1", institution="inst-1")
    return {"x-access-token": token}


@pytest.fixture
def live_app(app: FastAPI) -> Iterator[str]:
    """The app on a real socket (uvicorn in a thread); yields its base URL."""
    from promptsmith.testing import LiveServer

    with LiveServer(app) as server:
        yield server.url
