"""Rate limits on the AI endpoints: 429 in the envelope, per user / org / institution."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from promptsmith.app import create_app
from promptsmith.providers.scripted import ScriptedProvider
from promptsmith.services import Services
from promptsmith.settings import Settings
from promptsmith.testing import free_port

SettingsFactory = Callable[..., Settings]

NL_CREATE = "/api/ai/nl-create"
QANDA = "/api/ai/personal-stream/qanda-stream"
MODEL = "/api/admin/org/model"
CREATE_BODY = {"instruction": "A friendly agent"}


@asynccontextmanager
async def serving(
    make_settings: SettingsFactory, **overrides: Any
) -> AsyncIterator[tuple[httpx.AsyncClient, Services]]:
    settings = make_settings(**overrides)
    services = Services.build(settings)
    services.providers.register("scripted", ScriptedProvider())
    app = create_app(settings, services)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client, services


def org_headers(services: Services, user: str, org: str, role: str | None = None) -> dict[str, str]:
    return {"Authorization": "Bearer " + services.verifier.mint(user=user, org=org, role=role)}


def learner_headers(services: Services, user: str, institution: str) -> dict[str, str]:
    return {"x-access-token": services.verifier.mint(user=user, institution=institution)}


def assert_limited(response: httpx.Response, scope: str, described: str) -> None:
    assert response.status_code == 429, response.text
    body = response.json()
    assert body["success"] is False
    assert body["error"] == "Rate limit exceeded"
    assert body["limit"] == scope
    assert described in body["message"]
    retry_after = int(response.headers["Retry-After"])
    assert retry_after >= 1
    assert f"Try again in {retry_after} s" in body["message"]


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Settings for the in-process limiter, or for Redis with a per-test key prefix."""
    if request.param == "memory":
        return {}
    return {
        "redis_url": request.getfixturevalue("redis_url"),
        "redis_key_prefix": request.getfixturevalue("redis_prefix"),
    }


async def test_user_limit(make_settings: SettingsFactory, backend: dict[str, Any]) -> None:
    async with serving(make_settings, rate_limit_user=2, **backend) as (client, services):
        ada = org_headers(services, "ada", "acme")
        for _ in range(2):
            assert (await client.post(NL_CREATE, json=CREATE_BODY, headers=ada)).status_code == 200
        assert_limited(await client.post(NL_CREATE, json=CREATE_BODY, headers=ada), "user", "user")
        # Another user of the same org, and the same user id in another org, are unaffected.
        grace = org_headers(services, "grace", "acme")
        other_org = org_headers(services, "ada", "globex")
        assert (await client.post(NL_CREATE, json=CREATE_BODY, headers=grace)).status_code == 200
        assert (
            await client.post(NL_CREATE, json=CREATE_BODY, headers=other_org)
        ).status_code == 200


async def test_org_limit(make_settings: SettingsFactory, backend: dict[str, Any]) -> None:
    async with serving(make_settings, rate_limit_org=3, **backend) as (client, services):
        for user in ("a", "b", "c"):
            headers = org_headers(services, user, "acme")
            assert (
                await client.post(NL_CREATE, json=CREATE_BODY, headers=headers)
            ).status_code == 200
        fourth = await client.post(
            NL_CREATE, json=CREATE_BODY, headers=org_headers(services, "d", "acme")
        )
        assert_limited(fourth, "org", "organisation")
        globex = org_headers(services, "a", "globex")
        assert (await client.post(NL_CREATE, json=CREATE_BODY, headers=globex)).status_code == 200


async def test_institution_limit(make_settings: SettingsFactory, backend: dict[str, Any]) -> None:
    async with serving(make_settings, rate_limit_institution=2, **backend) as (client, services):
        # Bodies without `inputs` get 400 after the limit was checked: they still count.
        for learner in ("l1", "l2"):
            headers = learner_headers(services, learner, "uni-1")
            assert (await client.post(QANDA, json={}, headers=headers)).status_code == 400
        third = await client.post(QANDA, json={}, headers=learner_headers(services, "l3", "uni-1"))
        assert_limited(third, "institution", "institution")
        elsewhere = learner_headers(services, "l1", "uni-2")
        assert (await client.post(QANDA, json={}, headers=elsewhere)).status_code == 400


async def test_streams_are_limited_before_they_start(make_settings: SettingsFactory) -> None:
    async with serving(make_settings, rate_limit_user=1) as (client, services):
        ada = org_headers(services, "ada", "acme")
        path = "/api/ai/prompt-assistant/stream"
        assert (await client.post(path, json=CREATE_BODY, headers=ada)).status_code == 200
        refused = await client.post(path, json=CREATE_BODY, headers=ada)
        assert refused.headers["content-type"].startswith("application/json")
        assert_limited(refused, "user", "user")


async def test_unauthenticated_requests_are_refused_first_and_cost_nothing(
    make_settings: SettingsFactory,
) -> None:
    async with serving(make_settings, rate_limit_user=1) as (client, services):
        for _ in range(3):
            assert (await client.post(NL_CREATE, json=CREATE_BODY)).status_code == 401
        ada = org_headers(services, "ada", "acme")
        assert (await client.post(NL_CREATE, json=CREATE_BODY, headers=ada)).status_code == 200


async def test_probes_and_admin_are_not_limited(make_settings: SettingsFactory) -> None:
    async with serving(make_settings, rate_limit_user=1, rate_limit_org=1) as (client, services):
        admin = org_headers(services, "root", "acme", role="admin")
        for _ in range(3):
            assert (await client.get("/healthz")).status_code == 200
            assert (await client.get("/readyz")).status_code == 200
            assert (await client.get(MODEL, headers=admin)).status_code == 200


def test_limits_are_on_by_default() -> None:
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    assert (defaults.rate_limit_user, defaults.rate_limit_org) == (60, 600)
    assert (defaults.rate_limit_institution, defaults.rate_limit_window_seconds) == (600, 60)


async def test_redis_down_fails_open(
    make_settings: SettingsFactory, caplog: pytest.LogCaptureFixture
) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"
    async with serving(make_settings, rate_limit_user=1, redis_url=dead) as (client, services):
        ada = org_headers(services, "ada", "acme")
        with caplog.at_level(logging.WARNING):
            for _ in range(3):
                response = await client.post(NL_CREATE, json=CREATE_BODY, headers=ada)
                assert response.status_code == 200, response.text
        assert any("rate limits not enforced" in r.getMessage() for r in caplog.records)
        ready = await client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json() == {"status": "ready", "database": "ok", "redis": "unavailable"}


async def test_readyz_reports_redis(
    make_settings: SettingsFactory, redis_url: str, redis_prefix: str
) -> None:
    async with serving(make_settings, redis_url=redis_url, redis_key_prefix=redis_prefix) as (
        client,
        _,
    ):
        assert (await client.get("/readyz")).json() == {
            "status": "ready",
            "database": "ok",
            "redis": "ok",
        }
    async with serving(make_settings) as (client, _):
        assert (await client.get("/readyz")).json() == {"status": "ready", "database": "ok"}
