"""Constants and helpers the browser tests share (the fixtures are in conftest.py)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

CHROMIUM = Path(os.environ.get("PROMPTSMITH_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "_artifacts"
MODEL = "emu-web"
WAIT_MS = 90_000
API_KEY = "sk-test-emulator-key-0123456789"


async def screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


async def open_app(page: Any, url: str, route: str = "studio", sign_in: bool = True) -> None:
    await page.goto(f"{url}/#/{route}")
    await page.wait_for_selector("body[data-ready=true]")
    if sign_in:
        button = page.locator("#dev-sign-in")
        await button.click()
        await page.wait_for_function(
            "() => document.getElementById('token-state').textContent.startsWith('Signed in')"
        )
