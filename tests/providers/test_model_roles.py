"""Model roles: a cheaper model for some calls of a request, unless the request pins one."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from promptsmith.exceptions import ProviderOverloaded
from promptsmith.providers.base import ChatMessage, ModelRequest, collect
from promptsmith.providers.registry import ProviderRegistry
from promptsmith.providers.router import (
    CallContext,
    ModelChoice,
    ModelRouter,
    UsageEntry,
    parse_roles,
)
from promptsmith.providers.scripted import ScriptedProvider

ROLES = "summary=openai:gpt-4o-mini, classify = google:gemini-2.5-flash"
ORGS = {"acme": ModelChoice("anthropic", "claude-org")}


async def org_models(org: str) -> ModelChoice | None:
    return ORGS.get(org)


class Usage:
    def __init__(self) -> None:
        self.entries: list[UsageEntry] = []

    def record(self, entry: UsageEntry) -> None:
        self.entries.append(entry)


def router(make_settings: Any, usage: Usage | None = None, **overrides: Any) -> ModelRouter:
    settings = make_settings(
        default_provider="anthropic",
        default_model="claude-default",
        model_roles=ROLES,
        **overrides,
    )
    return ModelRouter(settings, ProviderRegistry(settings), org_models=org_models, usage=usage)


def test_roles_are_parsed() -> None:
    assert parse_roles(ROLES) == {
        "summary": ModelChoice("openai", "gpt-4o-mini"),
        "classify": ModelChoice("google", "gemini-2.5-flash"),
    }
    assert parse_roles("") == {}
    assert parse_roles("fast=openai:llama3.1:8b") == {"fast": ModelChoice("openai", "llama3.1:8b")}


@pytest.mark.parametrize(
    ("roles", "problem"),
    [
        ("summary", "role=provider:model"),
        ("=openai:gpt-4o-mini", "role=provider:model"),
        ("summary=gpt-4o-mini", "provider:model"),
        ("summary=azure:gpt-4o", "unknown provider 'azure'"),
        ("default=openai:gpt-4o", "PROMPTSMITH_DEFAULT_PROVIDER"),
    ],
)
def test_bad_roles_are_refused_at_start_up(make_settings: Any, roles: str, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        make_settings(model_roles=roles)


def test_a_fallback_chain_with_an_unknown_provider_is_refused(make_settings: Any) -> None:
    with pytest.raises(ValidationError, match="unknown provider 'ollama'"):
        make_settings(fallback_chain="openai:gpt-4o-mini,ollama:llama3")


async def test_a_configured_role_gets_its_model(make_settings: Any) -> None:
    choice = await router(make_settings).resolve(org="acme", role="summary")
    assert choice == ModelChoice("openai", "gpt-4o-mini")
    assert not choice.pinned


async def test_the_org_assignment_applies_to_the_default_role(make_settings: Any) -> None:
    models = router(make_settings)
    assert await models.resolve(org="acme") == ModelChoice("anthropic", "claude-org")
    assert await models.resolve(org="acme", role="default") == ModelChoice(
        "anthropic", "claude-org"
    )
    assert await models.resolve(org="other") == ModelChoice("anthropic", "claude-default")


async def test_an_unconfigured_role_uses_the_default_model(make_settings: Any) -> None:
    models = router(make_settings)
    assert await models.resolve(org="acme", role="translate") == ModelChoice(
        "anthropic", "claude-org"
    )
    assert await models.resolve(role="translate") == ModelChoice("anthropic", "claude-default")


@pytest.mark.parametrize("role", ["default", "summary", "translate"])
async def test_an_override_pins_every_role(make_settings: Any, role: str) -> None:
    models = router(make_settings)
    choice = await models.resolve(override=("google", "gemini-pinned"), org="acme", role=role)
    assert choice == ModelChoice("google", "gemini-pinned", pinned=True)
    assert models.for_role(choice, "summary") is choice
    assert models.for_role(choice, "classify") is choice


async def test_for_role_derives_further_calls_of_a_request(make_settings: Any) -> None:
    models = router(make_settings)
    choice = await models.resolve(org="acme")
    assert models.for_role(choice, "summary") == ModelChoice("openai", "gpt-4o-mini")
    assert models.for_role(choice, "default") is choice
    assert models.for_role(choice, "translate") is choice


def request(model: str) -> ModelRequest:
    return ModelRequest(model=model, messages=[ChatMessage("user", "Summarize this")])


async def test_a_role_call_reaches_the_role_model_and_is_accounted_for(
    make_settings: Any,
) -> None:
    usage = Usage()
    models = router(make_settings, usage)
    summarizer, main = ScriptedProvider(["a summary"]), ScriptedProvider(["the answer"])
    models.registry.register("openai", summarizer)
    models.registry.register("anthropic", main)
    context = CallContext(endpoint="test", org="acme")
    default = await models.resolve(org="acme")
    summary = models.for_role(default, "summary")

    assert (await collect(models.stream(request(default.model), default, context))).text == (
        "the answer"
    )
    assert (await collect(models.stream(request(summary.model), summary, context))).text == (
        "a summary"
    )

    assert [r.model for r in main.requests] == ["claude-org"]
    assert [r.model for r in summarizer.requests] == ["gpt-4o-mini"]
    assert [(e.provider, e.model) for e in usage.entries] == [
        ("anthropic", "claude-org"),
        ("openai", "gpt-4o-mini"),
    ]


async def test_a_role_model_falls_back_along_the_chain(make_settings: Any) -> None:
    models = router(make_settings, max_retries=0, fallback_chain="anthropic:claude-backup")
    models.registry.register("openai", ScriptedProvider([[ProviderOverloaded("down")]]))
    backup = ScriptedProvider(["backup summary"])
    models.registry.register("anthropic", backup)
    choice = await models.resolve(role="summary")

    completion = await collect(models.stream(request(choice.model), choice, CallContext("test")))

    assert completion.text == "backup summary"
    assert [r.model for r in backup.requests] == ["claude-backup"]
