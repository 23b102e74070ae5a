import pytest

from promptsmith.authoring.xml import (
    PromptXMLError,
    XMLLimits,
    is_well_formed,
    parse_prompt,
    parse_xml,
)

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<prompt><role>&lol9;</role></prompt>"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE prompt [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<prompt><role>&xxe;</role></prompt>"""

EXTERNAL_DTD = """<!DOCTYPE prompt SYSTEM "http://example.invalid/evil.dtd"><prompt/>"""
PARAMETER_ENTITY = """<!DOCTYPE p [<!ENTITY % x SYSTEM "http://example.invalid/x">%x;]><prompt/>"""


def test_parses_a_prompt() -> None:
    parsed = parse_prompt("<prompt><role>Agent</role><goal>Book tours</goal></prompt>")
    assert parsed.section_names() == ["role", "goal"]
    assert parsed.root.tag == "prompt"
    assert parsed.sections[1].inner(parsed.text) == "Book tours"


@pytest.mark.parametrize("doc", [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD, PARAMETER_ENTITY])
def test_dtds_and_entities_are_rejected_not_expanded(doc: str) -> None:
    with pytest.raises(PromptXMLError) as caught:
        parse_prompt(doc)
    assert caught.value.code == "dtd_forbidden"
    assert "DTD" in caught.value.message


def test_lowercase_doctype_is_rejected_too() -> None:
    with pytest.raises(PromptXMLError) as caught:
        parse_prompt('<!doctype prompt [<!entity a "b">]><prompt>&a;</prompt>')
    assert caught.value.code in {"dtd_forbidden", "malformed"}


def test_undefined_entity_is_an_error_not_a_lookup() -> None:
    with pytest.raises(PromptXMLError) as caught:
        parse_prompt("<prompt><role>&xxe;</role></prompt>")
    assert caught.value.code == "malformed"
    assert "&xxe; is not an XML entity" in caught.value.message


def test_size_limit() -> None:
    limits = XMLLimits(max_chars=100)
    with pytest.raises(PromptXMLError) as caught:
        parse_prompt("<prompt>" + "x" * 200 + "</prompt>", limits)
    assert caught.value.code == "too_large"


def test_depth_limit() -> None:
    deep = "<prompt>" + "<a>" * 30 + "</a>" * 30 + "</prompt>"
    with pytest.raises(PromptXMLError) as caught:
        parse_prompt(deep)
    assert caught.value.code == "too_deep"
    assert parse_prompt(deep, XMLLimits(max_depth=40)).root.tag == "prompt"


def test_extreme_depth_is_rejected_fast() -> None:
    deep = "<prompt>" + "<a>" * 100_000 + "</a>" * 100_000 + "</prompt>"
    with pytest.raises(PromptXMLError):
        parse_prompt(deep, XMLLimits(max_chars=10_000_000))


def test_element_count_limit() -> None:
    many = "<prompt>" + "<rule>x</rule>" * 50 + "</prompt>"
    with pytest.raises(PromptXMLError) as caught:
        parse_prompt(many, XMLLimits(max_elements=20))
    assert caught.value.code == "too_many_elements"


def test_root_must_be_prompt() -> None:
    with pytest.raises(PromptXMLError) as caught:
        parse_prompt("<system><role>x</role></system>")
    assert caught.value.code == "not_prompt_root"
    assert "<system>" in caught.value.message
    assert parse_xml("<system/>").tag == "system"


@pytest.mark.parametrize(
    ("doc", "line", "column", "words"),
    [
        ("<prompt>\n  <role>x</goal>\n</prompt>", 2, 17, "closing tag </goal> does not match"),
        ("<prompt>\n<role>Q & A</role></prompt>", 2, 10, "bare '&'"),
        ("<prompt><role>a < b</role></prompt>", 1, 18, "bare '<'"),
        ("<prompt><role>x</role>", 1, 23, "<prompt> (opened on line 1) is never closed"),
        ("<prompt/>trailing", 1, 10, "content after the root element"),
        ("<prompt><rôle>é</goal></prompt>", 1, 21, "does not match"),
    ],
)
def test_errors_are_precise_and_model_readable(
    doc: str, line: int, column: int, words: str
) -> None:
    with pytest.raises(PromptXMLError) as caught:
        parse_prompt(doc)
    error = caught.value
    assert (error.line, error.column) == (line, column)
    assert words in error.message
    assert error.message.startswith(f"Line {line}, column {column}:")
    caret_line = error.message.splitlines()[-1]
    assert caret_line.strip() == "^"


def test_empty_input() -> None:
    with pytest.raises(PromptXMLError) as caught:
        parse_prompt("   ")
    assert caught.value.code == "empty"


def test_encoding_declaration_is_accepted() -> None:
    doc = "<?xml version='1.0' encoding='latin-1'?><prompt><role>café</role></prompt>"
    assert parse_prompt(doc).root[0].text == "café"


def test_comments_and_cdata_survive() -> None:
    parsed = parse_prompt("<prompt><!-- c --><role><![CDATA[a < b]]></role></prompt>")
    assert parsed.section_names() == ["role"]
    assert parsed.root.find("role").text == "a < b"


def test_is_well_formed() -> None:
    assert is_well_formed("<prompt/>")
    assert not is_well_formed("<prompt>")
