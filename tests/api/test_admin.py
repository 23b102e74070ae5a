"""Org model assignment: admin API, CLI, and its place in model resolution."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from promptsmith.providers.scripted import ScriptedProvider
from promptsmith.services import Services

MODEL = "/api/admin/org/model"


def bearer(services: Services, org: str, role: str | None = "admin") -> dict[str, str]:
    return {"Authorization": "Bearer " + services.verifier.mint(user="u", org=org, role=role)}


async def test_default_then_assignment(client: httpx.AsyncClient, services: Services) -> None:
    admin = bearer(services, "acme")
    first = await client.get(MODEL, headers=admin)
    assert first.json() == {
        "success": True,
        "org": "acme",
        "provider": "scripted",
        "model": "scripted-model",
        "source": "server-default",
    }
    put = await client.put(MODEL, json={"provider": "openai", "model": "gpt-x"}, headers=admin)
    assert put.json()["source"] == "org"
    assert (await client.get(MODEL, headers=admin)).json()["model"] == "gpt-x"
    cleared = await client.delete(MODEL, headers=admin)
    assert cleared.json()["source"] == "server-default"


async def test_assignment_is_per_org(client: httpx.AsyncClient, services: Services) -> None:
    await client.put(
        MODEL, json={"provider": "openai", "model": "acme-model"}, headers=bearer(services, "acme")
    )
    other = await client.get(MODEL, headers=bearer(services, "globex"))
    assert other.json()["source"] == "server-default"


async def test_non_admin_is_forbidden(client: httpx.AsyncClient, services: Services) -> None:
    response = await client.put(
        MODEL, json={"provider": "openai", "model": "x"}, headers=bearer(services, "acme", None)
    )
    assert response.status_code == 403
    assert response.json()["success"] is False


@pytest.mark.parametrize(
    "body", [{"provider": "mistral", "model": "x"}, {"provider": "openai", "model": " "}, {}]
)
async def test_invalid_assignment(
    client: httpx.AsyncClient, services: Services, body: dict[str, str]
) -> None:
    response = await client.put(MODEL, json=body, headers=bearer(services, "acme"))
    assert response.status_code == 400
    assert response.json()["success"] is False


async def test_resolution_order(
    client: httpx.AsyncClient, services: Services, scripted: ScriptedProvider
) -> None:
    services.providers.register("openai", scripted)
    services.providers.register("google", scripted)
    user = bearer(services, "acme", None)
    await client.post("/api/ai/nl-create", json={"instruction": "x"}, headers=user)
    assert scripted.requests[-1].model == "scripted-model"

    await client.put(
        MODEL, json={"provider": "openai", "model": "org-model"}, headers=bearer(services, "acme")
    )
    await client.post("/api/ai/nl-create", json={"instruction": "x"}, headers=user)
    assert scripted.requests[-1].model == "org-model"

    override = {"provider": "google", "model": "pinned/model-Name:v1"}
    body = {"instruction": "x", "modelOverride": override}
    await client.post("/api/ai/nl-create", json=body, headers=user)
    assert scripted.requests[-1].model == "pinned/model-Name:v1"


def test_cli_set_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from promptsmith.cli import app as cli

    monkeypatch.setenv("PROMPTSMITH_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    result = runner.invoke(cli, ["org", "set-model", "acme", "openai", "gpt-4o-mini"])
    assert result.exit_code == 0, result.output
    shown = runner.invoke(cli, ["org", "show", "acme"])
    assert shown.output.strip() == "openai:gpt-4o-mini"
    bad = runner.invoke(cli, ["org", "set-model", "acme", "mistral", "x"])
    assert bad.exit_code == 2
