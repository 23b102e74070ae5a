"""nl-edit: find the selection, clean the model's rewrite, and check it can be spliced back.

Two calls around the model call:

    selection = locate_selection(full_prompt, selected_text, context)   # 400 if not found
    ... model call ...
    result = check_rewrite(selection, model_output, contract)

`result.status` is `ok`, `repaired` (usable; `notes` says what was fixed) or
`reask` (`reason` is written for the model: send it back and ask again). A
`reask` caused only by invented variables carries `fallback`, a usable result
with those variables replaced by plain words, for when re-asking is not an option.

Selection matching tries, in order: the exact text; the text with any
whitespace differences (CRLF vs LF, tabs, re-wrapped lines); the text with
`&`, `<`, `>` escaped as the XML source has them. With several matches, the
one inside an element named in `context` (e.g. "goal section") wins, else the
first.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field, replace
from typing import Literal

from ..exceptions import BadRequest
from .markup import outline, tokenize
from .repair import escape_text, repair_fragment
from .variables import VariableContract, replace_undeclared, undeclared, undeclared_message
from .xml import PromptXMLError, is_well_formed, parse_prompt

SpliceStatus = Literal["ok", "repaired", "reask"]
MatchKind = Literal["exact", "whitespace", "escaped", "standalone"]


class SelectionError(BadRequest):
    """`selectedText` cannot be used with `fullPrompt` (HTTP 400)."""

    def __init__(self, message: str) -> None:
        super().__init__(error=message, message=message)


@dataclass(frozen=True, slots=True)
class Selection:
    full_prompt: str
    start: int
    end: int
    path: str | None  # enclosing element, e.g. "prompt/rules/rule[2]"; None if unknown
    kind: Literal["text", "markup"]  # markup: the selection includes (part of) a tag
    well_formed: bool  # whether full_prompt parses as a prompt
    match: MatchKind = "exact"

    @property
    def text(self) -> str:
        return self.full_prompt[self.start : self.end]

    def describe(self) -> str:
        """Where the selection is, for the `{{location}}` of the edit request template."""
        where = self.path or "unknown (the prompt could not be parsed)"
        if self.kind == "markup":
            return f"{where}: the selection contains XML tags; keep any elements you return whole."
        inside = f" inside <{self.element}>" if self.element else ""
        return f"{where}: plain text{inside}; answer with plain text and no tags."

    @property
    def element(self) -> str | None:
        return re.sub(r"\[\d+\]$", "", self.path.rsplit("/", 1)[-1]) if self.path else None


@dataclass(frozen=True, slots=True)
class SpliceResult:
    status: SpliceStatus
    rewritten_text: str
    full_prompt: str | None
    selection: Selection
    reason: str | None = None
    notes: tuple[str, ...] = ()
    fallback: SpliceResult | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return self.status != "reask"


# --- locating the selection ---------------------------------------------------------------------


def locate_selection(
    full_prompt: str | None, selected_text: str, context: str | None = None
) -> Selection:
    if not selected_text or not selected_text.strip():
        raise SelectionError("selectedText is empty; highlight the text to rewrite.")
    if not full_prompt:
        return _standalone(selected_text)
    escaped = html.escape(selected_text, quote=False)
    attempts: list[tuple[MatchKind, str]] = [
        ("exact", selected_text),
        ("whitespace", selected_text),
    ]
    if escaped != selected_text:
        attempts += [("escaped", escaped)]
    for how, needle in attempts:
        spans = _find(full_prompt, needle, flexible=how != "exact")
        if spans:
            return _selection(full_prompt, _pick(full_prompt, spans, context), how)
    raise SelectionError(
        "selectedText was not found in fullPrompt; send the exact text highlighted in the editor."
    )


def _standalone(selected_text: str) -> Selection:
    has_tags = any(t.kind != "text" for t in tokenize(selected_text))
    kind: Literal["text", "markup"] = "markup" if has_tags else "text"
    return Selection(selected_text, 0, len(selected_text), None, kind, False, "standalone")


def _find(haystack: str, needle: str, *, flexible: bool) -> list[tuple[int, int]]:
    if not flexible:
        return [
            (m.start(), m.start() + len(needle)) for m in re.finditer(re.escape(needle), haystack)
        ]
    words = needle.split()
    if not words:
        return []
    pattern = r"\s+".join(re.escape(word) for word in words)
    return [m.span() for m in re.finditer(pattern, haystack)]


def _pick(full_prompt: str, spans: list[tuple[int, int]], context: str | None) -> tuple[int, int]:
    if len(spans) == 1 or not context or not is_well_formed(full_prompt):
        return spans[0]
    hint = set(re.findall(r"[a-z_]+", context.lower()))
    tree = outline(full_prompt)
    for start, end in spans:
        node = tree.deepest_containing(start, end)
        names = {part.split("[")[0] for part in node.path.split("/")[1:]}
        if names & hint:
            return start, end
    return spans[0]


def _selection(full_prompt: str, span: tuple[int, int], how: MatchKind) -> Selection:
    start, end = span
    well_formed = is_well_formed(full_prompt)
    path = outline(full_prompt).deepest_containing(start, end).path if well_formed else None
    touches_markup = any(
        t.kind != "text" and t.start < end and start < t.end for t in tokenize(full_prompt)
    )
    kind: Literal["text", "markup"] = "markup" if touches_markup else "text"
    return Selection(full_prompt, start, end, path, kind, well_formed, how)


# --- cleaning the model's answer ----------------------------------------------------------------

_FENCE = re.compile(r"\A\s*(```|~~~)[^\n]*\n(.*?)\n?[ \t]*\1\s*\Z", re.DOTALL)
_INNER_FENCE = re.compile(
    r"^[ \t]*(```|~~~)[^\n]*\n(.*?)\n[ \t]*\1[ \t]*$", re.MULTILINE | re.DOTALL
)
_MAX_PROSE_AROUND_FENCE = 400
_LEAD_IN = re.compile(
    r"\A\s*(?:(?:sure|certainly|of course|okay|ok|here(?:'s| is| are)|rewritten|revised|updated|"
    r"new version|replacement)\b[^\n]*?:|(?:rewritten|revised|updated|replacement)(?: text)?:)"
    r"[ \t]*(?:\n|(?=\S))",
    re.IGNORECASE,
)
_SIGN_OFF = re.compile(
    r"\n\s*\n\s*(?:let me know|i hope|hope this|feel free|this (?:version|rewrite)|note:)[^\n]*\Z",
    re.IGNORECASE,
)
_WRAPPERS = (
    "rewrite",
    "rewritten_text",
    "rewritten",
    "replacement",
    "output",
    "answer",
    "selection",
)
_QUOTES = {'"': '"', "“": "”", "'": "'", "‘": "’", "«": "»", "`": "`"}


def clean_rewrite(model_output: str, selection: Selection) -> str:
    """The replacement text alone: no fences, lead-in prose, quotes or wrapper tags."""
    text = model_output.replace("\ufeff", "").strip()
    for _ in range(3):  # layers come in any order: prose, then a fence, then quotes ...
        before = text
        text = _LEAD_IN.sub("", text, count=1).strip()
        text = _SIGN_OFF.sub("", text).strip()
        if fence := _FENCE.match(text):
            text = fence.group(2).strip()
        elif "```" not in selection.text and "~~~" not in selection.text:
            text = _fenced_among_prose(text)
        text = _strip_wrapper(text, _WRAPPERS).strip()
        text = _strip_quotes(text, selection.text.strip())
        if text == before:
            break
    return text


def _fenced_among_prose(text: str) -> str:
    """The one fenced block of an answer that only has short prose around it."""
    blocks = list(_INNER_FENCE.finditer(text))
    if len(blocks) != 1:
        return text
    outside = text[: blocks[0].start()] + text[blocks[0].end() :]
    if "<" in outside or len(outside.strip()) > _MAX_PROSE_AROUND_FENCE:
        return text
    return blocks[0].group(2).strip()


def _strip_wrapper(text: str, names: tuple[str, ...] | list[str]) -> str:
    for name in names:
        match = re.fullmatch(rf"<{name}(?:\s[^<>]*)?>(.*)</{name}\s*>", text, re.DOTALL)
        if match:
            return match.group(1)
    return text


def _strip_quotes(text: str, selected: str) -> str:
    if len(text) < 2 or text[0] not in _QUOTES or text[-1] != _QUOTES[text[0]]:
        return text
    if selected[:1] == text[0]:
        return text  # the selection itself was quoted
    inner = text[1:-1]
    return inner if text[0] not in inner else text


def _with_outer_whitespace(rewrite: str, selected: str) -> str:
    lead = selected[: len(selected) - len(selected.lstrip())]
    trail = selected[len(selected.rstrip()) :]
    return lead + rewrite.strip() + trail


# --- checking -----------------------------------------------------------------------------------


def check_rewrite(
    selection: Selection, model_output: str, contract: VariableContract | None = None
) -> SpliceResult:
    notes: list[str] = []
    rewrite = _unwrap_full_prompt(clean_rewrite(model_output, selection), selection, notes)
    if rewrite is None:
        reason = "you returned the whole prompt; return only the replacement for the selection"
        return _reask(selection, model_output.strip(), reason)
    if not rewrite.strip():
        return _reask(selection, "", "the rewrite was empty; return the rewritten text itself")
    if selection.kind == "text" and selection.element:
        rewrite = _strip_echoed_element(rewrite, selection.element, notes)
    rewrite = _with_outer_whitespace(rewrite, selection.text)
    if selection.kind == "text" and (tag := _first_tag(rewrite)):
        where = f" inside <{selection.element}>" if selection.element else ""
        return _reask(
            selection,
            rewrite,
            f"the selected text is plain text{where}, so the replacement must be plain text "
            f"without XML tags, but it contains {tag}; return only the rewritten words",
        )
    if contract is not None:
        rewrite = _rename_near_misses(rewrite, contract, notes)
    return _finish(selection, rewrite, contract, notes)


def _finish(
    selection: Selection, rewrite: str, contract: VariableContract | None, notes: list[str]
) -> SpliceResult:
    rewrite, spliced, error = _splice(selection, rewrite, notes)
    if error:
        return _reask(selection, rewrite, error)
    invented = undeclared(rewrite, contract) if contract is not None else []
    status: SpliceStatus = "repaired" if notes else "ok"
    result = SpliceResult(status, rewrite, spliced, selection, None, tuple(notes))
    if not invented or contract is None:
        return result
    messages = "; ".join(dict.fromkeys(undeclared_message(ref, contract) for ref in invented))
    fix = replace_undeclared(rewrite, contract)
    fallback = _finish(selection, fix.text, contract, [*notes, *fix.warnings])
    reason = (
        f"The rewrite uses variables that do not exist: {messages} "
        "Use only the available variables, or describe the value in words."
    )
    return replace(result, status="reask", reason=reason, fallback=fallback)


def _splice(
    selection: Selection, rewrite: str, notes: list[str]
) -> tuple[str, str | None, str | None]:
    """(rewrite, spliced full prompt, error) — escaping or balancing the rewrite if that helps."""
    if selection.match == "standalone":
        return rewrite, None, None
    if not selection.well_formed:
        notes.append("fullPrompt is not well-formed XML, so the result was not checked")
        return rewrite, _join(selection, rewrite), None
    if selection.kind == "text":
        escaped = escape_text(rewrite)
        notes.extend(escaped.notes)
        rewrite = escaped.text
    error = _parse_error(_join(selection, rewrite))
    if error and _balanced(selection.text):
        fixed = repair_fragment(rewrite)
        if _parse_error(_join(selection, fixed.text)) is None:
            notes.extend(fixed.notes)
            rewrite, error = fixed.text, None
    if error:
        return rewrite, None, f"splicing the rewrite into the prompt breaks the XML: {error}"
    return rewrite, _join(selection, rewrite), None


def _join(selection: Selection, rewrite: str) -> str:
    full = selection.full_prompt
    return full[: selection.start] + rewrite + full[selection.end :]


def _parse_error(text: str) -> str | None:
    try:
        parse_prompt(text)
    except PromptXMLError as exc:
        return exc.message
    return None


def _balanced(fragment: str) -> bool:
    depth = 0
    for token in tokenize(fragment):
        depth += {"start": 1, "end": -1}.get(token.kind, 0)
        if depth < 0:
            return False
    return depth == 0


def _first_tag(text: str) -> str | None:
    for token in tokenize(text):
        if token.kind in ("start", "end", "empty"):
            return token.source(text)
    return None


def _strip_echoed_element(rewrite: str, element: str, notes: list[str]) -> str:
    stripped = _strip_wrapper(rewrite.strip(), [element])
    if stripped != rewrite.strip():
        notes.append(f"removed the <{element}> tags the model repeated around the rewrite")
        return stripped.strip()
    return rewrite


def _unwrap_full_prompt(rewrite: str, selection: Selection, notes: list[str]) -> str | None:
    """If the model returned the whole prompt, cut out the part that replaces the selection."""
    if "<prompt" not in rewrite or "<prompt" in selection.text or selection.match == "standalone":
        return rewrite
    full = selection.full_prompt.strip()
    offset = len(selection.full_prompt) - len(selection.full_prompt.lstrip())
    start, end = selection.start - offset, selection.end - offset
    rewrite = rewrite.strip()
    prefix = len(_common_prefix(full, rewrite))
    suffix = len(_common_prefix(full[::-1], rewrite[::-1]))
    if prefix < start or suffix < len(full) - end or start < 0 or end > len(full):
        return None
    notes.append("took the rewritten selection out of the whole prompt the model returned")
    return rewrite[start : max(start, len(rewrite) - (len(full) - end))]


def _common_prefix(a: str, b: str) -> str:
    size = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        size += 1
    return a[:size]


def _rename_near_misses(rewrite: str, contract: VariableContract, notes: list[str]) -> str:
    pieces, pos = [], 0
    for ref in undeclared(rewrite, contract):
        if (name := contract.suggest(ref.name)) is not None:
            pieces += [rewrite[pos : ref.start], f"@{name}"]
            pos = ref.end
            notes.append(f"replaced {ref.token} with the declared @{name}")
    return "".join([*pieces, rewrite[pos:]])


def _reask(selection: Selection, rewrite: str, reason: str) -> SpliceResult:
    message = reason[0].upper() + reason[1:] + "."
    return SpliceResult("reask", rewrite, None, selection, message)
