"""How the Q&A page renders each qanda-stream event, with the stream's body canned in the
browser (Playwright routing), so every event type and edge is pinned down exactly.
The end-to-end Q&A turn against the real server and the emulator is test_browser_qanda.py."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .browser import open_app, screenshot

pytestmark = pytest.mark.browser

RESULTS = [
    {
        "n": 1,
        "document": "lecture-3-moon.md",
        "title": "Lecture 3: the phases of the Moon",
        "page": 2,
        "snippet": "A lunar eclipse happens at full moon, when Earth's shadow falls on the Moon.",
        "score": 0.91,
    },
    {
        "n": 2,
        "document": "syllabus.md",
        "title": "Syllabus",
        "page": None,
        "snippet": "Weekly quizzes count for 30% of the grade.",
        "score": 0.42,
    },
]
ANSWER = "A lunar eclipse happens at full moon [1]. See also [7]."


def sse(*events: dict[str, Any]) -> str:
    return "".join(f"data: {json.dumps(event)}\n\n" for event in events) + ": ping\n\n"


CANNED = sse(
    {"type": "connected", "message": "Stream connected"},
    {
        "type": "tool_call",
        "call_id": "c1",
        "name": "search_course_materials",
        "arguments": {"query": "lunar eclipse"},
        "displayInfo": {"label": "Searching course materials…"},
    },
    {"type": "tool_result", "call_id": "c1", "name": "search_course_materials", "results": RESULTS},
    {"type": "stream", "prompt": ANSWER[:30], "delta": ANSWER[:30]},
    {"type": "stream", "prompt": ANSWER, "delta": ANSWER[30:]},
    {
        "type": "complete",
        "success": True,
        "usage": 321,
        "outputs": [ANSWER],
        "model": "emu-web",
        "cached": 0,
        "completion": 12,
        "citations": [RESULTS[0]],
    },
    {"type": "done"},
)


async def test_tool_calls_sources_and_citations(page: Any, web_server: str) -> None:
    sent: list[dict[str, Any]] = []

    async def fulfil(route: Any) -> None:
        sent.append(json.loads(route.request.post_data))
        sent[-1]["_token"] = route.request.headers.get("x-access-token")
        await route.fulfill(status=200, headers={"Content-Type": "text/event-stream"}, body=CANNED)

    await page.route("**/api/ai/personal-stream/qanda-stream", fulfil)
    await open_app(page, web_server, route="qanda")
    await page.fill("#qa-institution", "inst-demo")
    await page.dispatch_event("#qa-institution", "change")
    await page.fill("#qa-assistant", "astro-helper")
    await page.fill("#qa-course", "101")
    await page.uncheck("#qa-rag-only")
    await page.select_option("#qa-timezone", "Europe/Lisbon")
    await page.fill("#qa-input", "When do lunar eclipses happen?")
    await page.click("#qa-send")
    answer = page.locator("#qa-log .msg-assistant[aria-busy=false]")
    await answer.wait_for()

    [body] = sent
    assert body["inputs"] == ["When do lunar eclipses happen?"]
    assert body["requestArgs"] == {
        "institutionPublicId": "inst-demo",
        "assistantId": "astro-helper",
        "ragOnly": False,
        "userTimezone": "Europe/Lisbon",
        "selectedCourse": {"course_id": 101},
    }
    assert body["_token"]  # dev sign-in minted an institution token for inst-demo

    assert "Searching course materials…" in await answer.locator(".tool-call").inner_text()
    assert "2 sources found" in await answer.locator(".tool-call").inner_text()
    sources = answer.locator(".sources li")
    assert await sources.count() == 2
    assert "cited" in (await sources.nth(0).get_attribute("class") or "")
    # [1] matches a source and becomes a button; [7] matches none and stays text.
    citations = answer.locator("button.citation")
    assert await citations.count() == 1
    assert "See also [7]." in await answer.locator(".reply-text").inner_text()
    assert "321 tokens" in await answer.locator(".qa-meta").inner_text()
    await citations.first.click()
    dialog = page.locator("#source-dialog")
    await dialog.wait_for(state="visible")
    assert "Earth's shadow" in await page.locator("#source-snippet").inner_text()
    assert "page 2" in await page.locator("#source-meta").inner_text()
    await screenshot(page, "qanda-citation-dialog")
    assert page.errors == []


async def test_stream_error_and_http_errors_are_shown(page: Any, web_server: str) -> None:
    replies = [
        {
            "status": 200,
            "headers": {"Content-Type": "text/event-stream"},
            "body": sse(
                {"type": "connected"},
                {"type": "error", "error": "Model provider failed", "message": "emu (emu-529)"},
                {"type": "done"},
            ),
        },
        {
            "status": 403,
            "headers": {"Content-Type": "application/json"},
            "body": json.dumps(
                {
                    "success": False,
                    "error": "Forbidden",
                    "message": "Token is not for this institution",
                }
            ),
        },
    ]

    async def fulfil(route: Any) -> None:
        await route.fulfill(**replies.pop(0))

    await page.route("**/api/ai/personal-stream/qanda-stream", fulfil)
    await open_app(page, web_server, route="qanda")
    for question in ("First?", "Second?"):
        await page.fill("#qa-input", question)
        await page.click("#qa-send")
        await page.wait_for_function(
            "(n) => document.querySelectorAll('#qa-log .msg-assistant[aria-busy=false]')"
            ".length >= n",
            arg=1 if question == "First?" else 2,
        )
    cards = page.locator("#qa-log .error-card")
    assert await cards.count() == 2
    assert "Model provider failed" in await cards.nth(0).inner_text()
    assert "Token is not for this institution" in await cards.nth(1).inner_text()


def foreign_token(**claims: Any) -> str:
    """A token signed with some other server's secret."""
    import time

    import jwt

    now = int(time.time())
    payload = {"sub": "dev-user", "iat": now, "exp": now + 3600, **claims}
    return jwt.encode(payload, "another-servers-secret-0123456789abcdef", algorithm="HS256")


async def test_tokens_from_another_server_are_replaced_on_a_dev_server(
    page: Any, web_server: str
) -> None:
    stale_org = foreign_token(kind="org", org="dev-org", role="admin")
    stale_institution = foreign_token(kind="institution", institution="inst-x")
    await page.add_init_script(
        "localStorage.setItem('promptsmith.orgToken', "
        + json.dumps(stale_org)
        + "); localStorage.setItem('promptsmith.institutionTokens', "
        + json.dumps(json.dumps({"inst-x": stale_institution}))
        + "); localStorage.setItem('promptsmith.qanda', "
        + json.dumps(json.dumps({"institution": "inst-x", "assistant": "a", "course": "1"}))
        + ");"
    )
    await open_app(page, web_server, route="qanda", sign_in=False)
    await page.wait_for_function(
        "(stale) => localStorage.getItem('promptsmith.orgToken') !== stale", arg=stale_org
    )
    assert (await page.locator("#token-state").inner_text()).startswith("Signed in: dev-user")

    # The stale institution token gets a 401; the page mints a new one and asks again:
    # the server now checks the request itself (no such assistant here: 404).
    await page.fill("#qa-input", "Anything?")
    await page.click("#qa-send")
    card = page.locator("#qa-log .msg-assistant[aria-busy=false] .error-card")
    await card.wait_for()
    text = await card.inner_text()
    assert "Unauthorized" not in text
    assert "Not Found" in text
    fresh = await page.evaluate(
        "() => JSON.parse(localStorage.getItem('promptsmith.institutionTokens'))['inst-x']"
    )
    assert fresh != stale_institution
