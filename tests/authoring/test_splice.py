import pytest

from promptsmith.authoring.splice import (
    SelectionError,
    check_rewrite,
    clean_rewrite,
    locate_selection,
)
from promptsmith.authoring.variables import VariableContract, parse_variable_context

FULL = """<prompt>
  <role>Leasing assistant</role>
  <goal>Reply promptly to all leads.</goal>
  <rules>
    <rule>Be kind.</rule>
    <rule>Be brief.</rule>
  </rules>
</prompt>
"""


def variables() -> VariableContract:
    contract = parse_variable_context({"firstName": "Alex", "lead": {"phone": "555"}})
    assert contract is not None
    return contract


# --- locating -----------------------------------------------------------------------------------


def test_exact_selection() -> None:
    selection = locate_selection(FULL, "Reply promptly to all leads.")
    assert selection.text == "Reply promptly to all leads."
    assert selection.path == "prompt/goal"
    assert selection.element == "goal"
    assert selection.kind == "text"
    assert selection.match == "exact"
    assert selection.well_formed
    assert "plain text inside <goal>" in selection.describe()


def test_crlf_and_rewrapped_selection() -> None:
    crlf = FULL.replace("\n", "\r\n")
    selection = locate_selection(crlf, "<rule>Be kind.</rule>\n    <rule>Be brief.</rule>")
    assert selection.match == "whitespace"
    assert selection.text == "<rule>Be kind.</rule>\r\n    <rule>Be brief.</rule>"
    assert selection.kind == "markup"
    assert selection.path == "prompt/rules"


def test_escaped_selection() -> None:
    full = "<prompt><goal>Answer Q&amp;A fast.</goal></prompt>"
    selection = locate_selection(full, "Answer Q&A fast.")
    assert selection.match == "escaped"
    assert selection.text == "Answer Q&amp;A fast."


def test_context_disambiguates() -> None:
    full = "<prompt><role>Be kind.</role><rules><rule>Be kind.</rule></rules></prompt>"
    assert locate_selection(full, "Be kind.").path == "prompt/role"
    assert locate_selection(full, "Be kind.", context="the rule list").path == "prompt/rules/rule"


@pytest.mark.parametrize("selected", ["Not in the prompt", "", "   "])
def test_selection_errors(selected: str) -> None:
    with pytest.raises(SelectionError) as caught:
        locate_selection(FULL, selected)
    assert caught.value.status_code == 400
    assert "selectedText" in caught.value.message


def test_partial_tag_selection_is_markup() -> None:
    selection = locate_selection(FULL, "kind.</rule>")
    assert selection.kind == "markup"


def test_without_full_prompt() -> None:
    selection = locate_selection(None, "Reply promptly.")
    assert selection.match == "standalone"
    assert selection.path is None
    result = check_rewrite(selection, "Reply in 5 minutes.")
    assert result.status == "ok"
    assert result.full_prompt is None


# --- cleaning -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        "Reply within 5 minutes.",
        '"Reply within 5 minutes."',
        "“Reply within 5 minutes.”",
        "```\nReply within 5 minutes.\n```",
        "```text\nReply within 5 minutes.\n```",
        "Here is the rewritten text:\nReply within 5 minutes.",
        "Sure! Here's the revised version:\n\n```\nReply within 5 minutes.\n```",
        "Rewritten: Reply within 5 minutes.",
        "<rewrite>Reply within 5 minutes.</rewrite>",
        "Reply within 5 minutes.\n\nLet me know if you want it shorter!",
    ],
)
def test_clean_rewrite(answer: str) -> None:
    selection = locate_selection(FULL, "Reply promptly to all leads.")
    assert clean_rewrite(answer, selection) == "Reply within 5 minutes."


def test_quotes_kept_when_selection_is_quoted() -> None:
    full = '<prompt><examples><example>"Hi there"</example></examples></prompt>'
    selection = locate_selection(full, '"Hi there"')
    assert clean_rewrite('"Hello there"', selection) == '"Hello there"'


# --- checking -----------------------------------------------------------------------------------


def test_ok_rewrite_is_spliced() -> None:
    selection = locate_selection(FULL, "Reply promptly to all leads.")
    result = check_rewrite(selection, "Reply within 5 minutes, greeting @firstName.", variables())
    assert result.status == "ok"
    assert result.ok
    assert result.rewritten_text == "Reply within 5 minutes, greeting @firstName."
    assert result.full_prompt == FULL.replace(
        "Reply promptly to all leads.", "Reply within 5 minutes, greeting @firstName."
    )


def test_outer_whitespace_of_selection_is_kept() -> None:
    selection = locate_selection(FULL, "\n    <rule>Be kind.</rule>\n")
    result = check_rewrite(selection, "<rule>Be warm.</rule>")
    assert result.rewritten_text == "\n    <rule>Be warm.</rule>\n"
    assert result.full_prompt is not None
    assert "    <rule>Be warm.</rule>\n    <rule>Be brief." in result.full_prompt


def test_tags_in_plain_text_rewrite_need_a_reask() -> None:
    selection = locate_selection(FULL, "Reply promptly to all leads.")
    result = check_rewrite(selection, "Reply <b>now</b> to leads.")
    assert result.status == "reask"
    assert not result.ok
    assert result.reason is not None
    assert "plain text inside <goal>" in result.reason
    assert "<b>" in result.reason
    assert result.full_prompt is None


def test_echoed_enclosing_tags_are_removed() -> None:
    selection = locate_selection(FULL, "Reply promptly to all leads.")
    result = check_rewrite(selection, "<goal>Reply within 5 minutes.</goal>")
    assert result.status == "repaired"
    assert result.rewritten_text == "Reply within 5 minutes."


def test_bare_ampersand_is_escaped() -> None:
    selection = locate_selection(FULL, "Reply promptly to all leads.")
    result = check_rewrite(selection, "Reply to Q&A leads if a < b.")
    assert result.status == "repaired"
    assert result.rewritten_text == "Reply to Q&amp;A leads if a &lt; b."
    assert result.notes


def test_broken_markup_is_balanced_when_possible() -> None:
    selection = locate_selection(FULL, "<rule>Be kind.</rule>")
    result = check_rewrite(selection, "<rule>Be kind.</rule>\n    <rule>Never rush.")
    assert result.status == "repaired"
    assert result.rewritten_text == "<rule>Be kind.</rule>\n    <rule>Never rush.</rule>"


def test_broken_well_formedness_needs_a_reask() -> None:
    selection = locate_selection(FULL, "kind.</rule>")  # an unbalanced selection
    result = check_rewrite(selection, "kind.</rules>")
    assert result.status == "reask"
    assert result.reason is not None
    assert "breaks the XML" in result.reason
    assert "Line " in result.reason


def test_variable_violation_needs_a_reask_with_fallback() -> None:
    selection = locate_selection(FULL, "Reply promptly to all leads.")
    result = check_rewrite(selection, "Text @leadBudget and @lead_phone.", variables())
    assert result.status == "reask"
    assert result.reason is not None
    assert "@leadBudget is not an available variable" in result.reason
    assert result.rewritten_text == "Text @leadBudget and @lead.phone."
    assert result.fallback is not None
    assert result.fallback.ok
    assert result.fallback.rewritten_text == "Text the lead's budget and @lead.phone."
    assert result.fallback.full_prompt is not None
    assert any("the lead's budget" in note for note in result.fallback.notes)


def test_near_miss_variable_is_renamed() -> None:
    selection = locate_selection(FULL, "Reply promptly to all leads.")
    result = check_rewrite(selection, "Greet @first_name.", variables())
    assert result.status == "repaired"
    assert result.rewritten_text == "Greet @firstName."


def test_empty_rewrite_needs_a_reask() -> None:
    selection = locate_selection(FULL, "Reply promptly to all leads.")
    result = check_rewrite(selection, "```\n```")
    assert result.status == "reask"
    assert result.reason is not None
    assert "empty" in result.reason


def test_whole_prompt_answer_is_cut_down_to_the_selection() -> None:
    selection = locate_selection(FULL, "Reply promptly to all leads.")
    answer = "```xml\n" + FULL.replace("Reply promptly to all leads.", "Reply in 5 min.") + "```"
    result = check_rewrite(selection, answer)
    assert result.status == "repaired"
    assert result.rewritten_text == "Reply in 5 min."


def test_whole_prompt_answer_with_other_changes_needs_a_reask() -> None:
    selection = locate_selection(FULL, "Reply promptly to all leads.")
    answer = FULL.replace("Reply promptly to all leads.", "Reply fast.").replace("kind", "nice")
    result = check_rewrite(selection, answer)
    assert result.status == "reask"
    assert result.reason is not None
    assert "whole prompt" in result.reason


def test_malformed_full_prompt_is_spliced_unchecked() -> None:
    full = "<prompt><goal>Reply promptly.</goal>"
    selection = locate_selection(full, "Reply promptly.")
    assert not selection.well_formed
    assert selection.path is None
    result = check_rewrite(selection, "Reply in 5 minutes & smile.")
    assert result.status == "repaired"
    assert result.full_prompt == "<prompt><goal>Reply in 5 minutes & smile.</goal>"
