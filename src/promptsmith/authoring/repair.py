"""Deterministic, best-effort repair of the XML damage models typically do.

`repair(text)` returns a prompt that `parse_prompt` accepts, or raises
`PromptXMLError` (code `unrepairable`, or a limit code such as `too_large`).
A prompt that already parses comes back unchanged, and repair is idempotent.
Untouched markup keeps its exact bytes; only damaged pieces are rewritten.

What it fixes, in order:

1. fences and prose around the prompt (`extract_prompt`), XML-illegal control
   characters, DOCTYPE declarations (dropped, never expanded), XML
   declarations, `--` inside comments;
2. in text: bare `&` -> `&amp;`, HTML entities (`&nbsp;`, `&mdash;`) -> the
   character, a `<` that starts no tag -> `&lt;`, `]]>` -> `]]&gt;`;
3. in tags: smart or missing quotes around attribute values, duplicate
   attributes, namespace prefixes (`a:b` -> `a_b`); a "tag" whose attributes
   make no sense (`a<b and c>d`) is text;
4. structure: a mismatched close tag closes the open element when that element
   is never closed later (else it is dropped); a close tag for an outer element
   closes the inner ones first; an unclosed element is closed before a sibling
   of the same name or, for conventional sections (`<goal>` after an unclosed
   `<role>`), before the next section; whatever is open at the end is closed;
5. the root: text around a single `<prompt>` is dropped; anything else is
   wrapped in `<prompt>`.
"""

from __future__ import annotations

import html.entities
import re
from collections import Counter
from dataclasses import dataclass, field

from .markup import Token, tokenize
from .xml import (
    DEFAULT_LIMITS,
    SECTION_TAGS,
    PromptXMLError,
    XMLLimits,
    extract_prompt,
    is_well_formed,
    parse_prompt,
)

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_AMP = re.compile(r"&(?:(#\d+|#x[0-9a-fA-F]+)|([A-Za-z][\w.\-]*));|&")
_XML_ENTITIES = {"amp", "lt", "gt", "quot", "apos"}
_ATTR = re.compile(
    r"""\s*([^\s=/"'“”‘’<>]+)\s*=\s*("[^"]*"|'[^']*'|[“”„][^“”"]*[“”"]|[‘’][^‘’']*[‘’']|[^\s"'“”‘’>]+)"""
)
_REF = r"&(?:[A-Za-z][\w.\-]*|#\d+|#x[0-9a-fA-F]+);"
_STRAIGHT_ATTR = re.compile(
    rf"""\s+[^\s=/"'<>:]+\s*=\s*(?:"(?:[^"<&]|{_REF})*"|'(?:[^'<&]|{_REF})*')"""
)


@dataclass(frozen=True, slots=True)
class Repaired:
    text: str
    notes: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.notes)


def repair(text: str, limits: XMLLimits = DEFAULT_LIMITS) -> str:
    return repair_with_notes(text, limits).text


def repair_with_notes(text: str, limits: XMLLimits = DEFAULT_LIMITS) -> Repaired:
    """Repair `text`; `notes` says in plain words what was changed (empty if nothing)."""
    if len(text) > limits.max_chars:
        parse_prompt(text, limits)  # raises the too_large error
    if is_well_formed(text, limits):
        return Repaired(text)
    notes = _Notes()
    work = extract_prompt(text)
    if not work.strip():
        raise PromptXMLError("empty", "The prompt is empty; expected a <prompt> element.")
    if work != text.strip():
        notes.add("removed fences or prose around the prompt")
    if _CONTROL.search(work):
        work = _CONTROL.sub("", work)
        notes.add("removed control characters that XML does not allow")
    work = _Rebuilder(work, notes, limits).run()
    work = _fix_root(work, notes)
    try:
        parse_prompt(work, limits)
    except PromptXMLError as exc:
        if exc.code in ("malformed", "not_prompt_root", "empty"):
            raise PromptXMLError(
                "unrepairable", f"Could not repair the prompt. {exc.message}", line=exc.line
            ) from None
        raise
    return Repaired(work, tuple(notes.items))


def escape_text(text: str) -> Repaired:
    """Plain text made safe as XML character data (bare `&`, `<`, `]]>`, HTML entities)."""
    notes = _Notes()
    return Repaired(_fix_text(text, notes), tuple(notes.items))


def repair_fragment(text: str) -> Repaired:
    """Balance and clean a fragment of element content; the result is not checked here."""
    notes = _Notes()
    fixed = _Rebuilder(_CONTROL.sub("", text), notes, DEFAULT_LIMITS).run()
    return Repaired(fixed, tuple(notes.items))


@dataclass
class _Notes:
    items: list[str] = field(default_factory=list)

    def add(self, note: str) -> None:
        if note not in self.items:
            self.items.append(note)


class _Rebuilder:
    """One pass over loose tokens: fix each token, keep a stack, balance the tags."""

    def __init__(self, text: str, notes: _Notes, limits: XMLLimits) -> None:
        self.text = text
        self.notes = notes
        self.max_depth = limits.max_depth
        self.tokens = tokenize(text, loose=True)
        self.out: list[str] = []
        self.stack: list[str] = []
        self.opens_after: Counter[str] = Counter(t.name for t in self.tokens if t.kind == "start")
        self.closes_after: Counter[str] = Counter(t.name for t in self.tokens if t.kind == "end")

    def run(self) -> str:
        for token in self.tokens:
            if token.kind == "start":
                self.opens_after[token.name] -= 1
            elif token.kind == "end":
                self.closes_after[token.name] -= 1
            self._token(token)
        if self.stack:
            self.notes.add("closed elements that were never closed")
        while self.stack:
            self.out.append(f"</{self.stack.pop()}>")
        return "".join(self.out)

    def _token(self, token: Token) -> None:
        source = token.source(self.text)
        if token.kind == "text":
            self.out.append(_fix_text(source, self.notes))
        elif token.kind == "comment":
            self.out.append(self._fix_comment(source))
        elif token.kind == "doctype":
            self.notes.add("removed a DOCTYPE declaration (entities are never expanded)")
        elif token.kind == "pi" and re.match(r"<\?xml[\s?]", source, re.IGNORECASE):
            self.notes.add("removed the XML declaration")
        elif token.kind in ("start", "empty"):
            self._start(token, source)
        elif token.kind == "end":
            self._end(token.name)
        else:  # cdata, other processing instructions
            self.out.append(source)

    def _fix_comment(self, source: str) -> str:
        body = source[4:-3]
        if "--" not in body and not body.endswith("-"):
            return source
        self.notes.add("removed '--' from inside a comment")
        body = re.sub(r"-(?=-)", "- ", body)
        return f"<!--{body}{' ' if body.endswith('-') else ''}-->"

    # -- tags --------------------------------------------------------------------------------

    def _start(self, token: Token, source: str) -> None:
        tag = self._fix_tag(token, source)
        if tag is None:
            self.out.append(_fix_text(source, self.notes))
            return
        name = _fix_name(token.name)
        if token.kind == "start":
            self._close_unclosed_before(name)
            self.stack.append(name)
            if len(self.stack) > self.max_depth:
                raise PromptXMLError(
                    "too_deep",
                    f"Elements are nested more than {self.max_depth} levels deep.",
                )
        self.out.append(tag)

    def _fix_tag(self, token: Token, source: str) -> str | None:
        attrs = _parse_attrs(token.attrs)
        if attrs is None:
            return None
        name = _fix_name(token.name)
        clean = name == token.name and _STRAIGHT_ATTR.sub("", token.attrs).strip() == ""
        if clean and len({key for key, _ in attrs}) == len(attrs):
            return source
        self.notes.add("fixed tag syntax (attribute quotes, duplicate attributes, prefixed names)")
        seen: dict[str, str] = {}
        for key, value in attrs:
            seen.setdefault(_fix_name(key), value)
        rendered = "".join(f' {key}="{_attr_value(value)}"' for key, value in seen.items())
        return f"<{name}{rendered}{'/' if token.kind == 'empty' else ''}>"

    def _close_unclosed_before(self, name: str) -> None:
        if self.stack and self.stack[-1] == name and not self._will_close(-1, name):
            self._close_top(f"closed an unclosed <{name}> before the next <{name}>")
            return
        if name not in SECTION_TAGS:
            return
        level = 1 if self.stack[:1] == ["prompt"] else 0
        if not any(open_name in SECTION_TAGS for open_name in self.stack[level : level + 1]):
            return
        while len(self.stack) > level and not self._will_close(-1, name):
            self._close_top(f"closed an unclosed <{self.stack[-1]}> before <{name}>")

    def _end(self, name: str) -> None:
        name = _fix_name(name)
        match = _find_open(self.stack, name)
        if match is None:
            if self.stack and not self._will_close(-1):
                self.notes.add(f"replaced a mismatched </{name}> with </{self.stack[-1]}>")
                self.out.append(f"</{self.stack.pop()}>")
            else:
                self.notes.add(f"dropped a stray </{name}>")
            return
        while len(self.stack) - 1 > match:
            self._close_top(f"closed an unclosed <{self.stack[-1]}>")
        if self.stack[-1] != name:
            self.notes.add(f"matched </{name}> to <{self.stack[-1]}>")
        self.out.append(f"</{self.stack.pop()}>")

    def _close_top(self, note: str) -> None:
        """Close the innermost element implicitly, before any whitespace that ends its text."""
        self.notes.add(note)
        close = f"</{self.stack.pop()}>"
        last = self.out[-1] if self.out else "<"
        body = last.rstrip()
        if last.startswith("<") or body == last:
            self.out.append(close)
        else:
            self.out[-1:] = [body, close, last[len(body) :]]

    def _will_close(self, index: int, incoming: str = "") -> bool:
        """Whether the open element at `stack[index]` has a close tag still to come.

        `incoming` is an element about to open; it will use up one of its own closes.
        """
        name = self.stack[index]
        needed = self.stack[index:].count(name) + (name == incoming)
        return self.closes_after[name] - self.opens_after[name] >= needed


def _fix_text(text: str, notes: _Notes) -> str:
    fixed = _AMP.sub(lambda match: _fix_ampersand(match, notes), text)
    if "<" in fixed:
        fixed = fixed.replace("<", "&lt;")
        notes.add("escaped '<' characters that start no tag")
    if "]]>" in fixed:
        fixed = fixed.replace("]]>", "]]&gt;")
        notes.add("escaped ']]>' in text")
    return fixed


def _fix_ampersand(match: re.Match[str], notes: _Notes) -> str:
    numeric, name = match.group(1), match.group(2)
    if numeric and _valid_char_ref(numeric):
        return match.group(0)
    if name in _XML_ENTITIES:
        return match.group(0)
    if name and (char := html.entities.html5.get(f"{name};")):
        notes.add(f"replaced the HTML entity &{name}; with its character")
        return char
    notes.add("escaped bare '&' characters")
    return "&amp;" + match.group(0)[1:]


def _find_open(stack: list[str], name: str) -> int | None:
    for exact in (True, False):
        for index in range(len(stack) - 1, -1, -1):
            if stack[index] == name if exact else stack[index].lower() == name.lower():
                return index
    return None


def _parse_attrs(attrs: str) -> list[tuple[str, str]] | None:
    pairs: list[tuple[str, str]] = []
    pos = 0
    while pos < len(attrs):
        match = _ATTR.match(attrs, pos)
        if match is None:
            return None if attrs[pos:].strip() else pairs
        pairs.append((match.group(1), match.group(2)))
        pos = match.end()
    return pairs


def _attr_value(raw: str) -> str:
    if raw[:1] in "\"'“”„‘’" and len(raw) >= 2:
        raw = raw[1:-1]
    raw = _AMP.sub(_escape_unknown_ref, raw)
    return raw.replace("<", "&lt;").replace('"', "&quot;")


def _escape_unknown_ref(match: re.Match[str]) -> str:
    numeric, name = match.group(1), match.group(2)
    if (numeric and _valid_char_ref(numeric)) or name in _XML_ENTITIES:
        return match.group(0)
    return "&amp;" + match.group(0)[1:]


def _fix_name(name: str) -> str:
    return name if name.startswith("xml") or ":" not in name else name.replace(":", "_")


def _valid_char_ref(ref: str) -> bool:
    code = int(ref[2:], 16) if ref.startswith("#x") else int(ref[1:])
    if code in (0x9, 0xA, 0xD):
        return True
    return 0x20 <= code <= 0xD7FF or (0xE000 <= code <= 0x10FFFF and code not in (0xFFFE, 0xFFFF))


def _fix_root(text: str, notes: _Notes) -> str:
    top = [t for t in _top_level(text) if t.kind != "text" or t.source(text).strip()]
    elements = [t for t in top if t.kind in ("start", "empty")]
    prompts = [t for t in elements if t.name == "prompt"]
    if len(prompts) == 1:
        if len(elements) > 1 or any(t.kind == "text" for t in top):
            notes.add("removed content outside the <prompt> element")
        return text[prompts[0].start : _element_end(text, prompts[0])]
    notes.add("wrapped the content in a <prompt> root element")
    return f"<prompt>\n{text.strip()}\n</prompt>"


def _top_level(text: str) -> list[Token]:
    depth = 0
    top: list[Token] = []
    for token in tokenize(text):
        if depth == 0:
            top.append(token)
        if token.kind == "start":
            depth += 1
        elif token.kind == "end":
            depth -= 1
    return top


def _element_end(text: str, start: Token) -> int:
    if start.kind == "empty":
        return start.end
    depth = 0
    for token in tokenize(text[start.start :]):
        depth += {"start": 1, "end": -1}.get(token.kind, 0)
        if depth == 0:
            return start.start + token.end
    return len(text)
