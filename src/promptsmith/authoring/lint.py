"""The prompt linter: `lint(text, variables) -> list[Diagnostic]`.

Each rule has a stable code (`PS001`…), a name and a default severity; see
`RULES` and docs/lint-rules.md. Diagnostics are sorted by position. When the
text is not well-formed, only PS001/PS002 and the rules that need no tree
(variables, placeholders, fences, length) run.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

from . import contradictions
from .markup import LineIndex, Node, mask_markup
from .variables import VariableContract, find_references, parse_variable_context
from .variables import undeclared_message as _undeclared_message
from .xml import DEFAULT_LIMITS, ParsedPrompt, PromptXMLError, XMLLimits, parse_prompt

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    name: str
    severity: Severity
    title: str


RULES: dict[str, Rule] = {
    rule.code: rule
    for rule in (
        Rule("PS001", "malformed-xml", "error", "The prompt is not well-formed XML"),
        Rule("PS002", "root-not-prompt", "error", "The root element is not <prompt>"),
        Rule("PS003", "missing-role", "warning", "No <role> section"),
        Rule("PS004", "missing-goal", "warning", "No <goal> section"),
        Rule("PS005", "missing-output-format", "warning", "No <output_format> section"),
        Rule("PS006", "empty-section", "warning", "An element has no content"),
        Rule("PS007", "duplicate-section", "warning", "A top-level section appears twice"),
        Rule("PS008", "undeclared-variable", "error", "A @variable is not in variableContext"),
        Rule("PS009", "unused-variable", "info", "A declared variable is never used"),
        Rule("PS010", "contradicting-rules", "warning", "Two instructions contradict"),
        Rule("PS011", "prompt-too-long", "warning", "The prompt is longer than the budget"),
        Rule("PS012", "unresolved-placeholder", "warning", "A template placeholder is left"),
        Rule("PS013", "markdown-fence", "warning", "A markdown code fence is left in the prompt"),
        Rule("PS014", "loose-text", "info", "Text directly inside <prompt>, outside sections"),
        Rule("PS015", "duplicate-instruction", "warning", "The same instruction appears twice"),
        Rule("PS016", "empty-prompt", "error", "The prompt has no sections"),
    )
}

ROLE_TAGS = ("role", "persona", "identity")
GOAL_TAGS = ("goal", "objective", "task", "purpose")
OUTPUT_TAGS = ("output_format", "format", "response_format", "output")
_FENCE_OK = frozenset({"examples", "example", *OUTPUT_TAGS})


@dataclass(frozen=True, slots=True)
class Location:
    line: int
    column: int
    path: str | None = None  # e.g. "prompt/rules/rule[2]"; None when the XML is malformed


@dataclass(frozen=True, slots=True)
class Diagnostic:
    code: str
    severity: Severity
    message: str
    location: Location

    @property
    def name(self) -> str:
        return RULES[self.code].name

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "name": self.name}


@dataclass(frozen=True, slots=True)
class LintConfig:
    max_tokens: int = 8_000
    chars_per_token: float = 4.0
    max_per_rule: int = 100  # diagnostics of one code beyond this are dropped
    limits: XMLLimits = DEFAULT_LIMITS


DEFAULT_CONFIG = LintConfig()


def lint(
    text: str,
    variables: VariableContract | Mapping[str, Any] | None = None,
    config: LintConfig = DEFAULT_CONFIG,
) -> list[Diagnostic]:
    contract = variables if isinstance(variables, VariableContract | None) else None
    if contract is None and variables is not None:
        contract = parse_variable_context(variables)
    linter = _Linter(text, contract, config)
    return sorted(linter.run(), key=lambda d: (d.location.line, d.location.column, d.code))


class _Linter:
    def __init__(self, text: str, contract: VariableContract | None, config: LintConfig) -> None:
        self.text = text
        self.contract = contract
        self.config = config
        self.index = LineIndex(text)
        self.parsed: ParsedPrompt | None = None

    def run(self) -> Iterator[Diagnostic]:
        try:
            self.parsed = parse_prompt(self.text, self.config.limits)
        except PromptXMLError as exc:
            code = "PS002" if exc.code == "not_prompt_root" else "PS001"
            message = exc.message.split("\n")[0]
            yield self._at_line(code, message, exc.line or 1, exc.column or 1)
        rules: list[Iterator[Diagnostic]] = []
        if self.parsed is not None:
            tree = self.parsed.tree
            rules += [self._structure(self.parsed), self._empty_elements(tree)]
            rules += [self._duplicate_instructions(tree), self._contradictions(tree)]
            rules += [self._loose_text(self.parsed)]
        rules += [self._variables(), self._placeholders(), self._fences(), self._length()]
        for rule in rules:
            yield from _capped(rule, self.config.max_per_rule)

    # -- helpers -----------------------------------------------------------------------------

    def _diagnostic(
        self, code: str, message: str, offset: int, severity: Severity | None = None
    ) -> Diagnostic:
        line, column = self.index.line_col(offset)
        return Diagnostic(
            code, severity or RULES[code].severity, message, self._location(offset, line, column)
        )

    def _at_line(self, code: str, message: str, line: int, column: int) -> Diagnostic:
        return Diagnostic(code, RULES[code].severity, message, Location(line, column))

    def _location(self, offset: int, line: int, column: int) -> Location:
        if self.parsed is None:
            return Location(line, column)
        return Location(line, column, self.parsed.tree.deepest_containing(offset, offset).path)

    def _node_diagnostic(self, code: str, message: str, node: Node) -> Diagnostic:
        line, column = self.index.line_col(node.start)
        severity = RULES[code].severity
        return Diagnostic(code, severity, message, Location(line, column, node.path))

    # -- structure ---------------------------------------------------------------------------

    def _structure(self, parsed: ParsedPrompt) -> Iterator[Diagnostic]:
        root = parsed.tree
        names = parsed.section_names()
        if not names:
            yield self._node_diagnostic(
                "PS016", "The prompt has no sections; add at least <role> and <goal>.", root
            )
            return
        expected = (
            ("PS003", ROLE_TAGS, "Add a <role> section saying who the agent is."),
            ("PS004", GOAL_TAGS, "Add a <goal> section saying what the agent must achieve."),
            (
                "PS005",
                OUTPUT_TAGS,
                "Add an <output_format> section describing the shape, length and tone of replies.",
            ),
        )
        for code, tags, message in expected:
            if not any(tag in names for tag in tags):
                yield self._node_diagnostic(code, message, root)
        seen: set[str] = set()
        for node in root.children:
            if node.name in seen:
                message = f"<{node.name}> appears more than once; merge the duplicates into one."
                yield self._node_diagnostic("PS007", message, node)
            seen.add(node.name)

    def _empty_elements(self, root: Node) -> Iterator[Diagnostic]:
        elements = {id(node): element for node, element in _pairs(root, self.parsed)}
        for node in root.walk()[1:]:
            element = elements.get(id(node))
            if node.children or element is None or element.attrib:
                continue
            if not node.inner(self.text).strip() or not "".join(element.itertext()).strip():
                message = f"<{node.name}> is empty; fill it in or remove it."
                yield self._node_diagnostic("PS006", message, node)

    def _duplicate_instructions(self, root: Node) -> Iterator[Diagnostic]:
        seen: dict[tuple[str, str], Node] = {}
        for node in root.walk()[1:]:
            if node.children:
                continue
            key = (node.name, " ".join(mask_markup(node.inner(self.text)).lower().split()))
            if not key[1]:
                continue
            if key in seen:
                first = self.index.line_col(seen[key].start)[0]
                message = f"This <{node.name}> repeats the one on line {first}; remove one."
                yield self._node_diagnostic("PS015", message, node)
            else:
                seen[key] = node

    def _contradictions(self, root: Node) -> Iterator[Diagnostic]:
        found = contradictions.statements(self.text, root)
        for conflict in contradictions.conflicts(found):
            first_line = self.index.line_col(conflict.first.offset)[0]
            message = (
                f'"{_clip(conflict.second.text)}" contradicts "{_clip(conflict.first.text)}" '
                f"(line {first_line}); keep one, or say when each applies."
            )
            severity: Severity = "info" if conflict.conditional else "warning"
            yield self._diagnostic("PS010", message, conflict.second.offset, severity)

    def _loose_text(self, parsed: ParsedPrompt) -> Iterator[Diagnostic]:
        root = parsed.tree
        bounds = [
            root.inner_start,
            *[x for n in root.children for x in (n.start, n.end)],
            root.inner_end,
        ]
        masked = mask_markup(self.text)
        for start, end in zip(bounds[::2], bounds[1::2], strict=True):
            chunk = masked[start:end]
            if chunk.strip():
                offset = start + len(chunk) - len(chunk.lstrip())
                message = (
                    "Text sits directly inside <prompt>; move it into a section such as <context>."
                )
                yield self._diagnostic("PS014", message, offset)

    # -- text-level rules --------------------------------------------------------------------

    def _variables(self) -> Iterator[Diagnostic]:
        if self.contract is None:
            return
        for ref in find_references(self.text, self.contract):
            if not self.contract.allows(ref.name):
                message = _undeclared_message(ref, self.contract)
                yield self._diagnostic("PS008", message, ref.start)
        used = {ref.name for ref in find_references(self.text, self.contract)}
        for name in sorted(self.contract.leaves - used):
            message = f"@{name} is available but never used (fine if it is not needed)."
            yield self._diagnostic("PS009", message, 0)

    def _placeholders(self) -> Iterator[Diagnostic]:
        masked = mask_markup(self.text)
        for match in _PLACEHOLDER.finditer(masked):
            found = _clip(match.group(0), 40)
            message = (
                f"Unresolved placeholder {found}; replace it with real content or an @variable."
            )
            yield self._diagnostic("PS012", message, match.start())

    def _fences(self) -> Iterator[Diagnostic]:
        masked = mask_markup(self.text)
        for match in re.finditer(r"^[ \t]*(```|~~~)", masked, re.MULTILINE):
            offset = match.start(1)
            if self._inside(offset, _FENCE_OK):
                continue
            message = "Markdown code fence in the prompt; remove it (the XML needs no fences)."
            yield self._diagnostic("PS013", message, offset)

    def _length(self) -> Iterator[Diagnostic]:
        tokens = math.ceil(len(self.text) / self.config.chars_per_token)
        if tokens > self.config.max_tokens:
            message = (
                f"The prompt is about {tokens:,} tokens; the budget is "
                f"{self.config.max_tokens:,}. Cut repetition and move reference material out."
            )
            yield self._diagnostic("PS011", message, 0)

    def _inside(self, offset: int, names: frozenset[str]) -> bool:
        if self.parsed is None:
            return False
        node: Node | None = self.parsed.tree.deepest_containing(offset, offset)
        while node is not None:
            if node.name in names:
                return True
            node = node.parent
        return False


_PLACEHOLDER = re.compile(
    r"\{\{[^{}\n]{1,60}\}\}"
    r"|\{\$[A-Za-z_]+\}|\$\{[^}\n]{1,60}\}"
    r"|\[(?i:insert|your|add|placeholder|todo|tbd|enter|fill in)\b[^\]\n]{0,60}\]"
    r"|(?:<|&lt;)\s*(?i:insert|placeholder)\b[^<>\n]{0,60}?(?:>|&gt;)"
    r"|\b(?:TODO|TBD|FIXME|XXX)\b|(?i:lorem ipsum)"
)


def _pairs(root: Node, parsed: ParsedPrompt | None) -> Iterator[tuple[Node, Any]]:
    """Outline nodes with their lxml elements (same document order, comments skipped)."""
    if parsed is None:
        return
    elements = [e for e in parsed.root.iter() if isinstance(e.tag, str)]
    yield from zip(root.walk(), elements, strict=True)


def _capped(diagnostics: Iterator[Diagnostic], limit: int) -> Iterator[Diagnostic]:
    counts: dict[str, int] = {}
    for diagnostic in diagnostics:
        counts[diagnostic.code] = counts.get(diagnostic.code, 0) + 1
        if counts[diagnostic.code] <= limit:
            yield diagnostic


def _clip(text: str, size: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= size else text[: size - 1] + "…"
