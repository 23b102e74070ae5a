"""An assistant turn end to end: the real server routes it to draft mode, the emulator
streams the model's reply and its <draft>, and the page shows draft-ready as a diff that
Accept puts into the editor."""

from __future__ import annotations

from typing import Any

import pytest

from promptsmith.emulator.testing import Emulator

from .browser import MODEL, open_app, screenshot

pytestmark = pytest.mark.browser

NEW_RULE = "<rule>Greet @lead.firstName by name at the start of every reply.</rule>"
REPLY = "Added a rule so every reply opens by greeting the lead by name."


def drafted(current: str) -> str:
    return current.replace(
        "    <rule>Never promise discounts.</rule>\n",
        f"    <rule>Never promise discounts.</rule>\n    {NEW_RULE}\n",
    )


async def test_assistant_turn_ends_in_draft_ready_then_accept(
    page: Any, web_server: str, emulator: Emulator
) -> None:
    await open_app(page, web_server)
    current = await page.input_value("#prompt-editor")
    draft = drafted(current)
    assert draft != current
    answer = f"{REPLY}\n<draft>\n{draft}\n</draft>\n"
    # Streamed in small pieces, so the <draft> delimiter is split across chunks.
    chunks = [answer[i : i + 7] for i in range(0, len(answer), 7)]
    await emulator.control.queue(MODEL, {"chunks": chunks})

    await page.fill("#assistant-input", "Add a rule to greet the lead by first name.")
    await page.click("#assistant-send")
    turn = page.locator("#assistant-log .msg-assistant.finished")
    await turn.wait_for()
    assert await turn.locator(".mode-badge").text_content() == "Draft"
    assert await turn.locator(".status-trail li").count() >= 2
    reply = await turn.locator(".reply-text").inner_text()
    assert reply.strip() == REPLY  # the draft itself never leaks into the reply
    card = turn.locator(".draft-card")
    added = await card.locator(".diff-add .diff-text").all_inner_texts()
    assert [line.strip() for line in added] == [NEW_RULE]
    assert await card.locator(".diff-del").count() == 0
    assert await page.input_value("#prompt-editor") == current
    await screenshot(page, "assistant-draft-ready")

    await card.get_by_role("button", name="Accept").click()
    accepted = await page.input_value("#prompt-editor")
    assert NEW_RULE in accepted
    assert accepted.strip() == draft.strip()
    assert "Accepted" in await card.locator(".draft-status").inner_text()
    request = await emulator.control.last_request(model=MODEL)
    assert "Never promise discounts." in str(request["body"])  # the current prompt went up
    assert page.errors == []
