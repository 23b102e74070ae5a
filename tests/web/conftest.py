"""Browser fixtures: headless Debian Chromium driven by Playwright, against a real
server (uvicorn on a socket) whose providers point at the wire-level LLM emulator.

Chromium comes from Debian (`make chromium`, a step of `make test`), never from a
Playwright download. When /usr/bin/chromium is missing the browser tests fail with
that instruction rather than skip, so a green run always means the browser ran.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from promptsmith.app import create_app
from promptsmith.emulator.testing import Emulator
from promptsmith.testing import LiveServer

from .browser import API_KEY, ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, MODEL, WAIT_MS


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests need Debian's Chromium. "
            "Run `make chromium` (apt-get install -y chromium).",
            pytrace=False,
        )
    return CHROMIUM


def _serve(make_settings: Any, emulator: Emulator, **overrides: Any) -> Iterator[str]:
    settings = make_settings(
        default_provider="anthropic",
        default_model=MODEL,
        anthropic_api_key=API_KEY,
        anthropic_base_url=emulator.anthropic_base_url,
        **overrides,
    )
    with LiveServer(create_app(settings)) as server:
        yield server.url


@pytest.fixture
def web_server(make_settings: Any, emulator: Emulator) -> Iterator[str]:
    """The whole app on a loopback socket, its default model served by the emulator."""
    yield from _serve(make_settings, emulator)


@pytest.fixture
def qanda_server(make_settings: Any, emulator: Emulator) -> Iterator[str]:
    """`web_server` with the real MiniLM embedder, so retrieval finds what a person would."""
    yield from _serve(make_settings, emulator, embedder="minilm")


@pytest.fixture
async def browser(chromium_path: Path) -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(chromium_path), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def page(browser: Any, request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    """A fresh page; console errors fail the test; a screenshot is saved on the way out."""
    context = await browser.new_context(viewport={"width": 1400, "height": 900})
    # Generous waits: the machine may be shared and loaded (waits, never timing checks).
    context.set_default_timeout(WAIT_MS)
    opened = await context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    # A failed fetch (say a 401 before sign-in) logs "Failed to load resource": not a bug.
    opened.on(
        "console",
        lambda msg: (
            errors.append(f"console: {msg.text}")
            if msg.type == "error" and "Failed to load resource" not in msg.text
            else None
        ),
    )
    opened.errors = errors
    try:
        yield opened
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.name)
        await opened.screenshot(path=str(ARTIFACTS / f"{name}-final.png"), full_page=True)
        await context.close()
