"""The prompt studio in headless Chromium: Generate, Rewrite selection, the assistant."""

from __future__ import annotations

from typing import Any

import pytest

from promptsmith.emulator.testing import Emulator

from .browser import MODEL, open_app, screenshot

pytestmark = pytest.mark.browser

GENERATED = """<prompt>
  <role>You are a concierge for Harbor Flats, a residential building.</role>
  <goal>Answer @lead.firstName's questions about amenities and book tours.</goal>
  <rules>
    <rule>Confirm every tour time in the resident's words.</rule>
  </rules>
  <output_format>Short, friendly sentences.</output_format>
</prompt>"""


def all_text(request: dict[str, Any]) -> str:
    import json

    return json.dumps(request["body"])


async def test_generate_fills_the_editor(page: Any, web_server: str, emulator: Emulator) -> None:
    await emulator.control.queue(MODEL, {"text": GENERATED})
    await open_app(page, web_server)
    await page.fill("#generate-instruction", "A concierge for Harbor Flats that books tours")
    await page.click("#generate-button")
    await page.wait_for_selector("#studio-notice .ok-card")
    value = await page.input_value("#prompt-editor")
    assert "Harbor Flats" in value
    assert value.startswith("<prompt>")
    # Syntax colouring: the overlay shows the new text, tags and variables marked.
    overlay = page.locator("#editor-highlight")
    assert "Harbor Flats" in await overlay.inner_text()
    assert await overlay.locator(".x-tag", has_text="<role").count() == 1
    assert await overlay.locator(".x-var", has_text="@lead.firstName").count() == 1
    request = await emulator.control.last_request(model=MODEL)
    assert "books tours" in all_text(request)
    await screenshot(page, "studio-generate")
    assert page.errors == []


async def test_rewrite_selection_previews_then_applies(
    page: Any, web_server: str, emulator: Emulator
) -> None:
    await emulator.control.queue(MODEL, {"text": "Never offer discounts, deals or waived fees."})
    await open_app(page, web_server)
    before = await page.input_value("#prompt-editor")
    target = "Never promise discounts."
    assert target in before
    start = before.index(target)
    await page.eval_on_selector(
        "#prompt-editor",
        "(el, [s, e]) => { el.focus(); el.setSelectionRange(s, e);"
        " el.dispatchEvent(new Event('select')); }",
        [start, start + len(target)],
    )
    await page.wait_for_selector("#rewrite-form:not([hidden])")
    await page.fill("#rewrite-instruction", "cover deals and fees too")
    await page.click("#rewrite-button")
    preview = page.locator("#rewrite-preview")
    await preview.wait_for(state="visible")
    # The change is shown inline before anything is applied.
    inserted = " ".join(await preview.locator("ins").all_inner_texts())
    removed = " ".join(await preview.locator("del").all_inner_texts())
    assert "fees" in inserted
    assert "promise" in removed
    assert await page.input_value("#prompt-editor") == before
    await screenshot(page, "studio-rewrite-preview")
    await page.click("#rewrite-apply")
    after = await page.input_value("#prompt-editor")
    assert after == before.replace(target, "Never offer discounts, deals or waived fees.")
    request = await emulator.control.last_request(model=MODEL)
    assert "cover deals and fees too" in all_text(request)
    assert page.errors == []


async def test_assistant_chat_turn_streams_mode_status_and_reasoning(
    page: Any, web_server: str, emulator: Emulator
) -> None:
    await emulator.control.queue(
        MODEL,
        {
            "reasoning": "The user asks what the rules section does.",
            "chunks": ["The rules ", "section lists ", "what the agent must always do."],
        },
    )
    await open_app(page, web_server)
    await page.fill("#assistant-input", "What does the rules section of this prompt do?")
    await page.click("#assistant-send")
    turn = page.locator("#assistant-log .msg-assistant")
    await turn.and_(page.locator(".finished")).wait_for()
    assert await turn.locator(".mode-badge").text_content() == "Chat"
    assert "what the agent must always do." in await turn.locator(".reply-text").inner_text()
    reasoning = turn.locator("details.reasoning")
    assert await reasoning.is_visible()
    assert await reasoning.get_attribute("open") is None  # collapsed until asked
    await reasoning.locator("summary").click()
    assert "what the rules section does" in await reasoning.locator("pre").inner_text()
    assert await turn.locator(".status-label").inner_text() == "Done"
    await screenshot(page, "studio-assistant-chat")
    assert page.errors == []


async def test_assistant_without_a_configured_provider_shows_a_setup_card(
    page: Any, make_settings: Any
) -> None:
    from promptsmith.app import create_app
    from promptsmith.testing import LiveServer

    settings = make_settings(default_provider="anthropic", default_model="claude-sonnet-4-6")
    with LiveServer(create_app(settings)) as server:
        await open_app(page, server.url)
        await page.fill("#assistant-input", "What does this prompt do?")
        await page.click("#assistant-send")
        card = page.locator("#assistant-log .setup-card")
        await card.wait_for()
        text = await card.inner_text()
        assert "AI provider setup required" in text
        assert "anthropic" in text
        assert "ANTHROPIC_API_KEY" in text
        await screenshot(page, "studio-setup-required")
        # The JSON endpoints answer 503 ai_setup_required: the same card, under Generate.
        await page.fill("#generate-instruction", "A short prompt")
        await page.click("#generate-button")
        generate_card = page.locator("#studio-notice .setup-card")
        await generate_card.wait_for()
        assert "ANTHROPIC_API_KEY" in await generate_card.inner_text()
        assert page.errors == []


async def test_pasted_token_when_dev_sign_in_is_off(
    page: Any, make_settings: Any, emulator: Emulator
) -> None:
    from promptsmith.app import create_app
    from promptsmith.services import Services
    from promptsmith.testing import LiveServer

    settings = make_settings(
        jwt_secret="a-configured-production-secret-0123456789",
        default_provider="anthropic",
        default_model=MODEL,
        anthropic_api_key="sk-test-emulator-key-0123456789",
        anthropic_base_url=emulator.anthropic_base_url,
    )
    services = Services.build(settings)
    token = services.verifier.mint(user="ada", org="acme")
    await emulator.control.queue(MODEL, {"text": GENERATED})
    with LiveServer(create_app(settings, services)) as server:
        await open_app(page, server.url, sign_in=False)
        assert await page.locator("#dev-sign-in").is_hidden()
        assert await page.locator("#token-state").inner_text() == "Not signed in"
        await page.click("#token-details summary")
        await page.fill("#org-token", token)
        await page.click("#token-form button[type=submit]")
        assert await page.locator("#token-state").inner_text() == "Signed in: ada · org acme"
        await page.fill("#generate-instruction", "A concierge prompt")
        await page.click("#generate-button")
        await page.wait_for_selector("#studio-notice .ok-card")
        assert "Harbor Flats" in await page.input_value("#prompt-editor")
        # The token survives a reload (kept in this browser's localStorage).
        await page.reload()
        await page.wait_for_selector("body[data-ready=true]")
        assert await page.locator("#token-state").inner_text() == "Signed in: ada · org acme"
        assert page.errors == []
