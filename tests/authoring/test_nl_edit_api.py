"""POST /api/ai/nl-edit through the app, with the scripted provider."""

from __future__ import annotations

import pytest

from promptsmith.authoring.xml import is_well_formed
from promptsmith.providers.scripted import ScriptedProvider

from .endpoint_helpers import NL_EDIT, XML_BOMBS, Post, between, user_text

FULL = """<prompt>
  <role>Leasing assistant for Maple Court.</role>
  <goal>Reply promptly to all leads.</goal>
  <rules>
    <rule>Greet @firstName by name.</rule>
    <rule>Be brief.</rule>
  </rules>
</prompt>"""
SELECTED = "Reply promptly to all leads."
BETTER = "Reply to every lead within 5 minutes during business hours."


async def edit(post: Post, status: int = 200, **body: object) -> dict[str, object]:
    request = {
        "selectedText": SELECTED,
        "instruction": "Mention a 5 minute SLA",
        "fullPrompt": FULL,
        **body,
    }
    response = await post(NL_EDIT, request)
    assert response.status_code == status, response.text
    payload: dict[str, object] = response.json()
    return payload


def spliced(payload: dict[str, object], selected: str = SELECTED) -> str:
    rewritten = payload["rewrittenText"]
    assert isinstance(rewritten, str)
    return FULL.replace(selected, rewritten)


async def test_selection_not_in_full_prompt_is_a_400(
    post: Post, scripted: ScriptedProvider
) -> None:
    payload = await edit(post, 400, selectedText="Reply slowly to some leads.")
    assert payload["success"] is False
    assert "selectedText was not found in fullPrompt" in str(payload["error"])
    assert payload["message"]
    assert scripted.requests == []


@pytest.mark.parametrize(
    "answer",
    [
        BETTER,
        f'"{BETTER}"',
        f"Here is the rewritten text:\n\n{BETTER}",
        f"```\n{BETTER}\n```",
        f"Sure! Here's the revised goal:\n```text\n“{BETTER}”\n```\nLet me know if that works.",
        f"<goal>{BETTER}</goal>",
    ],
    ids=["plain", "quoted", "here-is", "fenced", "layers", "echoed-element"],
)
async def test_the_answer_is_cleaned_to_the_replacement(
    post: Post, scripted: ScriptedProvider, answer: str
) -> None:
    scripted._replies = [answer]
    payload = await edit(post)
    assert payload["rewrittenText"] == BETTER
    assert is_well_formed(spliced(payload))
    assert len(scripted.requests) == 1


async def test_the_model_sees_the_prompt_the_location_and_the_context(
    post: Post, scripted: ScriptedProvider
) -> None:
    scripted._replies = [BETTER]
    await edit(post, context="goal section", assistedMode=True, variableContext={"firstName": "A"})
    request = scripted.requests[0]
    sent = user_text(request)
    assert between(sent, "full_prompt") == FULL
    assert between(sent, "selected_text") == SELECTED
    location = between(sent, "selection_location")
    assert "prompt/goal" in location and "plain text" in location and "goal section" in location
    assert "@firstName" in between(sent, "available_variables")
    assert "prompt editor" in request.system_text


async def test_tags_in_a_plain_text_rewrite_are_reasked(
    post: Post, scripted: ScriptedProvider
) -> None:
    scripted._replies = [f"<b>{BETTER}</b>", BETTER]
    payload = await edit(post)
    assert payload["rewrittenText"] == BETTER
    assert len(scripted.requests) == 2
    problem = between(user_text(scripted.requests[1]), "problem")
    assert "plain text" in problem and "<b>" in problem


async def test_tags_twice_are_dropped(post: Post, scripted: ScriptedProvider) -> None:
    scripted._replies = [f"<b>{BETTER}</b>"]
    payload = await edit(post)
    assert payload["rewrittenText"] == BETTER
    assert is_well_formed(spliced(payload))
    assert any("tags" in w for w in payload["warnings"])  # type: ignore[attr-defined]


async def test_bare_ampersand_is_escaped_for_the_splice(
    post: Post, scripted: ScriptedProvider
) -> None:
    scripted._replies = ["Reply to leads & owners within 5 minutes."]
    payload = await edit(post)
    assert payload["rewrittenText"] == "Reply to leads &amp; owners within 5 minutes."
    assert is_well_formed(spliced(payload))


async def test_invented_variable_is_reasked_then_replaced(
    post: Post, scripted: ScriptedProvider
) -> None:
    scripted._replies = ["Reply to @leadName within 5 minutes."]
    payload = await edit(post, variableContext={"firstName": "Alex"})
    text = str(payload["rewrittenText"])
    assert "@leadName" not in text and "the lead's name" in text
    assert len(scripted.requests) == 2
    assert "@leadName" in between(user_text(scripted.requests[1]), "problem")
    assert any("@leadName" in w for w in payload["warnings"])  # type: ignore[attr-defined]


async def test_declared_variables_pass(post: Post, scripted: ScriptedProvider) -> None:
    scripted._replies = ["Reply to @firstName within 5 minutes."]
    payload = await edit(post, variableContext={"firstName": "Alex"})
    assert payload["rewrittenText"] == "Reply to @firstName within 5 minutes."
    assert len(scripted.requests) == 1


RULES = "<rule>Greet @firstName by name.</rule>\n    <rule>Be brief.</rule>"


async def test_damaged_markup_rewrite_is_repaired_for_the_splice(
    post: Post, scripted: ScriptedProvider
) -> None:
    scripted._replies = ["<rule>Greet @firstName by name.</rule>\n    <rule>Keep it short.</rul>"]
    payload = await edit(post, selectedText=RULES, instruction="Be specific about length")
    fixed = "<rule>Greet @firstName by name.</rule>\n    <rule>Keep it short.</rule>"
    assert payload["rewrittenText"] == fixed
    assert is_well_formed(spliced(payload, RULES))
    assert payload["warnings"] and len(scripted.requests) == 1


async def test_a_splice_that_breaks_the_xml_is_reasked(
    post: Post, scripted: ScriptedProvider
) -> None:
    selected = "Be brief.</rule>"  # the selection ends with a closing tag ...
    scripted._replies = ["Keep replies under 300 characters.", "Keep it short.</rule>"]
    payload = await edit(post, selectedText=selected, instruction="Be specific")
    assert payload["rewrittenText"] == "Keep it short.</rule>"
    assert is_well_formed(spliced(payload, selected))
    assert "breaks the XML" in between(user_text(scripted.requests[1]), "problem")


async def test_a_splice_broken_twice_is_a_502(post: Post, scripted: ScriptedProvider) -> None:
    scripted._replies = ["Keep replies under 300 characters."]
    payload = await edit(post, 502, selectedText="Be brief.</rule>", instruction="Be specific")
    assert payload["success"] is False and "breaks the XML" in str(payload["message"])


async def test_whole_prompt_returned_is_cut_to_the_selection(
    post: Post, scripted: ScriptedProvider
) -> None:
    scripted._replies = [FULL.replace(SELECTED, BETTER)]
    payload = await edit(post)
    assert payload["rewrittenText"] == BETTER


async def test_without_full_prompt_the_selection_is_rewritten_alone(
    post: Post, scripted: ScriptedProvider
) -> None:
    scripted._replies = ["<rule>Always be brief.</rule>"]
    response = await post(
        NL_EDIT, {"selectedText": "<rule>Keep it short maybe.</rule>", "instruction": "Tighten"}
    )
    assert response.status_code == 200
    assert response.json()["rewrittenText"] == "<rule>Always be brief.</rule>"


@pytest.mark.parametrize("bomb", list(XML_BOMBS))
async def test_xml_bombs_in_full_prompt_are_a_400(
    post: Post, scripted: ScriptedProvider, bomb: str
) -> None:
    payload = await edit(post, 400, fullPrompt=XML_BOMBS[bomb], selectedText="lol")
    assert payload["success"] is False
    assert payload["error"] == "fullPrompt is not acceptable XML"
    assert scripted.requests == []
    scripted._replies = [BETTER]
    assert (await edit(post))["rewrittenText"] == BETTER
