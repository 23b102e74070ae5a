"""Live lint end to end: the page lints the editor through the real prompt-lint endpoint
as you type, and declaring the variable in the panel clears the diagnostic."""

from __future__ import annotations

from typing import Any

import pytest

from .browser import open_app, screenshot

pytestmark = pytest.mark.browser


async def test_live_lint_follows_the_editor_and_the_variables(page: Any, web_server: str) -> None:
    await open_app(page, web_server)
    await page.wait_for_function(
        "() => document.getElementById('lint-state').textContent === '(no issues)'"
    )
    text = await page.input_value("#prompt-editor")
    await page.fill("#prompt-editor", text.replace("@lead.firstName", "@lead.phone"))
    undeclared = page.locator("#diagnostics li", has_text="@lead.phone")
    await undeclared.wait_for()
    assert "error" in await undeclared.text_content()
    assert "line 3:14" in await undeclared.inner_text()
    assert await page.locator("#editor-gutter .sev-error").inner_text() == "3"
    assert "not in variableContext" in (
        await page.locator("#variables-in-use code", has_text="@lead.phone").get_attribute("title")
        or ""
    )
    await screenshot(page, "studio-live-lint")

    # Declaring lead.phone in the variables panel clears the error.
    await page.fill("#variables-body tr:first-child input[data-field=name]", "phone")
    await undeclared.wait_for(state="detached")
    assert await page.locator("#editor-gutter .sev-error").count() == 0
    assert page.errors == []
