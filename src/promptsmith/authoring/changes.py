"""The compact, model-facing edit format, and `refine()`, which accepts either format.

Full re-emission is the default: the model returns the whole revised
`<prompt>` and `sections.merge_revision` keeps every untouched section's
original bytes. It is the most reliable format across providers and small
models (no addressing mistakes possible). For long prompts, the model may
instead return only what changed, as a `<changes>` block:

    <changes>
      <replace section="goal">
        <goal>Re-engage leads 24h after their last reply.</goal>
      </replace>
      <add after="rules">
        <output_format>One short SMS, under 300 characters.</output_format>
      </add>
      <remove section="examples"/>
    </changes>

* `section` names a top-level tag; `index="2"` picks the second of several
  sections with that tag (1-based, default 1). Addresses always refer to the
  prompt as it was before any of these changes.
* `<replace>` holds the complete new section (normally the same tag).
* `<add>` holds one or more new sections, placed `after="tag"` or
  `before="tag"` (each with an optional `index`), or at the end.
* `<remove>` is empty. `<changes/>` means "no change".

Edits are turned into a full revised prompt and go through the same
`merge_revision`, so both formats give identical bytes and change summaries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from .markup import Node, outline
from .repair import repair_with_notes
from .sections import Refinement, SectionChange, indent_of, layout, merge_revision, shift_indent
from .variables import (
    VariableContract,
    find_references,
    replace_undeclared,
    undeclared,
    undeclared_message,
)
from .xml import DEFAULT_LIMITS, PromptXMLError, XMLLimits, is_well_formed, parse_prompt, parse_xml

EditOp = Literal["replace", "add", "remove"]
_CHANGES = re.compile(r"<changes(?=[\s>/])[^<>]*?(?:/>|>.*</changes\s*>)", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Address:
    tag: str
    index: int = 1

    @property
    def label(self) -> str:
        return f"<{self.tag}>" if self.index == 1 else f"<{self.tag}> #{self.index}"


@dataclass(frozen=True, slots=True)
class SectionEdit:
    op: EditOp
    target: Address | None = None  # replace/remove: which section
    position: Literal["after", "before", "end"] = "end"  # add: where, relative to target
    sections: tuple[str, ...] = field(default=())  # replace/add: new section sources


def has_changes_block(model_output: str) -> bool:
    return _CHANGES.search(model_output) is not None


def parse_changes(model_output: str, limits: XMLLimits = DEFAULT_LIMITS) -> list[SectionEdit]:
    """The edits in the `<changes>` block of `model_output` (fences and prose are ignored)."""
    match = _CHANGES.search(model_output)
    if match is None:
        raise PromptXMLError("bad_changes", "No <changes> … </changes> block was found.")
    text = match.group(0)
    root = parse_xml(text, limits)
    tree = outline(text)
    elements = [child for child in root if isinstance(child.tag, str)]
    return [
        _edit(text, node, element) for node, element in zip(tree.children, elements, strict=True)
    ]


def _edit(text: str, node: Node, element: Any) -> SectionEdit:
    attrs: dict[str, str] = dict(element.attrib)
    sections = tuple(_dedented(text, child) for child in node.children)
    if node.name == "remove":
        return SectionEdit("remove", _address(attrs, "section", node.name))
    if node.name == "replace":
        if len(sections) != 1:
            raise _bad(f"<replace> must hold exactly one section element, not {len(sections)}")
        return SectionEdit("replace", _address(attrs, "section", node.name), sections=sections)
    if node.name == "add":
        if not sections:
            raise _bad("<add> must hold at least one section element")
        if "after" in attrs:
            return SectionEdit("add", _address(attrs, "after", node.name), "after", sections)
        if "before" in attrs:
            return SectionEdit("add", _address(attrs, "before", node.name), "before", sections)
        return SectionEdit("add", None, "end", sections)
    raise _bad(f"<{node.name}> is not an edit; use <replace>, <add> or <remove>")


def _address(attrs: dict[str, str], key: str, op: str) -> Address:
    tag = attrs.get(key, "").strip().strip("<>/")
    if not tag:
        raise _bad(f'<{op}> needs a {key}="tag" attribute')
    index = attrs.get("index", "1").strip()
    if not index.isdigit() or int(index) < 1:
        raise _bad(f'index="{index}" must be a whole number from 1')
    return Address(tag, int(index))


def _dedented(text: str, node: Node) -> str:
    indent = indent_of(text, node.start)
    return shift_indent(node.source(text), indent, "") if indent else node.source(text)


def _bad(message: str) -> PromptXMLError:
    return PromptXMLError("bad_changes", f"Invalid <changes> block: {message}.")


# --- applying edits -----------------------------------------------------------------------------


@dataclass(slots=True)
class _Entry:
    address: Address | None  # None for sections added by the edits
    source: str
    removed: bool = False


def apply_section_edits(original: str, edits: list[SectionEdit]) -> Refinement:
    """Apply edits to `original` (which must parse), keeping untouched bytes exactly."""
    parsed = parse_prompt(original)
    sections = layout(parsed).sections
    entries = [_Entry(Address(s.tag, s.index), s.source(original)) for s in sections]
    for edit in edits:
        _apply(entries, edit)
    body = "\n".join(entry.source for entry in entries if not entry.removed)
    head = original[parsed.tree.start : parsed.tree.inner_start]
    if head.endswith("/>"):
        head = head[:-2] + ">"
    revised = f"{head}\n{body}\n</prompt>"
    return merge_revision(original, revised)


def _apply(entries: list[_Entry], edit: SectionEdit) -> None:
    if edit.op == "add" and edit.target is None:
        entries.extend(_Entry(None, source) for source in edit.sections)
        return
    assert edit.target is not None
    position = _locate(entries, edit.target, edit.op)
    if edit.op == "remove":
        entries[position].removed = True
    elif edit.op == "replace":
        entries[position].source = edit.sections[0]
    else:
        at = position + 1 if edit.position == "after" else position
        entries[at:at] = [_Entry(None, source) for source in edit.sections]


def _locate(entries: list[_Entry], target: Address, op: str) -> int:
    for position, entry in enumerate(entries):
        if entry.address == target:
            return position
    existing = ", ".join(e.address.label for e in entries if e.address) or "none"
    raise PromptXMLError(
        "bad_changes",
        f"Cannot {op} {target.label}: the prompt has no such section. "
        f"Its sections are: {existing}.",
    )


# --- one entry point for both formats -----------------------------------------------------------


def refine(original: str, model_output: str, limits: XMLLimits = DEFAULT_LIMITS) -> Refinement:
    """Apply a model's revision (full `<prompt>` or `<changes>`) to `original`.

    The revised prompt is repaired if needed (`notes` says how). When
    `original` is empty or malformed there is nothing to preserve, and the
    repaired revision is returned whole. Raises `PromptXMLError` when the
    output cannot be used; its message is written to be sent back to the model.
    """
    usable_original = bool(original.strip()) and is_well_formed(original, limits)
    if has_changes_block(model_output) and usable_original:
        return apply_section_edits(original, parse_changes(model_output, limits))
    repaired = repair_with_notes(model_output, limits)
    if not usable_original:
        summary = "Drafted a new prompt." if not original.strip() else "Rewrote the prompt."
        return Refinement(repaired.text, _whole_change(summary), repaired.notes)
    result = merge_revision(original, repaired.text)
    return Refinement(result.text, result.changes, repaired.notes)


def _whole_change(summary: str) -> tuple[SectionChange, ...]:
    return (SectionChange("added" if "new" in summary else "updated", "prompt", 1, summary),)


# --- refine plus the checks an endpoint needs ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class CheckedRefinement:
    """`refine` plus the variable contract, as ok / repaired / reask (like nl-edit's checks).

    `reason` (for `reask`) is written for the model. A reask caused only by invented
    variables carries `fallback`, the refinement with them replaced by plain words.
    """

    status: Literal["ok", "repaired", "reask"]
    refinement: Refinement | None
    reason: str | None = None
    fallback: Refinement | None = None

    @property
    def ok(self) -> bool:
        return self.status != "reask"


def refine_checked(
    original: str,
    model_output: str,
    contract: VariableContract | None = None,
    limits: XMLLimits = DEFAULT_LIMITS,
) -> CheckedRefinement:
    """Refine, then hold the result to the variable contract.

    Undeclared variables the original already used are the user's business and stay;
    new ones are renamed when the intent is obvious (`@first_name` -> `@firstName`),
    otherwise they make the result a `reask`.
    """
    try:
        result = refine(original, model_output, limits)
    except PromptXMLError as exc:
        return CheckedRefinement(
            "reask", None, f"Your answer is not a usable prompt: {exc.message}"
        )
    if contract is None:
        return CheckedRefinement("repaired" if result.notes else "ok", result)
    existing = {ref.name for ref in find_references(original, contract)}
    renamed = replace_undeclared(result.text, contract, keep=existing, rename_only=True)
    result = _with_text(result, renamed.text, renamed.warnings)
    invented = [ref for ref in undeclared(result.text, contract) if ref.name not in existing]
    status: Literal["ok", "repaired"] = "repaired" if result.notes else "ok"
    if not invented:
        return CheckedRefinement(status, result)
    messages = " ".join(dict.fromkeys(undeclared_message(ref, contract) for ref in invented))
    fix = replace_undeclared(result.text, contract, keep=existing)
    reason = (
        f"The prompt uses variables that do not exist. {messages} "
        "Use only the available variables, or describe the value in words."
    )
    return CheckedRefinement("reask", result, reason, _with_text(result, fix.text, fix.warnings))


def _with_text(result: Refinement, text: str, notes: list[str]) -> Refinement:
    if text == result.text:
        return result
    return Refinement(text, result.changes, (*result.notes, *notes))
