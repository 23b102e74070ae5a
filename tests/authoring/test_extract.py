import pytest

from promptsmith.authoring.xml import extract_prompt

PROMPT = "<prompt>\n  <role>Agent</role>\n</prompt>"


@pytest.mark.parametrize(
    "output",
    [
        PROMPT,
        f"```xml\n{PROMPT}\n```",
        f"```\n{PROMPT}\n```",
        f"~~~xml\n{PROMPT}\n~~~",
        f"Here is your prompt:\n\n{PROMPT}\n\nLet me know if you want changes!",
        f"Sure! Here's the updated prompt:\n```xml\n{PROMPT}\n```\nI tightened the role.",
        f"I'll wrap everything in a <prompt> element as requested.\n```xml\n{PROMPT}\n```",
        f"<thinking>The user wants <prompt> tags.</thinking>\n{PROMPT}",
        f"\ufeff{PROMPT}",
    ],
)
def test_extracts_the_prompt(output: str) -> None:
    assert extract_prompt(output) == PROMPT


def test_never_returns_fences_for_an_unclosed_prompt() -> None:
    got = extract_prompt("```xml\n<prompt>\n  <role>Agent</role>\n```\nDone.")
    assert got == "<prompt>\n  <role>Agent</role>"


def test_prefers_the_well_formed_candidate() -> None:
    output = "Draft 1: <prompt><role>x</goal></prompt>\nFinal: <prompt><role>y</role></prompt>"
    assert extract_prompt(output) == "<prompt><role>y</role></prompt>"


def test_nested_prompt_tags_are_balanced() -> None:
    doc = "<prompt><examples><prompt>inner</prompt></examples></prompt>"
    assert extract_prompt(f"Text {doc} more") == doc


def test_self_closing_prompt() -> None:
    assert extract_prompt("Here: <prompt/> ok") == "<prompt/>"


def test_without_prompt_root_strips_fences_and_prose() -> None:
    assert extract_prompt("```xml\n<role>A</role>\n```") == "<role>A</role>"
    output = "Here it is:\n<role>A</role>\n<goal>B</goal>\n\nHope this helps!"
    assert extract_prompt(output) == "<role>A</role>\n<goal>B</goal>"


def test_plain_text_is_left_alone() -> None:
    assert extract_prompt("  just some words  ") == "just some words"
