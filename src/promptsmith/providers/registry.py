"""Which provider name means which adapter, and whether it can be called at all.

Real adapters are imported lazily, so a missing optional SDK never breaks start-up,
and tests register a `ScriptedProvider` under any name exactly like a real one.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable

from ..exceptions import SetupRequired
from ..settings import Settings
from .base import Provider

ProviderFactory = Callable[[Settings], Provider]

_BUILTIN: dict[str, str] = {
    "anthropic": "promptsmith.providers.anthropic:AnthropicProvider",
    "openai": "promptsmith.providers.openai:OpenAIProvider",
    "google": "promptsmith.providers.gemini:GeminiProvider",
    "scripted": "promptsmith.providers.scripted:ScriptedProvider",
}

# What a user must set for each provider, for the setup-required message.
SETUP_HINTS: dict[str, tuple[str, str]] = {
    "anthropic": ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"),
    "openai": ("OPENAI_API_KEY", "OPENAI_BASE_URL"),
    "google": ("GEMINI_API_KEY", "PROMPTSMITH_GEMINI_BASE_URL"),
}


def _load(path: str) -> ProviderFactory:
    module_name, _, attribute = path.partition(":")
    factory = getattr(importlib.import_module(module_name), attribute)
    if attribute == "ScriptedProvider":
        return lambda _settings: factory()
    return factory


def is_configured(settings: Settings, provider: str) -> bool:
    """A provider is callable when it has an API key or a base URL (a local server)."""
    if provider == "anthropic":
        return bool(settings.anthropic_api_key or settings.anthropic_base_url)
    if provider == "openai":
        return bool(settings.openai_api_key or settings.openai_base_url)
    if provider == "google":
        return bool(settings.gemini_api_key or settings.gemini_base_url)
    return True


def setup_required(provider: str) -> SetupRequired:
    key_var, url_var = SETUP_HINTS.get(provider, ("an API key", "a base URL"))
    return SetupRequired(
        provider=provider,
        reason=f"No API key or base URL is configured for the {provider} provider.",
        message=(
            f"Set {key_var} in the server's environment (or {url_var} to use a compatible "
            f"server, e.g. a local one) and restart promptsmith. To use another provider, "
            f"set PROMPTSMITH_DEFAULT_PROVIDER and PROMPTSMITH_DEFAULT_MODEL."
        ),
    )


OFFLINE_HINT = (
    "To run without any key, use a local OpenAI-compatible server, e.g. Ollama: "
    "PROMPTSMITH_DEFAULT_PROVIDER=openai OPENAI_BASE_URL=http://localhost:11434/v1 "
    "PROMPTSMITH_DEFAULT_MODEL=llama3.1 (README.md, section Providers)."
)


def startup_status(settings: Settings) -> tuple[int, str]:
    """The log level and line that tell an operator, at start-up, whether AI calls can run."""
    provider, model = settings.default_provider, settings.default_model
    roles = f"; model roles: {settings.model_roles}" if settings.model_roles.strip() else ""
    if is_configured(settings, provider):
        return logging.INFO, f"default model: {provider}:{model}{roles}"
    chain = [spec.strip() for spec in settings.fallback_chain.split(",") if spec.strip()]
    ready = [spec for spec in chain if is_configured(settings, spec.partition(":")[0].strip())]
    if ready:
        key_var, url_var = SETUP_HINTS.get(provider, ("an API key", "a base URL"))
        return logging.WARNING, (
            f"the default provider {provider} is not configured (set {key_var} or {url_var}); "
            f"calls fall back to {ready[0]}{roles}"
        )
    return logging.WARNING, (
        f"AI provider setup required: {setup_required(provider).message} {OFFLINE_HINT}"
    )


class ProviderRegistry:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._instances: dict[str, Provider] = {}
        self._built: set[str] = set()  # instances made here (not registered): closed by aclose

    def register(self, name: str, provider: Provider) -> None:
        """Install a provider instance under `name` (tests use this for scripted ones)."""
        self._instances[name] = provider
        self._built.discard(name)

    def names(self) -> list[str]:
        return sorted(set(_BUILTIN) | set(self._instances))

    def get(self, name: str) -> Provider:
        """The provider for `name`; raises SetupRequired when it can't be called."""
        if name in self._instances:
            return self._instances[name]
        if name not in _BUILTIN:
            raise KeyError(f"unknown provider {name!r}")
        if not is_configured(self._settings, name):
            raise setup_required(name)
        provider = _load(_BUILTIN[name])(self._settings)
        self._instances[name] = provider
        self._built.add(name)
        return provider

    async def aclose(self) -> None:
        """Close the HTTP clients of the adapters made here (at shutdown).

        They are forgotten, so a later `get` makes fresh ones; registered
        instances belong to whoever registered them and are kept.
        """
        built, self._built = self._built, set()
        for name in built:
            aclose = getattr(self._instances.pop(name), "aclose", None)
            if aclose is not None:
                await aclose()
