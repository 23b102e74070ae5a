"""Run the emulator inside a test session and script it.

    # tests/conftest.py (suite-wide) or any conftest.py
    pytest_plugins = ["promptsmith.emulator.testing"]

    async def test_something(emulator):              # state reset before each test
        await emulator.control.queue("emu-a", {"text": "Hi"})
        client = AsyncAnthropic(base_url=emulator.url, api_key="test", max_retries=0)
        ...
        [request] = await emulator.control.requests(model="emu-a")

`emulator_server` (session scope) starts one uvicorn server on a free port in
a background thread; `emulator` (function scope) resets it and gives its base
URLs and an `EmulatorControl`. Outside pytest, `EmulatorServer` is a context
manager.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn

from .server import EmulatorApp, create_app
from .state import EmulatorState


class EmulatorServer:
    """The emulator on a free port, served by uvicorn in a daemon thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, max_records: int = 10_000) -> None:
        self.app: EmulatorApp = create_app(EmulatorState(max_records=max_records))
        self._host = host
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.port: int = self._socket.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the LLM emulator did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        if self.app.loop is not None and self._thread.is_alive():
            self.app.loop.call_soon_threadsafe(self.app.close_streams)
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()

    def __enter__(self) -> EmulatorServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class EmulatorControl:
    """Async client for the control API (see `promptsmith.emulator.control`)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    async def _call(self, method: str, action: str, **kwargs: Any) -> Any:
        async with httpx.AsyncClient(base_url=self.base_url, timeout=10.0) as client:
            response = await client.request(method, f"/_emulator/{action}", **kwargs)
            response.raise_for_status()
            return response.json()

    async def reset(self) -> None:
        await self._call("POST", "reset")

    async def queue(
        self, model: str, *replies: dict[str, Any], provider: str | None = None
    ) -> None:
        """Queue replies for the next requests to `model` (see `promptsmith.emulator.script`)."""
        payload = {"model": model, "provider": provider, "replies": list(replies)}
        await self._call("POST", "replies", json=payload)

    async def requests(
        self, model: str | None = None, provider: str | None = None
    ) -> list[dict[str, Any]]:
        params = {k: v for k, v in {"model": model, "provider": provider}.items() if v}
        return list((await self._call("GET", "requests", params=params))["requests"])

    async def last_request(
        self, model: str | None = None, provider: str | None = None
    ) -> dict[str, Any]:
        found = await self.requests(model, provider)
        if not found:
            raise AssertionError(f"the emulator saw no request for model={model!r}")
        return found[-1]

    async def connections(
        self, model: str | None = None, provider: str | None = None
    ) -> list[dict[str, Any]]:
        params = {k: v for k, v in {"model": model, "provider": provider}.items() if v}
        return list((await self._call("GET", "connections", params=params))["connections"])

    async def wait_closed(
        self, model: str | None = None, provider: str | None = None, within: float = 10.0
    ) -> dict[str, Any]:
        """The last stream for `model` once it is no longer open; fails after `within` s."""
        deadline = time.monotonic() + within
        while True:
            found = await self.connections(model, provider)
            if found and found[-1]["outcome"] != "open":
                return found[-1]
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"stream for model={model!r} still open after {within}s: {found}"
                )
            await asyncio.sleep(0.02)


@dataclass(frozen=True, slots=True)
class Emulator:
    """What the `emulator` fixture gives a test."""

    url: str
    control: EmulatorControl

    @property
    def anthropic_base_url(self) -> str:
        return self.url

    @property
    def openai_base_url(self) -> str:
        return f"{self.url}/v1"

    @property
    def gemini_base_url(self) -> str:
        return self.url


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[EmulatorServer]:
    with EmulatorServer() as server:
        yield server


@pytest.fixture
async def emulator(emulator_server: EmulatorServer) -> Emulator:
    control = EmulatorControl(emulator_server.url)
    await control.reset()
    return Emulator(emulator_server.url, control)
