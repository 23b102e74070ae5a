"""Markup tokens with exact source offsets, and the element outline built from them.

lxml tells us whether a document is well-formed, but not where each element
starts and ends in the source text. Byte-preserving edits, lint locations and
nl-edit splicing all need those offsets, so this module scans the text itself.

`tokenize(text)` never fails: anything that is not recognisable markup is text
(a stray `<` included), so the repairer can use it on damaged input. In
`loose` mode a start tag is any `<name ...>` whose attribute part has no `<`
or `>`; attribute syntax is then checked by the caller. `outline(text)`
assumes a well-formed document (check with `xml.parse_prompt` first).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Literal

TokenKind = Literal["start", "end", "empty", "comment", "cdata", "pi", "doctype", "text"]

NAME = r"[^\W\d][\w.\-]*(?::[^\W\d][\w.\-]*)?"
_STRICT_ATTRS = r"""(?:\s+[^\s=/>"'<]+\s*=\s*(?:"[^"<]*"|'[^'<]*'))*"""
_TAGS = re.compile(
    rf"""
    (?P<end></(?P<end_name>{NAME})\s*>)
  | (?P<start><(?P<start_name>{NAME})(?P<attrs>{_STRICT_ATTRS})\s*(?P<slash>/?)>)
    """,
    re.VERBOSE,
)
_LOOSE_START = re.compile(rf"<(?P<start_name>{NAME})(?P<attrs>[^<>]*?)(?P<slash>/?)>")
# Constructs that run to a terminator: (opening, terminator, kind).
_DELIMITED: tuple[tuple[str, str, TokenKind], ...] = (
    ("<!--", "-->", "comment"),
    ("<![CDATA[", "]]>", "cdata"),
    ("<?", "?>", "pi"),
)


@dataclass(frozen=True, slots=True)
class Token:
    kind: TokenKind
    start: int
    end: int
    name: str = ""
    attrs: str = ""

    def source(self, text: str) -> str:
        return text[self.start : self.end]


def tokenize(text: str, *, loose: bool = False) -> list[Token]:
    """Split `text` into markup and text tokens that cover it exactly, in order.

    Linear time: terminators are looked up through `_Finder`, so a text full of
    unterminated `<!--` or `<?` does not rescan to the end for each one.
    """
    finder = _Finder(text)
    tokens: list[Token] = []
    pos = 0
    text_start = 0
    while (lt := text.find("<", pos)) != -1:
        token = _markup_at(text, lt, loose, finder)
        if token is None:
            pos = lt + 1
            continue
        if text_start < lt:
            tokens.append(Token("text", text_start, lt))
        tokens.append(token)
        pos = text_start = token.end
    if text_start < len(text):
        tokens.append(Token("text", text_start, len(text)))
    return tokens


class _Finder:
    """`str.find` with a memo per needle, amortised linear for forward-moving queries."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.memo: dict[str, tuple[int, int]] = {}

    def find(self, needle: str, start: int) -> int:
        cached = self.memo.get(needle)
        if cached is not None:
            since, found = cached
            if since <= start and (found == -1 or start <= found):
                return found
        found = self.text.find(needle, start)
        self.memo[needle] = (start, found)
        return found


def _markup_at(text: str, pos: int, loose: bool, finder: _Finder) -> Token | None:
    for opening, terminator, delimited in _DELIMITED:
        if text.startswith(opening, pos):
            end = finder.find(terminator, pos + len(opening))
            return None if end == -1 else Token(delimited, pos, end + len(terminator))
    if text.startswith("<!", pos):
        return _doctype_at(text, pos, finder)
    match = _TAGS.match(text, pos) or (_LOOSE_START.match(text, pos) if loose else None)
    if match is None:
        return None
    if match.group(0).startswith("</"):
        return Token("end", pos, match.end(), match.group("end_name"))
    kind: TokenKind = "empty" if match.group("slash") else "start"
    return Token(kind, pos, match.end(), match.group("start_name"), match.group("attrs"))


def _doctype_at(text: str, pos: int, finder: _Finder) -> Token | None:
    if text[pos + 2 : pos + 9].upper() != "DOCTYPE":
        return None
    close = finder.find(">", pos)
    bracket = finder.find("[", pos)
    if bracket != -1 and close != -1 and bracket < close:
        subset_end = finder.find("]", bracket)
        close = finder.find(">", subset_end) if subset_end != -1 else -1
    return None if close == -1 else Token("doctype", pos, close + 1)


@dataclass(eq=False, slots=True)
class Node:
    """One element: `start..end` spans the whole element, `inner_*` its content."""

    name: str
    start: int
    end: int = -1
    inner_start: int = -1
    inner_end: int = -1
    parent: Node | None = None
    children: list[Node] = field(default_factory=list)
    ordinal: int = 1  # 1-based position among same-name siblings
    namesakes: int = 1  # how many siblings (itself included) share the name

    @property
    def path(self) -> str:
        """XPath-like location, e.g. `prompt/rules/rule[2]` ([n] only among same-name siblings)."""
        parts: list[str] = []
        node: Node | None = self
        while node is not None:
            parts.append(node.step)
            node = node.parent
        return "/".join(reversed(parts))

    @property
    def step(self) -> str:
        return self.name if self.namesakes == 1 else f"{self.name}[{self.ordinal}]"

    def source(self, text: str) -> str:
        return text[self.start : self.end]

    def inner(self, text: str) -> str:
        return text[self.inner_start : self.inner_end]

    def walk(self) -> list[Node]:
        """This node and all its descendants, in document order."""
        nodes = [self]
        for child in self.children:
            nodes.extend(child.walk())
        return nodes

    def deepest_containing(self, start: int, end: int) -> Node:
        """The innermost element whose content holds `start..end` (this one if none deeper)."""
        index = bisect_right(self.children, start, key=lambda child: child.start) - 1
        if index >= 0:
            child = self.children[index]
            if child.start <= start and end <= child.end:
                if child.inner_start <= start and end <= child.inner_end:
                    return child.deepest_containing(start, end)
                return self  # the span touches the child's own tags
        return self


def outline(text: str) -> Node:
    """The element tree of a well-formed document, with source offsets."""
    root: Node | None = None
    stack: list[Node] = []
    for token in tokenize(text):
        if token.kind in ("start", "empty"):
            node = Node(token.name, token.start, parent=stack[-1] if stack else None)
            node.inner_start = token.end
            if stack:
                stack[-1].children.append(node)
            root = root or node
            if token.kind == "empty":
                node.end = node.inner_end = token.end
            else:
                stack.append(node)
        elif token.kind == "end" and stack:
            node = stack.pop()
            node.inner_end, node.end = token.start, token.end
    if root is None or stack:
        raise ValueError("outline() needs a well-formed document with a root element")
    for node in root.walk():
        _number_children(node)
    return root


def _number_children(node: Node) -> None:
    totals: dict[str, int] = {}
    for child in node.children:
        totals[child.name] = totals.get(child.name, 0) + 1
        child.ordinal = totals[child.name]
    for child in node.children:
        child.namesakes = totals[child.name]


def mask_markup(text: str) -> str:
    """`text` with tags, comments, PIs and doctypes blanked out (same length, newlines kept).

    CDATA keeps its content (it is text), minus the `<![CDATA[` / `]]>` markers.
    """
    pieces: list[str] = []
    for token in tokenize(text):
        chunk = token.source(text)
        if token.kind == "text":
            pieces.append(chunk)
        elif token.kind == "cdata":
            pieces.append(" " * 9 + chunk[9:-3] + "   ")
        else:
            pieces.append(re.sub(r"[^\n]", " ", chunk))
    return "".join(pieces)


class LineIndex:
    """Offset -> (line, column), both 1-based; columns count characters."""

    def __init__(self, text: str) -> None:
        self._starts = [0] + [m.end() for m in re.finditer(r"\n", text)]

    def line_col(self, offset: int) -> tuple[int, int]:
        line = bisect_right(self._starts, offset)
        return line, offset - self._starts[line - 1] + 1

    def offset(self, line: int, column: int) -> int:
        return self._starts[line - 1] + column - 1


def line_col(text: str, offset: int) -> tuple[int, int]:
    return LineIndex(text).line_col(offset)
