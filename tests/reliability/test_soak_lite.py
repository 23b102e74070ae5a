"""Soak-lite (`make reliability`): waves of concurrent streams leave nothing behind.

Three waves of 100 concurrent streams go through promptsmith on a real socket. Every
stream must carry all its sequence-numbered tokens in order and exactly one `done`;
after each wave the server's event loop is back to its idle task count, no stream is
counted active, and every upstream connection is closed. Memory is checked loosely
(the full 60 s, 500-stream soak with the 10% bound is `make bench-soak`).
"""

from __future__ import annotations

import asyncio
import json
import resource
from typing import Any

import httpx
import pytest

from promptsmith.emulator.testing import Emulator
from promptsmith.metrics import STREAMS_ACTIVE
from promptsmith.testing import LiveServer

from .apps import ASSISTANT, PROVIDERS, QUESTION, build_app

WAVES, STREAMS, TOKENS = 3, 100, 20
MODEL = f"emu-soaklite-{TOKENS}x5ms"


async def one_stream(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await client.post(ASSISTANT, json={"instruction": QUESTION}, headers=headers)
    assert response.status_code == 200
    events = [json.loads(line) for line in response.text.splitlines() if line.strip()]
    text = "".join(e["delta"] for e in events if e["type"] == "assistant-delta")
    assert text.split() == [f"t{i}" for i in range(TOKENS)]
    assert [e["type"] for e in events].count("done") == 1
    assert events[-1]["type"] == "done"


def server_tasks(server: LiveServer) -> int:
    assert server.loop is not None
    future = asyncio.run_coroutine_threadsafe(_count_tasks(), server.loop)
    return future.result(timeout=30)


async def _count_tasks() -> int:
    return len(asyncio.all_tasks())


def active_streams() -> float:
    return sum(sample.value for metric in STREAMS_ACTIVE.collect() for sample in metric.samples)


async def settle(server: LiveServer, baseline: int) -> int:
    """Task count once the server has wound down (polled: shutdown is asynchronous)."""
    for _ in range(300):
        count = server_tasks(server)
        if count <= baseline:
            return count
        await asyncio.sleep(0.1)
    return server_tasks(server)


@pytest.mark.reliability
async def test_waves_of_streams_leave_nothing_behind(
    make_settings: Any, emulator: Emulator
) -> None:
    deployment = build_app(make_settings, emulator, PROVIDERS[1], MODEL)
    limits = httpx.Limits(max_connections=STREAMS)
    memory: list[int] = []
    with LiveServer(deployment.app) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=120, limits=limits) as client:
            await one_stream(client, deployment.headers)  # warm-up
            baseline, open_before = server_tasks(server), active_streams()
            for _ in range(WAVES):
                await asyncio.gather(
                    *(one_stream(client, deployment.headers) for _ in range(STREAMS))
                )
                assert await settle(server, baseline) <= baseline
                assert active_streams() == open_before
                memory.append(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
        connections = await emulator.control.connections(model=MODEL)

    assert len(connections) == 1 + WAVES * STREAMS
    assert {c["outcome"] for c in connections} == {"completed"}
    assert memory[-1] <= memory[0] * 1.5, memory
