"""CLI commands that read what the server wrote."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from typer.testing import CliRunner

from promptsmith.cli import app as cli
from promptsmith.providers.base import ChatMessage, ModelRequest, Usage, collect
from promptsmith.providers.router import CallContext, ModelChoice
from promptsmith.providers.scripted import ScriptedProvider
from promptsmith.services import Services
from promptsmith.settings import Settings


async def record_one_call() -> None:
    services = Services.build(Settings(_env_file=None))
    await services.db.migrate()
    reply = ["hi", Usage(input_tokens=1200, output_tokens=34, cache_read_tokens=1000)]
    services.providers.register("openai", ScriptedProvider([reply]))
    request = ModelRequest(model="x", messages=[ChatMessage("user", "q")])
    context = CallContext(endpoint="nl-create", org="acme")
    await collect(services.router.stream(request, ModelChoice("openai", "gpt-x"), context))
    await services.usage.flush()
    await services.db.dispose()


def test_usage_summary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROMPTSMITH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COLUMNS", "200")
    asyncio.run(record_one_call())
    result = CliRunner().invoke(cli, ["usage", "--org", "acme"])
    assert result.exit_code == 0, result.output
    assert "gpt-x" in result.output and "1200" in result.output and "1000" in result.output
    nothing = CliRunner().invoke(cli, ["usage", "--org", "other"])
    assert "no usage recorded" in nothing.output
    assert CliRunner().invoke(cli, ["usage"]).exit_code == 2
