"""Studio rendering pinned down with canned responses in the browser (Playwright routing):
the draft-ready card (diff, summary, warnings, Accept / Reject), lint diagnostics in the
list and the gutter, and what the page sends. The end-to-end turns against the real
server and the emulator are in test_browser_studio.py."""

from __future__ import annotations

import json
from typing import Any

import pytest

from promptsmith.emulator.testing import Emulator

from .browser import MODEL, open_app, screenshot

pytestmark = pytest.mark.browser

DRAFT = """<prompt>
  <role>You are a friendly leasing assistant for @companyName.</role>
  <goal>Help @lead.firstName book an apartment tour.</goal>
  <rules>
    <rule>Always confirm the tour date and time.</rule>
    <rule>Never promise discounts.</rule>
    <rule>Greet @lead.firstName by name.</rule>
  </rules>
  <output_format>Two or three short sentences.</output_format>
</prompt>"""


def ndjson(*events: dict[str, Any]) -> str:
    return "".join(json.dumps(event) + "\n" for event in events)


def draft_turn() -> str:
    return ndjson(
        {"type": "mode", "mode": "draft"},
        {"type": "status", "label": "Reading your prompt"},
        {"type": "status", "label": "Drafting changes"},
        {"type": "assistant-delta", "delta": "Added a rule to greet the lead by name."},
        {"type": "status", "label": "Checking the draft"},
        {
            "type": "draft-ready",
            "prompt": DRAFT,
            "section": "rules",
            "summary": "Added a greeting rule to <rules>.",
            "warnings": ["Replaced @lead.nickname (not a declared variable) with plain words."],
            "diagnostics": [
                {
                    "code": "PS301",
                    "severity": "info",
                    "message": "The prompt has no examples.",
                    "location": {"line": 1, "column": 1, "path": "prompt"},
                }
            ],
        },
        {"type": "done"},
    )


async def route_assistant(page: Any, body: str) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def fulfil(route: Any) -> None:
        sent.append(json.loads(route.request.post_data))
        await route.fulfill(status=200, headers={"Content-Type": "application/x-ndjson"}, body=body)

    await page.route("**/api/ai/prompt-assistant/stream", fulfil)
    return sent


@pytest.mark.parametrize("choice", ["Accept", "Reject"])
async def test_draft_ready_card(page: Any, web_server: str, choice: str) -> None:
    sent = await route_assistant(page, draft_turn())
    await open_app(page, web_server)
    before = await page.input_value("#prompt-editor")
    await page.fill("#assistant-input", "Greet the lead by first name")
    await page.click("#assistant-send")
    card = page.locator("#assistant-log .draft-card")
    turn = page.locator("#assistant-log .msg-assistant.finished")
    await turn.wait_for()
    assert await turn.locator(".mode-badge").text_content() == "Draft"
    assert await turn.locator(".status-trail li").all_inner_texts() == [
        "Reading your prompt",
        "Drafting changes",
        "Checking the draft",
    ]
    assert "section <rules>" in await card.locator("h3").inner_text()
    assert "+1 −0" in await card.locator("h3").inner_text()
    added = await card.locator(".diff-add .diff-text").all_inner_texts()
    assert added == ["    <rule>Greet @lead.firstName by name.</rule>"]
    assert "greeting rule" in await card.locator(".summary").inner_text()
    assert "@lead.nickname" in await card.locator(".warnings").inner_text()
    assert "no examples" in await card.locator(".diagnostic-list").inner_text()
    assert await page.input_value("#prompt-editor") == before  # nothing applied yet
    [body] = sent
    assert body["instruction"] == "Greet the lead by first name"
    assert body["currentPrompt"] == before
    assert body["conversationHistory"] == []
    assert body["assistedMode"] is True
    assert body["variableContext"] == {"lead": {"firstName": "Ana"}, "companyName": "Acme Living"}
    await screenshot(page, f"studio-draft-ready-{choice.lower()}")
    await card.get_by_role("button", name=choice).click()
    after = await page.input_value("#prompt-editor")
    assert after == (DRAFT if choice == "Accept" else before)
    assert await card.get_by_role("button", name="Accept").is_disabled()
    assert page.errors == []


async def test_the_next_turn_carries_the_conversation(page: Any, web_server: str) -> None:
    sent = await route_assistant(
        page,
        ndjson(
            {"type": "mode", "mode": "chat"},
            {"type": "assistant-delta", "delta": "It books tours."},
            {"type": "done"},
        ),
    )
    await open_app(page, web_server)
    for turns, question in enumerate(("What does it do?", "And the rules?"), start=1):
        await page.fill("#assistant-input", question)
        await page.click("#assistant-send")
        await page.wait_for_function(
            "(n) => document.querySelectorAll('#assistant-log .msg-assistant.finished')"
            ".length >= n",
            arg=turns,
        )
    assert len(sent) == 2
    assert sent[1]["conversationHistory"] == [
        {"role": "user", "content": "What does it do?"},
        {"role": "assistant", "content": "It books tours."},
    ]


async def test_setup_and_error_events(page: Any, web_server: str) -> None:
    await route_assistant(
        page,
        ndjson(
            {"type": "mode", "mode": "chat"},
            {
                "type": "ai-setup-required",
                "code": "missing_api_key",
                "provider": "openai",
                "reason": "no key",
                "message": "Set OPENAI_API_KEY",
            },
            {"type": "error", "error": "Model provider failed", "message": "boom"},
            {"type": "done"},
        ),
    )
    await open_app(page, web_server)
    await page.fill("#assistant-input", "Hello?")
    await page.click("#assistant-send")
    await page.locator("#assistant-log .error-card").wait_for()
    assert "OPENAI_API_KEY" in await page.locator("#assistant-log .setup-card").inner_text()
    assert "boom" in await page.locator("#assistant-log .error-card").inner_text()


async def test_lint_diagnostics_in_the_list_and_the_gutter(page: Any, web_server: str) -> None:
    requests: list[dict[str, Any]] = []

    async def fulfil(route: Any) -> None:
        requests.append(json.loads(route.request.post_data))
        diagnostics = [
            {
                "code": "PS201",
                "severity": "error",
                "message": "@lead.phone is not a declared variable",
                "location": {"line": 3, "column": 14, "path": "prompt/goal"},
            },
            {
                "code": "PS105",
                "severity": "warning",
                "message": "'always' and 'never' rules contradict",
                "location": {"line": 5, "column": 5, "path": "prompt/rules/rule[1]"},
            },
        ]
        await route.fulfill(
            status=200,
            headers={"Content-Type": "application/json"},
            body=json.dumps({"success": True, "diagnostics": diagnostics}),
        )

    await page.route("**/api/ai/prompt-lint", fulfil)
    await open_app(page, web_server)
    items = page.locator("#diagnostics li")
    await items.nth(1).wait_for()
    assert "@lead.phone" in await items.nth(0).inner_text()
    assert "line 3:14" in await items.nth(0).inner_text()
    assert await page.locator("#editor-gutter .sev-error").inner_text() == "3"
    assert await page.locator("#editor-gutter .sev-warning").inner_text() == "5"
    assert "(2 issues)" in await page.locator("#lint-state").inner_text()
    assert requests[-1]["prompt"] == await page.input_value("#prompt-editor")
    assert requests[-1]["variableContext"] == {
        "lead": {"firstName": "Ana"},
        "companyName": "Acme Living",
    }
    # Clicking a diagnostic puts the caret on its line.
    await items.nth(0).locator("button").click()
    caret = await page.eval_on_selector("#prompt-editor", "el => el.selectionStart")
    text = await page.input_value("#prompt-editor")
    assert text[:caret].count("\n") == 2
    await screenshot(page, "studio-lint")


async def test_variables_and_model_override_reach_the_server(
    page: Any, web_server: str, emulator: Emulator
) -> None:
    other = "emu-web-override"
    await emulator.control.queue(other, {"text": "<prompt><role>R</role></prompt>"})
    sent: list[dict[str, Any]] = []
    page.on(
        "request",
        lambda request: (
            sent.append(json.loads(request.post_data))
            if request.url.endswith("/api/ai/nl-create")
            else None
        ),
    )
    await open_app(page, web_server)
    await page.click("#add-variable")
    await page.fill("#variables-body tr:last-child input[data-field=group]", "unit")
    await page.fill("#variables-body tr:last-child input[data-field=name]", "number")
    await page.fill("#variables-body tr:last-child input[data-field=value]", "4B")
    await page.uncheck("#assisted-mode")
    await page.select_option("#provider-select", "anthropic")
    await page.fill("#model-input", other)
    await page.fill("#generate-instruction", "A short prompt")
    await page.click("#generate-button")
    await page.wait_for_selector("#studio-notice .card")
    [body] = sent
    assert body["variableContext"] == {
        "lead": {"firstName": "Ana"},
        "companyName": "Acme Living",
        "unit": {"number": "4B"},
    }
    assert body["assistedMode"] is False
    assert body["modelOverride"] == {"provider": "anthropic", "model": other}
    assert await emulator.control.requests(model=other)  # the pinned model was called
    assert await emulator.control.requests(model=MODEL) == []


async def test_the_colouring_overlay_follows_the_editor_when_it_scrolls(
    page: Any, web_server: str
) -> None:
    await open_app(page, web_server)
    rules = "\n".join(f"    <rule>Rule {i}: " + "word " * 60 + "</rule>" for i in range(200))
    await page.fill("#prompt-editor", f"<prompt>\n  <rules>\n{rules}\n  </rules>\n</prompt>")
    assert await page.locator("#rewrite-form").is_hidden()  # typing leaves no selection
    await page.eval_on_selector(
        "#prompt-editor",
        "el => { el.scrollTop = 1e6; el.scrollLeft = 1e6; el.dispatchEvent(new Event('scroll')); }",
    )
    offsets = await page.evaluate(
        """() => ['prompt-editor', 'editor-highlight', 'editor-gutter'].map((id) => {
            const el = document.getElementById(id);
            return [el.scrollTop, el.scrollLeft, el.scrollHeight];
        })"""
    )
    (editor_top, editor_left, editor_height), (top, left, height), (gutter_top, _, _) = offsets
    assert editor_top > 0 and editor_left > 0
    assert (top, left, height) == (editor_top, editor_left, editor_height)
    assert gutter_top == editor_top
    assert await page.locator("#editor-gutter .gutter-line").count() == 204
