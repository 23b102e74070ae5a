import pytest

from promptsmith.authoring.changes import (
    Address,
    apply_section_edits,
    has_changes_block,
    parse_changes,
    refine,
    refine_checked,
)
from promptsmith.authoring.variables import VariableContract, parse_variable_context
from promptsmith.authoring.xml import PromptXMLError

ORIGINAL = """<prompt>
  <!-- who -->
  <role>Leasing assistant</role>
  <goal>Convert leads.</goal>
  <rules>
    <rule>Be kind.</rule>
  </rules>
  <examples>x</examples>
</prompt>
"""

CHANGES = """Sure, here are the changes:
```xml
<changes>
  <replace section="goal">
    <goal>
      Convert leads into tours.
    </goal>
  </replace>
  <add after="rules">
    <output_format>SMS.</output_format>
  </add>
  <remove section="examples"/>
</changes>
```"""


def test_parse_changes() -> None:
    edits = parse_changes(CHANGES)
    assert [e.op for e in edits] == ["replace", "add", "remove"]
    assert edits[0].target == Address("goal")
    assert edits[0].sections == ("<goal>\n  Convert leads into tours.\n</goal>",)
    assert edits[1].position == "after"
    assert edits[1].target == Address("rules")
    assert has_changes_block(CHANGES)
    assert not has_changes_block("<prompt/>")


def test_apply_changes_preserves_untouched_bytes() -> None:
    result = refine(ORIGINAL, CHANGES)
    assert (
        result.text
        == """<prompt>
  <!-- who -->
  <role>Leasing assistant</role>
  <goal>
    Convert leads into tours.
  </goal>
  <rules>
    <rule>Be kind.</rule>
  </rules>
  <output_format>SMS.</output_format>
</prompt>
"""
    )
    assert result.summary == ["Updated <goal>.", "Removed <examples>.", "Added <output_format>."]


def test_empty_changes_block_is_no_change() -> None:
    result = refine(ORIGINAL, "<changes/>")
    assert result.text == ORIGINAL
    assert not result.changed


def test_index_and_before() -> None:
    original = (
        "<prompt>\n  <rules><rule>A</rule></rules>\n  <rules><rule>B</rule></rules>\n</prompt>"
    )
    edits = parse_changes(
        '<changes><replace section="rules" index="2"><rules><rule>C</rule></rules></replace>'
        '<add before="rules"><role>R</role></add><add><goal>G</goal></add></changes>'
    )
    result = apply_section_edits(original, edits)
    assert result.text == (
        "<prompt>\n  <role>R</role>\n  <rules><rule>A</rule></rules>\n"
        "  <rules><rule>C</rule></rules>\n  <goal>G</goal>\n</prompt>"
    )


def test_add_after_a_removed_section_uses_its_old_place() -> None:
    edits = parse_changes(
        '<changes><remove section="goal"/><add after="goal"><context>C</context></add></changes>'
    )
    result = apply_section_edits(ORIGINAL, edits)
    assert (
        result.text.index("<role>") < result.text.index("<context>") < result.text.index("<rules>")
    )
    assert "<goal>" not in result.text


@pytest.mark.parametrize(
    ("block", "words"),
    [
        ('<changes><remove section="tone"/></changes>', "Cannot remove <tone>"),
        ('<changes><replace section="goal"/></changes>', "exactly one section"),
        ("<changes><add/></changes>", "at least one section"),
        ("<changes><remove/></changes>", 'needs a section="tag"'),
        ('<changes><remove section="goal" index="0"/></changes>', "whole number"),
        ('<changes><rename section="goal"/></changes>', "is not an edit"),
        ('<changes><replace section="rules" index="2"><rules/></replace></changes>', "<rules> #2"),
    ],
)
def test_bad_changes_are_explained(block: str, words: str) -> None:
    with pytest.raises(PromptXMLError) as caught:
        refine(ORIGINAL, block)
    assert caught.value.code == "bad_changes"
    assert words in caught.value.message


def test_malformed_changes_block_reports_position() -> None:
    with pytest.raises(PromptXMLError) as caught:
        parse_changes("<changes><replace section='goal'><goal>x</replace></changes>")
    assert caught.value.code == "malformed"


def test_no_changes_block() -> None:
    with pytest.raises(PromptXMLError):
        parse_changes("nothing here")


def test_refine_full_reemission_with_repair() -> None:
    output = (
        "Here is the revision:\n```xml\n"
        + ORIGINAL.replace(
            "<goal>Convert leads.</goal>", "<goal>Convert leads & book tours.</goal>"
        )
        + "```"
    )
    result = refine(ORIGINAL, output)
    assert result.text == ORIGINAL.replace(
        "<goal>Convert leads.</goal>", "<goal>Convert leads &amp; book tours.</goal>"
    )
    assert result.section == "goal"
    assert any("&" in note for note in result.notes)


def test_refine_without_original_drafts() -> None:
    result = refine("", "```xml\n<prompt><role>x</role></prompt>\n```")
    assert result.text == "<prompt><role>x</role></prompt>"
    assert result.summary == ["Drafted a new prompt."]


def test_refine_with_malformed_original_rewrites() -> None:
    result = refine("<prompt><role>x</goal>", "<prompt><role>y</role></prompt>")
    assert result.text == "<prompt><role>y</role></prompt>"
    assert result.summary == ["Rewrote the prompt."]


def test_refine_unusable_output_raises() -> None:
    with pytest.raises(PromptXMLError):
        refine(ORIGINAL, "   ")


def _contract() -> VariableContract:
    contract = parse_variable_context({"firstName": "Alex", "lead": {"phone": "555"}})
    assert contract is not None
    return contract


def test_refine_checked_ok() -> None:
    output = ORIGINAL.replace("Convert leads.", "Convert @firstName into a tour.")
    checked = refine_checked(ORIGINAL, output, _contract())
    assert checked.status == "ok"
    assert checked.refinement is not None
    assert checked.refinement.section == "goal"


def test_refine_checked_renames_near_misses() -> None:
    output = ORIGINAL.replace("Convert leads.", "Text @first_name at @leadPhone.")
    checked = refine_checked(ORIGINAL, output, _contract())
    assert checked.status == "repaired"
    assert checked.refinement is not None
    assert "Text @firstName at @lead.phone." in checked.refinement.text
    assert any("@first_name" in note for note in checked.refinement.notes)


def test_refine_checked_invented_variable_needs_reask_with_fallback() -> None:
    output = ORIGINAL.replace("Convert leads.", "Mention @leadBudget.")
    checked = refine_checked(ORIGINAL, output, _contract())
    assert checked.status == "reask"
    assert checked.reason is not None
    assert "@leadBudget is not an available variable" in checked.reason
    assert checked.fallback is not None
    assert "Mention the lead's budget." in checked.fallback.text
    assert checked.fallback.text.replace("Mention the lead's budget.", "Convert leads.") == ORIGINAL


def test_refine_checked_keeps_the_users_own_undeclared_variables() -> None:
    original = ORIGINAL.replace("Be kind.", "Be kind to @customerName.")
    output = original.replace("Convert leads.", "Convert leads fast.")
    checked = refine_checked(original, output, _contract())
    assert checked.status == "ok"


def test_refine_checked_unusable_output() -> None:
    checked = refine_checked(ORIGINAL, "", _contract())
    assert checked.status == "reask"
    assert checked.refinement is None
    assert checked.reason is not None
    assert checked.reason.startswith("Your answer is not a usable prompt")


def test_refine_checked_without_contract_reports_repairs() -> None:
    checked = refine_checked(ORIGINAL, ORIGINAL.replace("Convert leads.", "Q&A"))
    assert checked.status == "repaired"
