from hypothesis import given, settings
from hypothesis import strategies as st

from promptsmith.authoring.sections import canonical, diff_sections, merge_revision
from promptsmith.authoring.xml import parse_prompt

ORIGINAL = """<prompt version="3">
  <!-- Who the agent is. Reviewed by legal 2024-05. -->
  <role>Leasing   assistant for Maple Court.</role>

  <goal>Convert leads into tours.</goal>
  <rules>
    <rule>Be kind.</rule>   <!-- keep -->
    <rule>Be brief.</rule>
  </rules>
  <examples>
    <example>Hi @firstName!</example>
  </examples>
</prompt>
"""


def untouched(result: str, original: str, tag: str) -> bool:
    start = original.index(f"<{tag}")
    end = original.index(f"</{tag}>") + len(tag) + 3
    return original[start:end] in result


def test_identical_revision_returns_original_bytes() -> None:
    result = merge_revision(ORIGINAL, ORIGINAL)
    assert result.text == ORIGINAL
    assert not result.changed
    assert result.section is None


def test_reformatted_revision_counts_as_unchanged() -> None:
    reformatted = (
        "<prompt><role>Leasing assistant for Maple Court.</role><goal>Convert leads into "
        "tours.</goal><rules><rule>Be kind.</rule><rule>Be brief.</rule></rules>"
        "<examples><example>Hi @firstName!</example></examples></prompt>"
    )
    result = merge_revision(ORIGINAL, reformatted)
    assert result.text == ORIGINAL
    assert result.changes == ()


def test_one_section_changed_keeps_the_rest_byte_identical() -> None:
    revised = """<prompt>
<role>Leasing assistant for Maple Court.</role>
<goal>Convert leads into booked tours within 48 hours.</goal>
<rules><rule>Be kind.</rule><rule>Be brief.</rule></rules>
<examples><example>Hi @firstName!</example></examples>
</prompt>"""
    result = merge_revision(ORIGINAL, revised)
    expected = ORIGINAL.replace(
        "<goal>Convert leads into tours.</goal>",
        "<goal>Convert leads into booked tours within 48 hours.</goal>",
    )
    assert result.text == expected
    assert result.summary == ["Updated <goal>."]
    assert result.section == "goal"
    assert result.changes[0].kind == "updated"


def test_comments_and_whitespace_of_untouched_sections_survive() -> None:
    revised = ORIGINAL.replace("<!-- Who the agent is. Reviewed by legal 2024-05. -->", "")
    revised = revised.replace("<rule>Be brief.</rule>", "<rule>Be brief: 2 sentences.</rule>")
    revised = revised.replace("<!-- keep -->", "")
    result = merge_revision(ORIGINAL, revised)
    assert "<!-- Who the agent is. Reviewed by legal 2024-05. -->" in result.text
    assert "<role>Leasing   assistant for Maple Court.</role>\n\n  <goal>" in result.text
    assert result.text.startswith('<prompt version="3">')
    assert result.text.endswith("</prompt>\n")
    assert result.summary == ["Updated <rules>: changed 1 <rule>."]


def test_added_and_removed_sections_with_summaries() -> None:
    revised = """<prompt>
  <role>Leasing   assistant for Maple Court.</role>
  <goal>Convert leads into tours.</goal>
  <rules>
    <rule>Be kind.</rule>
    <rule>Be brief.</rule>
  </rules>
  <output_format>
    One SMS under 300 characters.
  </output_format>
</prompt>"""
    result = merge_revision(ORIGINAL, revised)
    assert result.summary == ["Removed <examples>.", "Added <output_format>."]
    assert result.section is None
    assert untouched(result.text, ORIGINAL, "rules")
    assert untouched(result.text, ORIGINAL, "role")
    assert "<examples>" not in result.text
    assert (
        "  <output_format>\n    One SMS under 300 characters.\n  </output_format>\n</prompt>"
        in result.text
    )


def test_added_section_is_reindented_to_match() -> None:
    original = "<prompt>\n    <role>A</role>\n</prompt>"
    revised = "<prompt>\n<role>A</role>\n<rules>\n  <rule>x</rule>\n</rules>\n</prompt>"
    result = merge_revision(original, revised)
    expected = "<prompt>\n    <role>A</role>\n    <rules>\n      <rule>x</rule>\n    </rules>\n"
    assert result.text == expected + "</prompt>"


def test_child_level_summary() -> None:
    revised = ORIGINAL.replace(
        "<rule>Be brief.</rule>", "<rule>Be brief.</rule>\n    <rule>No emojis.</rule>"
    ).replace("<rule>Be kind.</rule>", "")
    result = merge_revision(ORIGINAL, revised)
    assert result.summary == ["Updated <rules>: removed 1 <rule>, added 1 <rule>."]


def test_duplicate_tags_are_matched_by_content_then_position() -> None:
    original = (
        "<prompt>\n  <rules><rule>A</rule></rules>\n  <rules><rule>B</rule></rules>\n</prompt>"
    )
    revised = (
        "<prompt><rules><rule>New</rule></rules><rules><rule>A</rule></rules>"
        "<rules><rule>B</rule></rules></prompt>"
    )
    result = merge_revision(original, revised)
    assert result.summary == ["Added <rules>."]
    assert result.text == (
        "<prompt>\n  <rules><rule>New</rule></rules>\n  <rules><rule>A</rule></rules>\n"
        "  <rules><rule>B</rule></rules>\n</prompt>"
    )


def test_second_of_duplicates_updated() -> None:
    original = (
        "<prompt>\n  <rules><rule>A</rule></rules>\n  <rules><rule>B</rule></rules>\n</prompt>"
    )
    revised = "<prompt><rules><rule>A</rule></rules><rules><rule>C</rule></rules></prompt>"
    result = merge_revision(original, revised)
    assert result.summary == ["Updated <rules> #2: changed 1 <rule>."]
    assert result.changes[0].index == 2
    assert result.text.startswith("<prompt>\n  <rules><rule>A</rule></rules>\n  <rules><rule>C")


def test_moved_section_keeps_bytes_and_comment() -> None:
    revised = """<prompt><goal>Convert leads into tours.</goal>
<role>Leasing assistant for Maple Court.</role>
<rules><rule>Be kind.</rule><rule>Be brief.</rule></rules>
<examples><example>Hi @firstName!</example></examples></prompt>"""
    result = merge_revision(ORIGINAL, revised)
    assert result.summary == ["Moved <goal> to the top."]
    assert result.text.index("<goal>") < result.text.index("<role>")
    assert (
        "<!-- Who the agent is. Reviewed by legal 2024-05. -->\n  <role>Leasing   assistant"
        in result.text
    )
    assert sorted(result.text) == sorted(ORIGINAL)


def test_loose_text_change_falls_back_to_the_revision() -> None:
    original = "<prompt>Intro.<role>A</role></prompt>"
    revised = "<prompt>New intro.<role>A</role></prompt>"
    result = merge_revision(original, revised)
    assert result.text == revised
    assert result.summary == ["Rewrote the text directly inside <prompt>."]


def test_empty_original_takes_the_revision() -> None:
    result = merge_revision("<prompt/>", "<prompt><role>A</role></prompt>")
    assert result.text == "<prompt><role>A</role></prompt>"
    assert result.summary == ["Added <role>."]


def test_diff_sections() -> None:
    changes = diff_sections(
        "<prompt><a>1</a><b>2</b></prompt>", "<prompt><a>1</a><b>3</b><c/></prompt>"
    )
    assert [(c.kind, c.tag) for c in changes] == [("updated", "b"), ("added", "c")]


SECTION = st.tuples(
    st.sampled_from(["role", "goal", "rules", "context", "output_format"]),
    st.text(alphabet=st.sampled_from("ab \n@x."), min_size=1, max_size=12),
)
GAP = st.sampled_from(["", "\n", "\n  ", "\n\n  ", "\n  <!-- c -->\n  "])


@settings(max_examples=200, deadline=None)
@given(
    sections=st.lists(st.tuples(GAP, SECTION), min_size=1, max_size=6),
    tail=GAP,
    pick=st.integers(min_value=0, max_value=5),
)
def test_untouched_sections_stay_byte_identical(
    sections: list[tuple[str, tuple[str, str]]], tail: str, pick: int
) -> None:
    blocks = [(gap, f"<{tag}>{text}</{tag}>") for gap, (tag, text) in sections]
    original = "<prompt>" + "".join(gap + block for gap, block in blocks) + tail + "</prompt>"
    assert merge_revision(original, original).text == original
    index = pick % len(blocks)
    tag = sections[index][1][0]
    changed = [block for _, block in blocks]
    changed[index] = f"<{tag}>CHANGED</{tag}>"
    revised = "<prompt>\n" + "\n".join(changed) + "\n</prompt>"
    result = merge_revision(original, revised)
    assert _canonical(result.text) == _canonical(revised)
    # Sections are compared with whitespace runs collapsed, so two sections that differ only
    # in whitespace are interchangeable: only a section without such a twin has one place to go.
    keys = [(tag, " ".join(text.split())) for _, (tag, text) in sections]
    for i, (gap, block) in enumerate(blocks):
        if i != index and keys.count(keys[i]) == 1:
            assert gap + block in result.text  # untouched: same bytes, same leading gap
    if keys.count(keys[index]) == 1:
        assert result.text == original.replace(blocks[index][1], changed[index], 1)


def _canonical(text: str) -> str:
    return canonical(parse_prompt(text).root)
