import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promptsmith.authoring.repair import escape_text, repair, repair_fragment, repair_with_notes
from promptsmith.authoring.xml import PromptXMLError, XMLLimits, parse_prompt

DAMAGED = [
    # (damaged input, expected repair, a word from the note)
    ("<prompt><role>Q&A bot</role></prompt>", "<prompt><role>Q&amp;A bot</role></prompt>", "&"),
    (
        "<prompt><rule>if a < b</rule></prompt>",
        "<prompt><rule>if a &lt; b</rule></prompt>",
        "'<'",
    ),
    (
        "<prompt><role>A</role><goal>Do it</prompt>",
        "<prompt><role>A</role><goal>Do it</goal></prompt>",
        "unclosed",
    ),
    (
        "<prompt><role>A</rol><goal>x</goal></prompt>",
        "<prompt><role>A</role><goal>x</goal></prompt>",
        "mismatched",
    ),
    (
        "<prompt>\n  <role>A\n  <goal>B</goal>\n</prompt>",
        "<prompt>\n  <role>A</role>\n  <goal>B</goal>\n</prompt>",
        "before <goal>",
    ),
    (
        "<role>A</role>\n<goal>B</goal>",
        "<prompt>\n<role>A</role>\n<goal>B</goal>\n</prompt>",
        "wrapped",
    ),
    (
        "Here you go:\n```xml\n<prompt><role>A</role></prompt>\n```\nEnjoy!",
        "<prompt><role>A</role></prompt>",
        "prose",
    ),
    (
        "<prompt><role>A</role></prompt>\nHope this helps!",
        "<prompt><role>A</role></prompt>",
        "prose",
    ),
    (
        "<prompt><example type=“good”>x</example></prompt>",
        '<prompt><example type="good">x</example></prompt>',
        "quotes",
    ),
    ("<prompt><example type='good>x</example></prompt>", None, None),
    (
        "<prompt><rules><rule>a<rule>b</rule></rules></prompt>",
        "<prompt><rules><rule>a</rule><rule>b</rule></rules></prompt>",
        "next <rule>",
    ),
    ("<prompt><goal>x</goal></goal></prompt>", "<prompt><goal>x</goal></prompt>", "stray"),
    ("<prompt>&nbsp;hi &mdash; &foo;</prompt>", "<prompt>\xa0hi — &amp;foo;</prompt>", "entity"),
    ("<prompt><Goal>x</goal></prompt>", "<prompt><Goal>x</Goal></prompt>", "matched"),
    ("<prompt><a:b>x</a:b></prompt>", "<prompt><a_b>x</a_b></prompt>", "prefixed"),
    (
        "<prompt><!-- a -- b --><role>x</role></prompt>",
        "<prompt><!-- a - - b --><role>x</role></prompt>",
        "--",
    ),
    ("<prompt><role>a]]>b</role></prompt>", "<prompt><role>a]]&gt;b</role></prompt>", "]]>"),
    ("<prompt>\x01x\x0b</prompt>", "<prompt>x</prompt>", "control"),
    ("<prompt x=1 x=2>a</prompt>", '<prompt x="1">a</prompt>', "duplicate"),
    (
        "<prompt><rules><rule>x</rule></prompt>",
        "<prompt><rules><rule>x</rule></rules></prompt>",
        "unclosed",
    ),
    ("just words", "<prompt>\njust words\n</prompt>", "wrapped"),
    (
        "<prompt><role>x</role>\n<goal>y",
        "<prompt><role>x</role>\n<goal>y</goal></prompt>",
        "closed",
    ),
    (
        "<prompt><role>&#0;&#x41;</role></prompt>",
        "<prompt><role>&amp;#0;&#x41;</role></prompt>",
        "&",
    ),
]


@pytest.mark.parametrize(("damaged", "expected", "note"), DAMAGED)
def test_repair_table(damaged: str, expected: str | None, note: str | None) -> None:
    result = repair_with_notes(damaged)
    parse_prompt(result.text)
    if expected is not None:
        assert result.text == expected
    if note is not None:
        assert any(note in n for n in result.notes), result.notes


def test_valid_prompt_is_returned_unchanged() -> None:
    doc = '<prompt>\n  <!-- keep -->\n  <role kind="x">A &amp; B</role>\n</prompt>\n'
    result = repair_with_notes(doc)
    assert result.text == doc
    assert not result.changed


def test_doctype_is_dropped_and_entities_never_expanded() -> None:
    doc = '<!DOCTYPE p [<!ENTITY a "EXPANDED">]><prompt><role>&a;</role></prompt>'
    fixed = repair(doc)
    assert "EXPANDED" not in fixed.replace('"EXPANDED"', "")
    assert fixed == "<prompt><role>&amp;a;</role></prompt>"


def test_doctype_without_prompt_root_is_removed() -> None:
    fixed = repair_with_notes('<!DOCTYPE r [<!ENTITY a "b">]><role>&a;</role>')
    assert "DOCTYPE" not in fixed.text
    assert "&amp;a;" in fixed.text
    assert any("DOCTYPE" in note for note in fixed.notes)


def test_text_after_root_inside_fence_is_dropped() -> None:
    fixed = repair("<prompt><role>A</role></prompt>\n<notes>extra</notes>")
    assert fixed == "<prompt><role>A</role></prompt>"


@pytest.mark.parametrize("text", ["", "   ", "```xml\n```"])
def test_nothing_to_repair_raises(text: str) -> None:
    with pytest.raises(PromptXMLError) as caught:
        repair(text)
    assert caught.value.code == "empty"


def test_limits_are_not_repairable() -> None:
    with pytest.raises(PromptXMLError) as caught:
        repair("<prompt>" + "".join(f"<t{i}>" for i in range(50)), XMLLimits(max_depth=10))
    assert caught.value.code == "too_deep"
    with pytest.raises(PromptXMLError) as caught:
        repair("x" * 500, XMLLimits(max_chars=100))
    assert caught.value.code == "too_large"


def test_escape_text() -> None:
    result = escape_text("Q&A < 5 &amp; fine &#65;")
    assert result.text == "Q&amp;A &lt; 5 &amp; fine &#65;"
    assert escape_text("plain").notes == ()


def test_repair_fragment_balances() -> None:
    assert repair_fragment("<rule>a</rule><rule>b").text == "<rule>a</rule><rule>b</rule>"


PIECES = st.sampled_from(
    [
        *("<", ">", "&", "/", "<prompt>", "</prompt>", "<role>", "</role>", "<goal>", "</goal>"),
        *("<rule>", "</rule>", "<rules>", "</rules>", "<!--", "-->", "]]>", "<![CDATA[", '"'),
        *("“", "=", " x=", "a", " ", "\n", "&amp;", "&nbsp;", "<a:b>", "</", "```", "@x"),
        *("<?xml version='1.0'?>", "<!DOCTYPE x>", "&#0;", "&#x41;", "<?pi x?>", "é", "<Role>"),
    ]
)
DAMAGED_TEXT = st.lists(PIECES, max_size=30).map("".join) | st.text(max_size=60)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(DAMAGED_TEXT)
def test_repair_output_parses_or_raises(text: str) -> None:
    try:
        fixed = repair(text)
    except PromptXMLError:
        return
    assert parse_prompt(fixed).root.tag == "prompt"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(DAMAGED_TEXT)
def test_repair_is_idempotent(text: str) -> None:
    try:
        fixed = repair(text)
    except PromptXMLError:
        return
    assert repair(fixed) == fixed


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(DAMAGED_TEXT | st.text(alphabet=st.sampled_from("<>/éü_ab =\"'&;!-?"), max_size=40))
def test_outline_agrees_with_lxml_on_repaired_output(text: str) -> None:
    try:
        fixed = repair(text)
    except PromptXMLError:
        return
    parsed = parse_prompt(fixed)
    lxml_names = [e.tag for e in parsed.root.iter() if isinstance(e.tag, str)]
    assert [node.name for node in parsed.tree.walk()] == lxml_names


@pytest.mark.parametrize(
    "text",
    [
        "<?" * 50_000,
        "<!--" * 25_000,
        "<![CDATA[" * 10_000,
        "<!DOCTYPE[" * 10_000,
        "<prompt>" * 10_000,
        "".join(f"<t{i}>" for i in range(5_000)) + "</x>" * 5_000,
        "&<" * 50_000,
    ],
    ids=["pi", "comment", "cdata", "doctype", "prompt-openings", "deep", "amp-lt"],
)
def test_pathological_input_is_handled(text: str) -> None:
    """Each of these once took minutes (quadratic scans); bench/authoring_bench.py times them."""
    try:
        fixed = repair(text)
    except PromptXMLError as exc:
        code = exc.code
    else:
        code = parse_prompt(fixed).root.tag
    assert code in {"prompt", "too_deep", "too_many_elements", "unrepairable", "too_large"}
