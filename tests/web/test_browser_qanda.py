"""A course Q&A turn end to end: the demo course seeded through the admin API (the same
code as `make demo`), picked in the page, the question answered over SSE by the real
server with retrieval and the emulator, the sources listed and a citation opened."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from promptsmith.api.dev import DEMO_INSTITUTION
from promptsmith.emulator.testing import Emulator
from promptsmith.web import demo_seed

from .browser import MODEL, open_app, screenshot

pytestmark = pytest.mark.browser

QUESTION = "When does a lunar eclipse happen?"
ANSWER = "A lunar eclipse happens at full moon, when Earth's shadow falls on the Moon [1]."


def seed_demo(url: str) -> None:
    with httpx.Client(base_url=url, timeout=120.0) as client:
        assert demo_seed.seed(client) is True
        # Seeding again changes nothing (every resource answers 409 and is left alone).
        assert demo_seed.seed(client) is True


async def test_qanda_turn_with_sources(page: Any, qanda_server: str, emulator: Emulator) -> None:
    web_server = qanda_server
    seed_demo(web_server)
    await emulator.control.queue(MODEL, {"chunks": [ANSWER[:40], ANSWER[40:]]})
    await open_app(page, web_server, route="qanda")
    # The admin API lists the seeded institution, assistant and course.
    assert await page.input_value("#qa-institution") == DEMO_INSTITUTION
    await page.wait_for_function(
        "() => document.getElementById('qa-course').value === '101'"
        " && document.getElementById('qa-assistant').value === 'astro-helper'"
    )
    options = await page.locator("#qa-courses option").all_text_contents()
    assert options == ["Introduction to Astronomy"]
    zone = await page.evaluate("() => Intl.DateTimeFormat().resolvedOptions().timeZone")
    assert await page.input_value("#qa-timezone") == zone  # the browser's zone by default

    await page.fill("#qa-input", QUESTION)
    await page.click("#qa-send")
    answer = page.locator("#qa-log .msg-assistant[aria-busy=false]")
    await answer.wait_for()
    assert await answer.locator(".error-card").count() == 0
    tool = await answer.locator(".tool-call").inner_text()
    assert "Searching course materials…" in tool
    assert "source" in tool
    sources = answer.locator(".sources li")
    assert await sources.count() >= 1
    assert "Lecture 3" in await sources.nth(0).inner_text()
    text = await answer.locator(".reply-text").inner_text()
    assert "Earth's shadow falls on the Moon" in text
    await answer.locator("button.citation").first.click()
    await page.locator("#source-dialog").wait_for(state="visible")
    assert "eclipse" in (await page.locator("#source-snippet").inner_text()).lower()
    await screenshot(page, "qanda-turn-with-sources")

    # The model saw the question and the retrieved material.
    request = await emulator.control.last_request(model=MODEL)
    sent = json.dumps(request["body"])
    assert QUESTION in sent
    assert "Earth's shadow" in sent
    assert page.errors == []
