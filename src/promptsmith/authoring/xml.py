"""Hardened parsing of XML prompts, and pulling the prompt out of model output.

A prompt is one XML document whose root is `<prompt>`; its element children
are the *sections* (`<role>`, `<goal>`, `<rules>`, ...).

Parsing is hardened on purpose, because prompts come from users and models:

* any `<!DOCTYPE` / `<!ENTITY` is rejected before lxml sees the text, so no
  DTD is loaded, no entity is ever expanded (billion laughs, external
  entities) and nothing touches the network (`no_network`, `load_dtd=False`,
  `resolve_entities=False` stay on as a second line of defence);
* `huge_tree=False`, plus our own limits on size, nesting depth and element
  count (`XMLLimits`, `DEFAULT_LIMITS`).

Every failure is a `PromptXMLError` whose message is written for a model to act
on: line, column, what is wrong in plain words, and the offending line with a
caret under the column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import islice
from typing import Any

from lxml import etree

from ..exceptions import PromptsmithError
from .markup import Node, outline

SECTION_TAGS = frozenset(
    {
        *("role", "persona", "goal", "objective", "task", "context", "background", "audience"),
        *("tone", "style", "voice", "rules", "constraints", "guidelines", "policies"),
        *("instructions", "steps", "workflow", "process", "tools", "knowledge", "faq"),
        *("output_format", "format", "response_format", "examples", "notes", "escalation"),
        *("fallback", "safety", "variables"),
    }
)
"""Conventional top-level section names (the repairer and linter know these)."""


@dataclass(frozen=True, slots=True)
class XMLLimits:
    max_chars: int = 200_000
    max_depth: int = 24
    max_elements: int = 5_000


DEFAULT_LIMITS = XMLLimits()


class PromptXMLError(PromptsmithError, ValueError):
    """A prompt is not acceptable XML. `code` is stable; `message` is model-readable.

    Codes: malformed, not_prompt_root, empty, dtd_forbidden, too_large,
    too_deep, too_many_elements, unrepairable.
    """

    def __init__(
        self, code: str, message: str, *, line: int | None = None, column: int | None = None
    ) -> None:
        self.code = code
        self.message = message
        self.line = line
        self.column = column
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class ParsedPrompt:
    """A well-formed prompt: the source text, lxml's tree and the offset outline."""

    text: str
    root: Any  # lxml.etree._Element; lxml ships no type stubs we rely on
    tree: Node

    @property
    def sections(self) -> list[Node]:
        return self.tree.children

    def section_names(self) -> list[str]:
        return [node.name for node in self.tree.children]


_DTD = re.compile(r"<!\s*(DOCTYPE|ENTITY|ELEMENT|ATTLIST)", re.IGNORECASE)


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
        remove_comments=False,
        strip_cdata=False,
        collect_ids=False,
        encoding="utf-8",  # we always hand lxml UTF-8 bytes, whatever the declaration says
    )


def parse_xml(text: str, limits: XMLLimits = DEFAULT_LIMITS) -> Any:
    """Parse any hardened XML document (root not checked) and return its root element."""
    if len(text) > limits.max_chars:
        raise PromptXMLError(
            "too_large",
            f"The prompt is {len(text):,} characters; the limit is {limits.max_chars:,}.",
        )
    if match := _DTD.search(text):
        line, column = _line_col(text, match.start())
        raise PromptXMLError(
            "dtd_forbidden",
            _located(text, line, column, "DTDs and entity declarations are not allowed"),
            line=line,
            column=column,
        )
    if not text.strip():
        raise PromptXMLError("empty", "The prompt is empty; expected a <prompt> element.")
    try:
        root = etree.fromstring(text.encode("utf-8"), _parser())
    except etree.XMLSyntaxError as exc:
        raise _syntax_error(text, exc) from None
    _check_no_dtd(root)
    _check_shape(root, limits)
    return root


def parse_prompt(text: str, limits: XMLLimits = DEFAULT_LIMITS) -> ParsedPrompt:
    """Parse a prompt document; the root must be `<prompt>`."""
    root = parse_xml(text, limits)
    if root.tag != "prompt":
        raise PromptXMLError(
            "not_prompt_root",
            f"The root element is <{root.tag}>; it must be <prompt>. "
            "Wrap every section in a single <prompt> … </prompt> element.",
            line=root.sourceline,
            column=1,
        )
    return ParsedPrompt(text, root, outline(text))


def is_well_formed(text: str, limits: XMLLimits = DEFAULT_LIMITS) -> bool:
    try:
        parse_prompt(text, limits)
    except PromptXMLError:
        return False
    return True


def _check_no_dtd(root: Any) -> None:
    docinfo = root.getroottree().docinfo
    has_entities = next(root.iter(etree.Entity), None) is not None
    if docinfo.internalDTD is not None or docinfo.externalDTD is not None or has_entities:
        raise PromptXMLError("dtd_forbidden", "DTDs and entity references are not allowed.")


def _check_shape(root: Any, limits: XMLLimits) -> None:
    depth = deepest = count = 0
    for event, element in etree.iterwalk(root, events=("start", "end")):
        if not isinstance(element.tag, str):
            continue  # comments and processing instructions
        if event == "start":
            depth += 1
            count += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    if deepest > limits.max_depth:
        raise PromptXMLError(
            "too_deep",
            f"Elements are nested {deepest} levels deep; the limit is {limits.max_depth}.",
        )
    if count > limits.max_elements:
        raise PromptXMLError(
            "too_many_elements",
            f"The prompt has {count:,} elements; the limit is {limits.max_elements:,}.",
        )


_FRIENDLY: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"Opening and ending tag mismatch: (\S+) line (\d+) and (\S+)"),
        r"closing tag </\3> does not match the open element <\1> (opened on line \2)",
    ),
    (
        re.compile(r"Premature end of data in tag (\S+) line (\d+)"),
        r"<\1> (opened on line \2) is never closed",
    ),
    (
        re.compile(r"xmlParseEntityRef: no name|EntityRef: expecting ';'"),
        "a bare '&' in text must be written as &amp;",
    ),
    (
        re.compile(r"Entity '(\w+)' not defined"),
        r"&\1; is not an XML entity; write the character itself, or &amp;\1; for the literal text",
    ),
    (
        re.compile(r"StartTag: invalid element name"),
        "a bare '<' in text must be written as &lt;",
    ),
    (
        re.compile(r"Extra content at the end of the document"),
        "content after the root element; everything must be inside one <prompt> … </prompt>",
    ),
    (
        re.compile(r"Start tag expected, '<' not found"),
        "text outside any element; the document must start with <prompt>",
    ),
    (
        re.compile(r"AttValue: \" or ' expected"),
        'attribute values must be in straight double quotes, e.g. name="value"',
    ),
    (re.compile(r"Double hyphen within comment"), "'--' is not allowed inside a comment"),
    (re.compile(r"Document is empty"), "the document is empty"),
]


def _syntax_error(text: str, exc: etree.XMLSyntaxError) -> PromptXMLError:
    raw = (exc.msg or str(exc)).split(", line ")[0].strip()
    friendly = next(
        (pattern.sub(repl, raw, count=1) for pattern, repl in _FRIENDLY if pattern.search(raw)),
        raw,
    )
    line, byte_column = exc.position if exc.position else (1, 1)
    column = _char_column(text, line, byte_column)
    return PromptXMLError(
        "malformed", _located(text, line, column, friendly), line=line, column=column
    )


def _char_column(text: str, line: int, byte_column: int) -> int:
    """libxml2 counts columns in UTF-8 bytes; we report characters."""
    lines = text.split("\n")
    if not 1 <= line <= len(lines):
        return max(byte_column, 1)
    prefix = lines[line - 1].encode("utf-8")[: max(byte_column - 1, 0)]
    return len(prefix.decode("utf-8", errors="ignore")) + 1


def _line_col(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _located(text: str, line: int, column: int, message: str) -> str:
    lines = text.split("\n")
    head = f"Line {line}, column {column}: {message}."
    if not 1 <= line <= len(lines):
        return head
    source = lines[line - 1].rstrip("\r")
    start = max(0, column - 60)
    snippet = source[start : start + 120]
    gutter = f"{line} | "
    caret = " " * (len(gutter) + column - 1 - start) + "^"
    return f"{head}\n{gutter}{snippet}\n{caret}"


# --- pulling a prompt out of model output ------------------------------------------------------

MAX_CANDIDATES = 8  # `<prompt>` openings considered in one model output
_PROMPT_OPEN = re.compile(r"<prompt(?=[\s>/])")
_PROMPT_TAG = re.compile(r"<prompt(?=[\s>/])[^<>]*?(/?)>|</prompt\s*>")
_FENCE_LINE = re.compile(r"^[ \t]*(```|~~~)[^\n]*$", re.MULTILINE)
_FENCED_BLOCK = re.compile(
    r"^[ \t]*(```|~~~)[^\n]*\n(.*?)^[ \t]*\1[ \t]*$", re.MULTILINE | re.DOTALL
)
_LEAD_PROSE = re.compile(
    r"\A\s*(?:(?:here|sure|certainly|of course|okay|ok|below|great|i['’]ve|i have|this is)\b"
    r"[^\n<]*|[^\n<]*:)[ \t]*\n",
    re.IGNORECASE,
)
_TAIL_PROSE = re.compile(
    r"\n\s*(?:let me know|i hope|hope this|feel free|this prompt|note:|notes:|explanation|"
    r"\*\*|key (?:changes|improvements))[^<]*\Z",
    re.IGNORECASE,
)


def extract_prompt(model_output: str) -> str:
    """The `<prompt>…</prompt>` inside model output, without fences or surrounding prose.

    Several candidates (a `<prompt>` mentioned in prose, then the real one) are
    ranked: well-formed beats closed beats unclosed, then longer wins. Without
    any `<prompt>` the best fenced block, or the text minus obvious lead-in and
    sign-off prose, is returned, so `repair` can still wrap it.
    """
    text = model_output.replace("\ufeff", "")
    blocks = _prompt_blocks(text)
    if blocks:
        return max(blocks, key=_block_rank)[0]
    fenced = [m.group(2) for m in _FENCED_BLOCK.finditer(text)]
    if fenced:
        return max(fenced, key=lambda block: ("<" in block, len(block))).strip()
    text = _FENCE_LINE.sub("", text)
    text = _LEAD_PROSE.sub("", text, count=1) if re.search(r"<\w", text) else text
    head, tail = text[:-2000], text[-2000:]  # sign-offs sit at the end; bound the regex work
    return (head + _TAIL_PROSE.sub("", tail)).strip()


def _prompt_blocks(text: str) -> list[tuple[str, bool]]:
    blocks: list[tuple[str, bool]] = []
    for opening in islice(_PROMPT_OPEN.finditer(text), MAX_CANDIDATES):
        end = _balanced_close(text, opening.start())
        if end is None:
            rest = text[opening.start() :]
            fence = _FENCE_LINE.search(rest)
            blocks.append(((rest[: fence.start()] if fence else rest).rstrip(), False))
        else:
            blocks.append((text[opening.start() : end], True))
    return blocks


def _balanced_close(text: str, start: int) -> int | None:
    depth = 0
    for match in _PROMPT_TAG.finditer(text, start):
        if match.group(0).startswith("</"):
            depth -= 1
        elif not match.group(1):
            depth += 1
        elif depth == 0:
            return match.end()  # <prompt/> at top level
        if depth == 0:
            return match.end()
    return None


def _block_rank(block: tuple[str, bool]) -> tuple[bool, bool, int]:
    text, closed = block
    return (closed and is_well_formed(text), closed, len(text))
