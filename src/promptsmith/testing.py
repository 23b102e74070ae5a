"""Helpers for tests and benchmarks: run an ASGI app on a real socket in a thread."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """`with LiveServer(app) as server: httpx.get(server.url + "/healthz")`.

    Runs uvicorn (with lifespan) in a background thread with its own event loop, so
    tests exercise real HTTP: chunked streaming, heartbeats, client disconnects.
    """

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.host = host
        self.port = port or free_port(host)
        config = uvicorn.Config(
            app,
            host=host,
            port=self.port,
            log_config=None,
            lifespan="on",
            timeout_graceful_shutdown=2,
        )
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.loop: asyncio.AbstractEventLoop | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _run(self) -> None:
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self.server.serve())
        finally:
            self.loop.close()

    def start(self, timeout: float = 30.0) -> LiveServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("live server failed to start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def parse_sse(text: str) -> list[dict[str, Any]]:
    """Parse an SSE body the way a browser's EventSource does; return the JSON payloads.

    Comment lines (`: ping`) are skipped, multi-line `data:` fields are joined with
    newlines, and an event is dispatched at each blank line.
    """
    import json

    events: list[dict[str, Any]] = []
    data: list[str] = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if line == "":
            if data:
                events.append(json.loads("\n".join(data)))
                data = []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if field == "data":
            data.append(value)
    return events


def sse_comments(text: str) -> list[str]:
    return [line for line in text.split("\n") if line.startswith(":")]


def parse_ndjson(text: str) -> list[dict[str, Any]]:
    """Parse NDJSON the way a streaming fetch() reader does: one JSON object per line."""
    import json

    return [json.loads(line) for line in text.split("\n") if line.strip()]
