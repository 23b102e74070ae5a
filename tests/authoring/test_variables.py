import pytest

from promptsmith.authoring.variables import (
    REFERENCE,
    VariableContract,
    describe_variable,
    find_references,
    parse_variable_context,
    replace_undeclared,
    undeclared,
    undeclared_message,
    unused,
)

FLAT = {"firstName": "Alex", "propertyName": "Maple Court"}
GROUPED = {"lead": {"firstName": "Alex", "email": "alex@example.com", "phone": None}}


def contract(context: object) -> VariableContract:
    parsed = parse_variable_context(context)
    assert parsed is not None
    return parsed


def names(text: str, variables: VariableContract | None = None) -> list[str]:
    return [ref.name for ref in find_references(text, variables)]


def test_flat_context() -> None:
    c = contract(FLAT)
    assert c.leaves == {"firstName", "propertyName"}
    assert c.groups == frozenset()
    assert c.examples["firstName"] == "Alex"


def test_grouped_context() -> None:
    c = contract(GROUPED)
    assert c.leaves == {"lead.firstName", "lead.email", "lead.phone"}
    assert c.groups == {"lead"}
    assert not c.allows("lead")
    assert c.allows("lead.email")


def test_mixed_nested_and_lists() -> None:
    c = contract(
        {
            "org": {"name": "Acme", "address": {"city": "Paris"}},
            "units": [{"rent": 1200}, {"beds": 2}],
            "amenities": ["pool", "gym"],
            "meta": {},
            "@tz": "UTC",
            "lead.source": "web",
            "bad key": 1,
            "9lives": 1,
        }
    )
    assert c.leaves == {
        "org.name",
        "org.address.city",
        "units.rent",
        "units.beds",
        "amenities",
        "meta",
        "tz",
        "lead.source",
    }
    assert {"org", "org.address", "units", "lead"} <= c.groups
    assert c.ignored == ("bad key", "9lives")


def test_nesting_depth_is_bounded() -> None:
    c = contract({"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}})
    assert c.leaves == {"a.b.c.d"}


def test_list_of_names_and_none() -> None:
    assert contract(["firstName", "lead.email"]).leaves == {"firstName", "lead.email"}
    assert parse_variable_context(None) is None
    assert contract({}).leaves == frozenset()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hi @firstName, welcome", ["firstName"]),
        ("Hi @firstName.", ["firstName"]),
        ("Email @lead.email today", ["lead.email"]),
        ("Write to name@example.com", []),
        ("Write to first.last+tag@example.co.uk", []),
        ("See https://x.com/@acme", []),
        ("@a@b.com", []),
        ("@prénom", []),
        ("@first-name", []),
        ("100%@x", []),
        ("(@firstName)", ["firstName"]),
        ("\"@firstName\" and '@lead.email'", ["firstName", "lead.email"]),
        ("Line\n@firstName", ["firstName"]),
        ("@_private and @x1", ["_private", "x1"]),
        ("@lead.", ["lead"]),
    ],
)
def test_reference_rule(text: str, expected: list[str]) -> None:
    assert names(text) == expected


def test_references_skip_markup_and_comments() -> None:
    text = (
        '<prompt><role a="@attr">Hi @firstName</role><!-- @comment -->'
        "<x><![CDATA[@cdata]]></x></prompt>"
    )
    assert names(text) == ["firstName", "cdata"]


def test_positions() -> None:
    text = "<prompt>\n  <role>Hi @firstName</role>\n</prompt>"
    (ref,) = find_references(text)
    assert text[ref.start : ref.end] == "@firstName"
    assert (ref.line, ref.column) == (2, 12)
    assert ref.token == "@firstName"


def test_declared_prefix_wins_over_run_on_text() -> None:
    c = contract(FLAT)
    (ref,) = find_references("Hi @firstName.Thanks", c)
    assert ref.name == "firstName"
    assert ref.end - ref.start == len("@firstName")


def test_undeclared_flat_and_grouped() -> None:
    c = contract({**FLAT, **GROUPED})
    text = "Hi @firstName, call @leadPhone at @lead.phone or @lead.fax about @propertyName"
    assert [r.name for r in undeclared(text, c)] == ["leadPhone", "lead.fax"]


def test_group_used_as_variable() -> None:
    c = contract(GROUPED)
    (ref,) = undeclared("Hello @lead", c)
    message = undeclared_message(ref, c)
    assert "@lead is a group" in message
    assert "@lead.email" in message


def test_undeclared_message_suggests() -> None:
    c = contract(FLAT)
    (ref,) = undeclared("Hi @firstname", c)
    assert "Did you mean @firstName?" in undeclared_message(ref, c)
    assert "@propertyName" in undeclared_message(ref, c)


def test_unused() -> None:
    c = contract({**FLAT, **GROUPED})
    assert unused("Hi @firstName and @lead.email", c) == [
        "lead.firstName",
        "lead.phone",
        "propertyName",
    ]


@pytest.mark.parametrize(
    ("declared", "used", "expected"),
    [
        (FLAT, "first_name", "firstName"),
        (FLAT, "FirstName", "firstName"),
        (GROUPED, "firstName", "lead.firstName"),
        (GROUPED, "leadPhone", "lead.phone"),
        (GROUPED, "lead_email", "lead.email"),
        (FLAT, "lead.firstName", "firstName"),
        (GROUPED, "lead.fax", None),
        ({"a": {"name": 1}, "b": {"name": 1}}, "name", None),
    ],
)
def test_suggest(declared: dict[str, object], used: str, expected: str | None) -> None:
    assert contract(declared).suggest(used) == expected


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("leadPhone", "the lead's phone number"),
        ("lead.firstName", "the lead's first name"),
        ("customer_email", "the customer's email address"),
        ("propertyName", "the property name"),
        ("appointmentTime", "the appointment time"),
        ("userID", "the user's ID"),
        ("company", "the company"),
        ("tourDate2", "the tour date 2"),
        ("crmURL", "the CRM URL"),
        ("leadDob", "the lead's date of birth"),
        ("lead.address.city", "the lead's address city"),
    ],
)
def test_describe_variable(name: str, words: str) -> None:
    assert describe_variable(name) == words


def test_replace_undeclared() -> None:
    c = contract({**FLAT, **GROUPED})
    text = "Hi @first_name! Call @leadBudget, email name@example.com, visit @propertyName."
    fix = replace_undeclared(text, c)
    assert fix.text == (
        "Hi @firstName! Call the lead's budget, email name@example.com, visit @propertyName."
    )
    assert [(r.variable, r.kind) for r in fix.replacements] == [
        ("@first_name", "renamed"),
        ("@leadBudget", "described"),
    ]
    assert "Replaced undeclared @first_name with @firstName" in fix.warnings[0]
    assert '"the lead\'s budget"' in fix.warnings[1]
    assert "line 1, column 22" in fix.warnings[1]


def test_replace_with_nothing_undeclared_is_identity() -> None:
    c = contract(FLAT)
    fix = replace_undeclared("Hi @firstName", c)
    assert fix.text == "Hi @firstName"
    assert fix.warnings == []


def test_reference_regex_is_documented() -> None:
    assert REFERENCE.pattern.startswith(r"(?<![\w.+\-@/\\%])@")
