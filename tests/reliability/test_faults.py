"""Fault injection through the emulator, for every provider.

Each failure the emulator can produce (429, 500, 529, a hang before the first
token, a drop mid-stream, malformed SSE, a cut-short JSON event) must end the
client's stream with `error` then `done`, or, when the failure comes before the
first token and a fallback model is configured, with the fallback's answer.
Timeouts are short test settings; an outer `asyncio.timeout` turns any hang into
a failure instead of a stuck suite (it is a safety net, not a speed check).
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from promptsmith.emulator.testing import Emulator

from .apps import (
    PROVIDERS,
    Provider,
    assert_one_done_last,
    build_app,
    kinds,
    stream_events,
    text,
)

OUTER_TIMEOUT = 60.0
SHORT = {"first_token_timeout": 0.5, "idle_timeout": 0.5, "max_retries": 1}

# Failures before the first token: retried, then fallen back from when configured.
BEFORE_FIRST_TOKEN = {
    "429": "emu-429-ra0",
    "500": "emu-500",
    "529": "emu-529",
    "hang": "emu-hang",
}
# Failures after three tokens of text: never retried, never fallen back from.
MID_STREAM = {
    "drop": "emu-drop3",
    "malformed-sse": "emu-malformed3",
    "invalid-json": "emu-badjson3",
    "in-stream-error": "emu-streamerror3",
}
CHUNKS = ["one ", "two ", "three ", "four ", "five "]


@pytest.fixture(params=PROVIDERS, ids=[p.name for p in PROVIDERS])
def provider(request: pytest.FixtureRequest) -> Provider:
    chosen: Provider = request.param
    return chosen


async def run_stream(
    make_settings: Any, emulator: Emulator, provider: Provider, model: str, **overrides: Any
) -> list[dict[str, Any]]:
    deployment = build_app(make_settings, emulator, provider, model, **SHORT, **overrides)
    app = deployment.app
    async with asyncio.timeout(OUTER_TIMEOUT), app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await stream_events(client, deployment.headers)


@pytest.mark.parametrize("fault", list(BEFORE_FIRST_TOKEN))
async def test_failure_before_the_first_token_is_error_then_done(
    make_settings: Any, emulator: Emulator, provider: Provider, fault: str
) -> None:
    model = BEFORE_FIRST_TOKEN[fault]

    events = await run_stream(make_settings, emulator, provider, model)

    assert_one_done_last(events)
    assert kinds(events)[-2:] == ["error", "done"]
    assert text(events) == ""
    error = events[-2]
    assert error["provider"] == provider.provider
    assert model in error["message"]
    assert "Traceback" not in error["message"]
    assert len(await emulator.control.requests(model=model)) == 2, "one retry (max_retries=1)"
    for connection in await emulator.control.connections(model=model):  # the hangs
        assert connection["outcome"] == "client_disconnected", connection


@pytest.mark.parametrize("fault", list(BEFORE_FIRST_TOKEN))
async def test_failure_before_the_first_token_falls_back(
    make_settings: Any, emulator: Emulator, provider: Provider, fault: str
) -> None:
    model, backup = BEFORE_FIRST_TOKEN[fault], provider.backup()
    await emulator.control.queue("emu-backup", {"chunks": ["From ", "the ", "backup."]})

    events = await run_stream(
        make_settings,
        emulator,
        provider,
        model,
        also=backup,
        fallback_chain=f"{backup.provider}:emu-backup",
    )

    assert_one_done_last(events)
    assert "error" not in kinds(events)
    assert text(events) == "From the backup."


@pytest.mark.parametrize("fault", list(MID_STREAM))
async def test_failure_mid_stream_is_error_then_done_without_fallback(
    make_settings: Any, emulator: Emulator, provider: Provider, fault: str
) -> None:
    model, backup = MID_STREAM[fault], provider.backup()
    await emulator.control.queue(model, {"chunks": CHUNKS})

    events = await run_stream(
        make_settings,
        emulator,
        provider,
        model,
        also=backup,
        fallback_chain=f"{backup.provider}:emu-backup",
    )

    assert_one_done_last(events)
    assert kinds(events)[-2:] == ["error", "done"], kinds(events)
    assert text(events) == "".join(CHUNKS[:3]), "what streamed stays, nothing repeats"
    assert events[-2]["provider"] == provider.provider
    assert "Traceback" not in events[-2]["message"]
    assert len(await emulator.control.requests(model=model)) == 1, "no retry after text"
    assert await emulator.control.requests(model="emu-backup") == [], "no fallback after text"
