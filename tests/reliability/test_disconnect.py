"""Client disconnects close the upstream provider stream, at 100 concurrent streams.

Promptsmith runs on a real socket (uvicorn in a thread); 100 clients each read a
few deltas of a long stream and hang up. The emulator's connection log must then
show every one of the 100 upstream streams closed by its client (promptsmith),
well before the stream would have finished on its own. How fast that happens is
measured by bench/gateway_bench.py; here the deadline is generous on purpose.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from promptsmith.emulator.testing import Emulator
from promptsmith.testing import LiveServer

from .apps import ASSISTANT, PROVIDERS, QUESTION, Provider, build_app

STREAMS = 100
TOKENS = 3000  # 30 s of tokens at 10 ms: nothing finishes on its own during the test
DEADLINE = 60.0


async def read_then_hang_up(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    body = {"instruction": QUESTION}
    async with client.stream("POST", ASSISTANT, json=body, headers=headers) as response:
        assert response.status_code == 200
        seen = 0
        async for line in response.aiter_lines():
            seen += '"assistant-delta"' in line
            if seen == 2:
                return
    raise AssertionError("the stream ended before two deltas")


async def wait_all_closed(emulator: Emulator, model: str) -> list[dict[str, Any]]:
    deadline = time.monotonic() + DEADLINE
    while True:
        connections = await emulator.control.connections(model=model)
        if len(connections) == STREAMS and all(c["outcome"] != "open" for c in connections):
            return connections
        if time.monotonic() > deadline:
            still_open = sum(c["outcome"] == "open" for c in connections)
            raise AssertionError(f"{still_open} of {len(connections)} upstream streams still open")
        await asyncio.sleep(0.1)


async def disconnect_many(make_settings: Any, emulator: Emulator, provider: Provider) -> None:
    model = f"emu-disconnect-{TOKENS}x10ms"
    deployment = build_app(make_settings, emulator, provider, model)
    limits = httpx.Limits(max_connections=STREAMS * 2, max_keepalive_connections=0)
    with LiveServer(deployment.app) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=DEADLINE, limits=limits) as c:
            await asyncio.gather(
                *(read_then_hang_up(c, deployment.headers) for _ in range(STREAMS))
            )
            connections = await wait_all_closed(emulator, model)
            health = await c.get("/healthz")

    assert {c["outcome"] for c in connections} == {"client_disconnected"}
    assert all(2 <= c["tokens_sent"] < TOKENS for c in connections)
    assert health.status_code == 200


async def test_100_concurrent_disconnects_close_every_upstream_stream(
    make_settings: Any, emulator: Emulator
) -> None:
    await disconnect_many(make_settings, emulator, PROVIDERS[0])


@pytest.mark.reliability
@pytest.mark.parametrize("provider", PROVIDERS[1:], ids=[p.name for p in PROVIDERS[1:]])
async def test_100_concurrent_disconnects_on_the_other_providers(
    make_settings: Any, emulator: Emulator, provider: Provider
) -> None:
    await disconnect_many(make_settings, emulator, provider)
