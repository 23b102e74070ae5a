import pytest

from promptsmith.authoring.lint import RULES, Diagnostic, LintConfig, lint

GOOD = """<prompt>
  <role>You are the leasing assistant for @propertyName.</role>
  <goal>Book a tour with @firstName within 48 hours.</goal>
  <rules>
    <rule>Always greet the lead by name.</rule>
    <rule>Never quote prices; offer the price list instead.</rule>
  </rules>
  <output_format>One SMS, at most 300 characters.</output_format>
</prompt>"""
VARIABLES = {"firstName": "Alex", "propertyName": "Maple Court"}


def codes(text: str, variables: object = VARIABLES, **config: int) -> list[str]:
    return [d.code for d in lint(text, variables, LintConfig(**config))]  # type: ignore[arg-type]


def only(text: str, code: str, variables: object = VARIABLES) -> list[Diagnostic]:
    return [d for d in lint(text, variables) if d.code == code]  # type: ignore[arg-type]


def test_good_prompt_is_clean() -> None:
    assert codes(GOOD) == []


def test_rule_table_is_complete_and_stable() -> None:
    assert list(RULES) == [f"PS{n:03d}" for n in range(1, 17)]
    assert len({rule.name for rule in RULES.values()}) == len(RULES)


def test_ps001_malformed() -> None:
    (diagnostic,) = only("<prompt><role>x</goal></prompt>", "PS001")
    assert diagnostic.severity == "error"
    assert diagnostic.location.line == 1
    assert diagnostic.location.column == 23
    assert diagnostic.location.path is None
    assert "\n" not in diagnostic.message
    assert only(GOOD, "PS001") == []


def test_ps001_dtd() -> None:
    assert "PS001" in codes('<!DOCTYPE p [<!ENTITY a "b">]><prompt/>')


def test_ps002_root() -> None:
    assert codes("<system><role>x</role></system>", None) == ["PS002"]
    assert "PS002" not in codes(GOOD)


@pytest.mark.parametrize(
    ("code", "tag", "alternative"),
    [
        ("PS003", "role", "persona"),
        ("PS004", "goal", "objective"),
        ("PS005", "output_format", "format"),
    ],
)
def test_missing_core_sections(code: str, tag: str, alternative: str) -> None:
    start, end = GOOD.index(f"<{tag}>"), GOOD.index(f"</{tag}>") + len(tag) + 3
    without = GOOD[:start] + GOOD[end:]
    (diagnostic,) = only(without, code)
    assert diagnostic.location.path == "prompt"
    assert diagnostic.severity == "warning"
    renamed = GOOD.replace(f"<{tag}>", f"<{alternative}>").replace(f"</{tag}>", f"</{alternative}>")
    assert code not in codes(renamed)


def test_ps006_empty_section() -> None:
    text = GOOD.replace("<rules>", "<context>  </context>\n  <rules>\n    <rule/>")
    found = only(text, "PS006")
    assert [d.location.path for d in found] == ["prompt/context", "prompt/rules/rule[1]"]
    assert "PS006" not in codes(GOOD.replace("</rules>", '<tool name="search"/></rules>'))


def test_ps007_duplicate_section() -> None:
    text = GOOD.replace("</prompt>", "  <rules><rule>Be brief.</rule></rules>\n</prompt>")
    (diagnostic,) = only(text, "PS007")
    assert diagnostic.location.path == "prompt/rules[2]"
    assert diagnostic.location.line == 9


def test_ps008_undeclared_variable() -> None:
    text = GOOD.replace("@firstName", "@leadName").replace("by name", "at name@example.com")
    (diagnostic,) = only(text, "PS008")
    assert diagnostic.severity == "error"
    assert "@leadName is not an available variable" in diagnostic.message
    assert (diagnostic.location.line, diagnostic.location.column) == (3, 26)
    assert diagnostic.location.path == "prompt/goal"


def test_ps008_needs_a_contract() -> None:
    assert "PS008" not in codes(GOOD.replace("@firstName", "@invented"), None)


def test_ps008_grouped() -> None:
    text = GOOD.replace("@firstName", "@lead.firstName")
    assert "PS008" not in codes(text, {"lead": {"firstName": ""}, "propertyName": ""})
    assert "PS008" in codes(text, {"lead": {"email": ""}, "propertyName": ""})


def test_ps009_unused_variable() -> None:
    (diagnostic,) = only(GOOD, "PS009", {**VARIABLES, "tourDate": "Monday"})
    assert diagnostic.severity == "info"
    assert "@tourDate" in diagnostic.message


def test_ps010_contradicting_rules() -> None:
    text = GOOD.replace(
        "<rule>Always greet the lead by name.</rule>",
        "<rule>Always mention pricing.</rule>\n    <rule>Never mention pricing details.</rule>",
    )
    (diagnostic,) = only(text, "PS010")
    assert diagnostic.severity == "warning"
    assert diagnostic.location.path == "prompt/rules/rule[2]"
    assert "(line 5)" in diagnostic.message


def test_ps010_conditional_is_info() -> None:
    text = GOOD.replace(
        "<rule>Always greet the lead by name.</rule>",
        "<rule>Always use emojis.</rule>\n    <rule>Don't use emojis unless the lead does.</rule>",
    )
    (diagnostic,) = only(text, "PS010")
    assert diagnostic.severity == "info"


def test_ps010_unrelated_rules_do_not_conflict() -> None:
    text = GOOD.replace(
        "<rule>Always greet the lead by name.</rule>",
        "<rule>Always respond in English.</rule>\n    <rule>Never respond rudely.</rule>",
    )
    assert "PS010" not in codes(text)


def test_ps011_too_long() -> None:
    assert "PS011" in codes(GOOD, max_tokens=50)
    assert "PS011" not in codes(GOOD, max_tokens=5000)


@pytest.mark.parametrize(
    "placeholder",
    [
        "{{name}}",
        "[INSERT company name]",
        "[Your CTA here]",
        "{$NAME}",
        "${name}",
        "TODO",
        "TBD",
        "&lt;INSERT NAME&gt;",
        "Lorem ipsum",
    ],
)
def test_ps012_placeholders(placeholder: str) -> None:
    text = GOOD.replace("Book a tour", f"Book a tour {placeholder}")
    found = only(text, "PS012")
    assert len(found) == 1
    assert found[0].location.path == "prompt/goal"


def test_ps012_in_malformed_text() -> None:
    (diagnostic,) = only(GOOD.replace("Book a tour", "Book a tour <INSERT NAME>"), "PS012")
    assert diagnostic.location.path is None
    assert diagnostic.location.line == 3


def test_ps012_negative() -> None:
    assert "PS012" not in codes(GOOD.replace("Book a tour", "Book a tour [see the FAQ] {json}"))


def test_ps013_fence() -> None:
    text = GOOD.replace("<goal>", "<goal>\n```\n").replace("</goal>", "\n```\n</goal>")
    assert codes(text).count("PS013") == 2
    in_example = GOOD.replace(
        "</prompt>", "<examples><example>\n```json\n{}\n```\n</example></examples></prompt>"
    )
    assert "PS013" not in codes(in_example)


def test_ps013_in_malformed_text() -> None:
    assert "PS013" in codes("```xml\n<prompt><role>x</role>")


def test_ps014_loose_text() -> None:
    (diagnostic,) = only(GOOD.replace("<prompt>", "<prompt>\n  Be nice."), "PS014")
    assert diagnostic.location.line == 2
    assert diagnostic.location.column == 3
    assert "PS014" not in codes(GOOD.replace("<prompt>", "<prompt><!-- comment -->"))


def test_ps015_duplicate_instruction() -> None:
    text = GOOD.replace("</rules>", "  <rule>Always   greet the lead by name.</rule>\n  </rules>")
    (diagnostic,) = only(text, "PS015")
    assert "line 5" in diagnostic.message


def test_ps016_empty_prompt() -> None:
    assert codes("<prompt/>", None) == ["PS016"]
    assert codes("<prompt>\n</prompt>", None) == ["PS016"]


def test_sorted_by_position_and_serialisable() -> None:
    text = "<prompt>\n  <goal>@x and {{y}}</goal>\n</prompt>"
    found = lint(text, {})
    positions = [(d.location.line, d.location.column) for d in found]
    assert positions == sorted(positions)
    as_dict = found[0].to_dict()
    assert set(as_dict) == {"code", "name", "severity", "message", "location"}
    assert set(as_dict["location"]) == {"line", "column", "path"}


def test_ps010_different_objects_do_not_conflict() -> None:
    text = GOOD.replace(
        "<rule>Always greet the lead by name.</rule>",
        "<rule>Always mention unit 12 pricing.</rule><rule>Never mention unit 13 pricing.</rule>",
    )
    assert "PS010" not in codes(text)


def test_diagnostics_are_capped_per_rule() -> None:
    text = GOOD.replace("Book a tour", "Book a tour " + "@nope " * 300)
    found = lint(text, VARIABLES, LintConfig(max_per_rule=10))
    assert [d.code for d in found].count("PS008") == 10


def test_repeated_contradictions_are_reported_once() -> None:
    pair = "<rule>Always be brief.</rule><rule>Never be brief.</rule>"
    text = GOOD.replace("<rules>", "<rules>" + pair * 50)
    assert codes(text).count("PS010") == 1
