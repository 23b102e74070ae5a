"""The variable contract: which `@variables` a prompt may use, and checks against it.

The rule (also in docs/variables.md):

**Declaring.** `variableContext` is a JSON object. Each key is a name
(`[A-Za-z_][A-Za-z0-9_]*`; a leading `@` is ignored; a dotted key such as
`"lead.email"` is a path). A value decides what the key is:

* a non-empty object -> a *group* (scope); its keys are declared under it:
  `{"lead": {"firstName": "Alex"}}` declares `@lead.firstName`;
* a non-empty list whose items are all objects -> a group of records; the
  union of their keys is declared: `{"units": [{"rent": 1}]}` -> `@units.rent`;
* anything else (string, number, bool, null, empty object, other lists) -> a
  *variable* (leaf): `{"firstName": "Alex"}` declares `@firstName`.

Nesting stops at `MAX_DEPTH` levels (a deeper object is a leaf). Keys that are
not valid names are ignored and reported in `VariableContract.ignored`. A
plain list of names (`["firstName", "lead.email"]`) is accepted too. A group
alone (`@lead`) is not a variable. Names are case-sensitive.

**Referencing.** A reference is `@` followed by a name and optional `.name`
segments, matched by `REFERENCE`:

    (?<![\\w.+\\-@/\\\\%])@([A-Za-z_][A-Za-z0-9_]*(?:\\.[A-Za-z_][A-Za-z0-9_]*)*)(?![\\w@]|-\\w)

so the `@` must not follow a letter, digit, `_`, `.`, `+`, `-`, `@`, `/`,
`\\` or `%` (emails like `name@example.com`, URLs like `x.com/@user`), and the
name must not run on into another `@` (`@a@b.com`), a non-ASCII letter or a
hyphenated word (`@first-name`). A trailing `.` ends the sentence, not the
name (`Hi @firstName.`). When the full dotted path is not declared but a
prefix is a declared variable, the reference is that prefix
(`@firstName.Thanks` -> `@firstName`). Tags, attributes and comments are
skipped; text and CDATA are searched.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .markup import LineIndex, mask_markup

MAX_DEPTH = 4
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
REFERENCE = re.compile(
    r"(?<![\w.+\-@/\\%])@([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)(?![\w@]|-\w)"
)


@dataclass(frozen=True, slots=True)
class Reference:
    """One `@name` in a text: `start..end` covers the `@` and the (resolved) name."""

    name: str
    start: int
    end: int
    line: int
    column: int

    @property
    def token(self) -> str:
        return f"@{self.name}"


@dataclass(frozen=True)
class VariableContract:
    leaves: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    examples: Mapping[str, str] = field(default_factory=dict)
    ignored: tuple[str, ...] = ()

    def allows(self, name: str) -> bool:
        return name in self.leaves

    def resolve(self, name: str) -> str | None:
        """The declared variable `name` refers to: itself, or its longest declared prefix."""
        parts = name.split(".")
        for size in range(len(parts), 0, -1):
            candidate = ".".join(parts[:size])
            if candidate in self.leaves:
                return candidate
        return None

    def suggest(self, name: str) -> str | None:
        """A declared variable `name` is an obvious variant of, if exactly one fits.

        Same name up to case, `_` and `-` (`@first_name` -> `@firstName`), the same
        name without its dots (`@leadPhone` -> `@lead.phone`), or the
        same last segment when the scope is missing or invented
        (`@firstName` -> `@lead.firstName`, `@lead.firstName` -> `@firstName`).
        """
        key = _normal(name)
        for same in (_normal, lambda leaf: _normal(leaf).replace(".", "")):
            matches = [leaf for leaf in self.leaves if same(leaf) == key]
            if len(matches) == 1:
                return matches[0]
        scope = name.split(".")[0]
        if "." in name and scope in self.groups:
            return None
        last = key.split(".")[-1]
        tails = [leaf for leaf in self.leaves if _normal(leaf).split(".")[-1] == last]
        return tails[0] if len(tails) == 1 else None

    def close_match(self, name: str) -> str | None:
        """A likely intended variable, for messages only (never substituted)."""
        found = self.suggest(name) or next(
            iter(difflib.get_close_matches(name, sorted(self.leaves), n=1, cutoff=0.75)), None
        )
        return found

    def fields_of(self, group: str) -> list[str]:
        return sorted(leaf for leaf in self.leaves if leaf.startswith(f"{group}."))

    def listing(self, limit: int = 12) -> str:
        """`@a, @b, @c` (shortened past `limit`), or `none` — for messages."""
        names = sorted(self.leaves)
        shown = ", ".join(f"@{name}" for name in names[:limit])
        more = f" and {len(names) - limit} more" if len(names) > limit else ""
        return shown + more if names else "none"


def parse_variable_context(context: object) -> VariableContract | None:
    """The contract declared by a request's `variableContext`; None when none was sent."""
    if context is None:
        return None
    leaves: set[str] = set()
    groups: set[str] = set()
    examples: dict[str, str] = {}
    ignored: list[str] = []
    sink = _Sink(leaves, groups, examples, ignored)
    if isinstance(context, Mapping):
        _collect(context, (), 0, sink)
    elif isinstance(context, list | tuple):
        _collect({str(item): None for item in context}, (), 0, sink)
    return VariableContract(frozenset(leaves), frozenset(groups), examples, tuple(ignored))


@dataclass
class _Sink:
    leaves: set[str]
    groups: set[str]
    examples: dict[str, str]
    ignored: list[str]


def _collect(mapping: Mapping[Any, Any], prefix: tuple[str, ...], depth: int, sink: _Sink) -> None:
    for key, value in mapping.items():
        parts = str(key).strip().lstrip("@").split(".")
        if not all(IDENT.fullmatch(part) for part in parts):
            sink.ignored.append(".".join((*prefix, str(key))))
            continue
        path = (*prefix, *parts)
        for size in range(1, len(path)):
            sink.groups.add(".".join(path[:size]))
        name = ".".join(path)
        fields = _fields(value) if depth + 1 < MAX_DEPTH else None
        if fields:
            sink.groups.add(name)
            for record in fields:
                _collect(record, path, depth + 1, sink)
        else:
            sink.leaves.add(name)
            if isinstance(value, str | int | float) and not isinstance(value, bool):
                sink.examples[name] = str(value)[:60]


def _fields(value: object) -> list[Mapping[Any, Any]] | None:
    if isinstance(value, Mapping) and value:
        return [value]
    if isinstance(value, list) and value and all(isinstance(item, Mapping) for item in value):
        return [item for item in value if item]
    return None


def _normal(name: str) -> str:
    return re.sub(r"[_\-]", "", name).lower()


# --- finding references -------------------------------------------------------------------------


def find_references(text: str, contract: VariableContract | None = None) -> list[Reference]:
    """Every `@variable` in the text content of `text`, in order.

    With a contract, a reference whose full path is undeclared but whose prefix
    is a declared variable is shortened to that prefix.
    """
    masked = mask_markup(text)
    index = LineIndex(text)
    found: list[Reference] = []
    for match in REFERENCE.finditer(masked):
        name = match.group(1)
        if contract is not None:
            name = contract.resolve(name) or name
        line, column = index.line_col(match.start())
        found.append(Reference(name, match.start(), match.start() + len(name) + 1, line, column))
    return found


def undeclared(text: str, contract: VariableContract) -> list[Reference]:
    return [ref for ref in find_references(text, contract) if not contract.allows(ref.name)]


def unused(text: str, contract: VariableContract) -> list[str]:
    used = {ref.name for ref in find_references(text, contract)}
    return sorted(contract.leaves - used)


def undeclared_message(ref: Reference, contract: VariableContract) -> str:
    """Why `ref` is not allowed, with what to use instead — readable by people and models."""
    if ref.name in contract.groups:
        fields = ", ".join(f"@{name}" for name in contract.fields_of(ref.name)[:8])
        return f"{ref.token} is a group, not a variable; use one of its fields: {fields}."
    hint = contract.close_match(ref.name)
    did_you_mean = f" Did you mean @{hint}?" if hint else ""
    return (
        f"{ref.token} is not an available variable.{did_you_mean} "
        f"Available variables: {contract.listing()}."
    )


# --- deterministic fallback ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Replacement:
    variable: str
    replacement: str
    kind: Literal["renamed", "described"]
    line: int
    column: int

    @property
    def message(self) -> str:
        where = f"line {self.line}, column {self.column}"
        if self.kind == "renamed":
            return f"Replaced undeclared {self.variable} with {self.replacement} ({where})."
        return (
            f'Replaced undeclared {self.variable} with the words "{self.replacement}" ({where}); '
            "it is not one of the available variables."
        )


@dataclass(frozen=True, slots=True)
class VariableFix:
    text: str
    replacements: tuple[Replacement, ...] = ()

    @property
    def warnings(self) -> list[str]:
        return [replacement.message for replacement in self.replacements]


def replace_undeclared(
    text: str,
    contract: VariableContract,
    *,
    keep: Iterable[str] = (),
    rename_only: bool = False,
) -> VariableFix:
    """Replace each undeclared reference: with the obvious declared variant, else with words.

    Names in `keep` are left alone (e.g. undeclared names the user's own prompt already
    had). With `rename_only`, references without an obvious declared variant stay as they are.
    """
    pieces: list[str] = []
    replacements: list[Replacement] = []
    pos = 0
    kept = set(keep)
    for ref in undeclared(text, contract):
        suggestion = contract.suggest(ref.name)
        if ref.name in kept or (rename_only and suggestion is None):
            continue
        kind: Literal["renamed", "described"] = "renamed" if suggestion else "described"
        new = f"@{suggestion}" if suggestion else describe_variable(ref.name)
        pieces += [text[pos : ref.start], new]
        pos = ref.end
        replacements.append(Replacement(ref.token, new, kind, ref.line, ref.column))
    pieces.append(text[pos:])
    return VariableFix("".join(pieces), tuple(replacements))


_PEOPLE = frozenset(
    {
        *("lead", "user", "customer", "contact", "agent", "client", "tenant", "caller"),
        *("prospect", "patient", "student", "buyer", "seller", "guest", "member", "applicant"),
        *("candidate", "employee", "manager", "owner", "recipient", "sender", "visitor", "rep"),
        *("resident", "subscriber", "learner", "teacher", "host", "admin"),
    }
)
_EXPAND_LAST = {"phone": "phone number", "email": "email address", "mobile": "mobile number"}
_ABBREVIATIONS = {
    "addr": "address",
    "amt": "amount",
    "appt": "appointment",
    "dept": "department",
    "desc": "description",
    "dob": "date of birth",
    "msg": "message",
    "num": "number",
    "org": "organization",
    "qty": "quantity",
    "tz": "time zone",
    "zip": "ZIP code",
}
_ACRONYMS = frozenset({"id", "url", "sms", "crm", "api", "faq", "sku", "vin", "ssn", "utm"})


def describe_variable(name: str) -> str:
    """Plain words for a variable name: `leadPhone` -> "the lead's phone number"."""
    segments = [_words(segment) for segment in name.split(".")]
    if len(segments) > 1:
        owner, rest = segments[0], [word for seg in segments[1:] for word in seg]
    elif len(segments[0]) > 1 and segments[0][0] in _PEOPLE:
        owner, rest = segments[0][:1], segments[0][1:]
    else:
        owner, rest = [], segments[0]
    if rest and rest[-1] in _EXPAND_LAST:
        rest = [*rest[:-1], _EXPAND_LAST[rest[-1]]]
    words = [_word(word) for word in rest]
    if not owner:
        return "the " + " ".join(words)
    owner_text = " ".join(_word(word) for word in owner)
    joiner = "'s " if len(owner) == 1 and owner[0] in _PEOPLE else " "
    return f"the {owner_text}{joiner}{' '.join(words)}".rstrip()


def _words(segment: str) -> list[str]:
    spaced = segment.replace("_", " ").replace("-", " ")
    return [w.lower() for w in re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", spaced)] or [
        segment.lower()
    ]


def _word(word: str) -> str:
    if word in _ACRONYMS:
        return word.upper()
    return _ABBREVIATIONS.get(word, word)


def referenced_names(references: Iterable[Reference]) -> list[str]:
    """Distinct names, in first-use order."""
    return list(dict.fromkeys(ref.name for ref in references))
