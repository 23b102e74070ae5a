"""Section-level refinement: apply a revised prompt to the original, touching only what changed.

A prompt's *sections* are the element children of `<prompt>`. Given the
original text and a revised prompt, sections are aligned in two passes:

1. identical sections (same tag and same normalised content) are anchored with
   a longest-matching-subsequence alignment, so inserting a `<rules>` before an
   existing `<rules>` does not shift the pairing;
2. between anchors, sections with the same tag are paired in order (updated);
   the rest are removed or added. A removed and an added section with identical
   content are reported as one move.

"Normalised content" ignores comments and whitespace runs, so a model that
re-indents or drops a comment has not changed the section.

The result is built from the ORIGINAL text: unchanged and moved sections keep
their exact bytes together with the whitespace and comments before them;
updated and added sections take the revised bytes, re-indented to the
original's indentation. The original's text before the first and after the
last section (`<prompt ...>`, trailing whitespace, `</prompt>`) is kept, so a
revision that changes nothing returns the original text unchanged. If text
sits directly inside `<prompt>` outside any section and the revision changes
it, there is no section to pin it to, and the revised text is returned as is.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any, Literal

from .xml import ParsedPrompt, parse_prompt

ChangeKind = Literal["added", "removed", "updated", "moved"]


@dataclass(frozen=True, slots=True)
class Section:
    tag: str
    index: int  # 1-based among sections with the same tag
    start: int
    end: int
    gap_start: int  # where the whitespace/comments leading up to this section begin
    key: str  # normalised content
    element: Any  # the lxml element

    def source(self, text: str) -> str:
        return text[self.start : self.end]

    @property
    def label(self) -> str:
        return f"<{self.tag}>" if self.index == 1 else f"<{self.tag}> #{self.index}"


@dataclass(frozen=True, slots=True)
class Layout:
    text: str
    head_end: int
    sections: tuple[Section, ...]
    loose_text: str

    @property
    def body_end(self) -> int:
        return self.sections[-1].end if self.sections else self.head_end


@dataclass(frozen=True, slots=True)
class SectionChange:
    kind: ChangeKind
    tag: str
    index: int
    summary: str


@dataclass(frozen=True, slots=True)
class Refinement:
    """The refined prompt text and what changed, one human-readable line per change."""

    text: str
    changes: tuple[SectionChange, ...] = ()
    notes: tuple[str, ...] = ()  # repairs made to the model's output on the way

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    @property
    def section(self) -> str | None:
        """The tag of the one section that changed, when exactly one did."""
        return self.changes[0].tag if len(self.changes) == 1 else None

    @property
    def summary(self) -> list[str]:
        return [change.summary for change in self.changes]


def layout(parsed: ParsedPrompt) -> Layout:
    elements = [child for child in parsed.root if isinstance(child.tag, str)]
    nodes = parsed.tree.children
    counts: dict[str, int] = {}
    sections: list[Section] = []
    previous_end = parsed.tree.inner_start
    for node, element in zip(nodes, elements, strict=True):
        counts[node.name] = counts.get(node.name, 0) + 1
        key = canonical(element)
        sections.append(
            Section(node.name, counts[node.name], node.start, node.end, previous_end, key, element)
        )
        previous_end = node.end
    loose = (parsed.root.text or "") + "".join(child.tail or "" for child in parsed.root)
    return Layout(parsed.text, parsed.tree.inner_start, tuple(sections), _ws(loose))


def canonical(element: Any) -> str:
    """Content of an element for comparison: tags, attributes, whitespace-collapsed text."""
    attrs = "".join(f' {k}="{v}"' for k, v in sorted(element.attrib.items()))
    parts = [f"<{element.tag}{attrs}>"]
    pending = element.text or ""
    for child in element:
        if isinstance(child.tag, str):
            parts += [_ws(pending), canonical(child)]
            pending = ""
        pending += child.tail or ""
    parts += [_ws(pending), f"</{element.tag}>"]
    return "".join(parts)


def _ws(text: str) -> str:
    return " ".join(text.split())


# --- alignment ----------------------------------------------------------------------------------

Pair = tuple[Section | None, Section | None]


def align(old: Sequence[Section], new: Sequence[Section]) -> list[Pair]:
    """Pairs (original, revised) in revised order; removals sit where they were."""
    pairs: list[Pair] = []
    matcher = SequenceMatcher(
        a=[(s.tag, s.key) for s in old], b=[(s.tag, s.key) for s in new], autojunk=False
    )
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            pairs += zip(old[i1:i2], new[j1:j2], strict=True)
        else:
            pairs += _align_by_tag(old[i1:i2], new[j1:j2])
    return pairs


def _align_by_tag(old: Sequence[Section], new: Sequence[Section]) -> list[Pair]:
    pairs: list[Pair] = []
    matcher = SequenceMatcher(a=[s.tag for s in old], b=[s.tag for s in new], autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            pairs += zip(old[i1:i2], new[j1:j2], strict=True)
        else:
            pairs += [(section, None) for section in old[i1:i2]]
            pairs += [(None, section) for section in new[j1:j2]]
    return pairs


def _find_moves(pairs: list[Pair]) -> dict[int, int]:
    """Index of each removal -> index of the addition that carries the same section."""
    moves: dict[int, int] = {}
    for i, (old, new) in enumerate(pairs):
        if old is None or new is not None:
            continue
        for j, (other_old, added) in enumerate(pairs):
            free = other_old is None and added is not None and j not in moves.values()
            if free and added is not None and (added.tag, added.key) == (old.tag, old.key):
                moves[i] = j
                break
    return moves


# --- building the result ------------------------------------------------------------------------


def diff_sections(original: str, revised: str) -> list[SectionChange]:
    return list(merge_revision(original, revised).changes)


def merge_revision(original: str, revised: str) -> Refinement:
    """Apply `revised` (a full prompt) to `original`; both must parse (repair first)."""
    old = layout(parse_prompt(original))
    new = layout(parse_prompt(revised))
    pairs = align(old.sections, new.sections)
    changes = _changes(pairs, new.text)
    if not old.sections or old.loose_text != new.loose_text:
        return Refinement(revised, tuple(changes) or _whole(original, revised))
    return Refinement(_build(old, new, pairs), tuple(changes))


def _whole(original: str, revised: str) -> tuple[SectionChange, ...]:
    if _ws(original) == _ws(revised):
        return ()
    return (SectionChange("updated", "prompt", 1, "Rewrote the text directly inside <prompt>."),)


def _build(old: Layout, new: Layout, pairs: list[Pair]) -> str:
    text = old.text
    moves = _find_moves(pairs)
    moved_sources = {added: pairs[removed][0] for removed, added in moves.items()}
    default_gap = _default_gap(old)
    out = [text[: old.head_end]]
    for position, (before, after) in enumerate(pairs):
        if after is None:
            continue
        source = moved_sources.get(position) or before
        if source is not None and source.key == after.key:
            out.append(text[source.gap_start : source.end])
        elif source is not None:
            gap = text[source.gap_start : source.start]
            out += [gap, _reindent(after, new.text, indent_of(text, source.start))]
        else:
            out += [default_gap, _reindent(after, new.text, indent_of(default_gap, None))]
    out.append(text[old.body_end :])
    return "".join(out)


def _default_gap(old: Layout) -> str:
    last = old.sections[-1]
    gap = old.text[last.gap_start : last.start]
    match = re.search(r"\s*$", gap)
    return match.group(0) if match and match.group(0) else "\n"


def indent_of(text: str, offset: int | None) -> str | None:
    """The whitespace that starts the line at `offset` (or ends `text`), if only whitespace."""
    head = text if offset is None else text[:offset]
    line = head[head.rfind("\n") + 1 :]
    return line if line.strip() == "" and "\n" in head else None


def _reindent(section: Section, text: str, target: str | None) -> str:
    source = section.source(text)
    current = indent_of(text, section.start)
    if target is None or current is None or current == target:
        return source
    return shift_indent(source, current, target)


def shift_indent(source: str, current: str, target: str) -> str:
    """Re-indent every line after the first from `current` to `target` indentation."""
    lines = source.split("\n")
    shifted = [target + line.removeprefix(current) if line.strip() else line for line in lines[1:]]
    return "\n".join([lines[0], *shifted])


# --- change summaries ---------------------------------------------------------------------------


def _changes(pairs: list[Pair], revised_text: str) -> list[SectionChange]:
    moves = _find_moves(pairs)
    changes: list[SectionChange] = []
    for position, (before, after) in enumerate(pairs):
        if position in moves.values():
            continue
        if position in moves:
            moved = pairs[moves[position]][1]
            assert moved is not None
            changes.append(_moved(moved, pairs, moves[position]))
        elif before is None and after is not None:
            changes.append(SectionChange("added", after.tag, after.index, f"Added {after.label}."))
        elif after is None and before is not None:
            summary = f"Removed {before.label}."
            changes.append(SectionChange("removed", before.tag, before.index, summary))
        elif before is not None and after is not None and before.key != after.key:
            summary = f"Updated {after.label}{_detail(before.element, after.element)}."
            changes.append(SectionChange("updated", after.tag, after.index, summary))
    return changes


def _moved(section: Section, pairs: list[Pair], position: int) -> SectionChange:
    previous = next((p[1] for p in reversed(pairs[:position]) if p[1] is not None), None)
    where = f"after {previous.label}" if previous else "to the top"
    return SectionChange("moved", section.tag, section.index, f"Moved {section.label} {where}.")


def _detail(old: Any, new: Any) -> str:
    """`: added 2 <rule>, changed 1 <rule>` when the section is a list of child elements."""
    old_children = [c for c in old if isinstance(c.tag, str)]
    new_children = [c for c in new if isinstance(c.tag, str)]
    if not old_children and not new_children:
        return ""
    counts: dict[tuple[str, str], int] = {}
    matcher = SequenceMatcher(
        a=[(c.tag, canonical(c)) for c in old_children],
        b=[(c.tag, canonical(c)) for c in new_children],
        autojunk=False,
    )
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        for pair in _align_children(old_children[i1:i2], new_children[j1:j2]):
            counts[pair] = counts.get(pair, 0) + 1
    parts = [f"{kind} {n} <{tag}>" for (kind, tag), n in counts.items()]
    return ": " + ", ".join(parts) if parts else ""


def _align_children(old: list[Any], new: list[Any]) -> list[tuple[str, str]]:
    result: list[tuple[str, str]] = []
    matcher = SequenceMatcher(a=[c.tag for c in old], b=[c.tag for c in new], autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            result += [("changed", c.tag) for c in new[j1:j2]]
        else:
            result += [("removed", c.tag) for c in old[i1:i2]]
            result += [("added", c.tag) for c in new[j1:j2]]
    return result
