"""System prompts and request templates, shipped as files in `authoring/prompts/`.

`render(name, **values)` loads `prompts/<name>.md` and fills `{{key}}`
placeholders in one pass (a value containing `{{other}}` is not expanded).
Every placeholder needs a value and every value needs a placeholder, so a typo
fails loudly. `{{> part}}` lines include `prompts/_part.md` when loading.

System prompts have no placeholders: they are static, so providers can cache
them. Everything that comes from a request goes into a *request* template,
inside its own tag (`<current_prompt>`, `<user_request>`, …). User material
cannot close those tags: in every value, any tag whose name is one of
`WRAPPER_TAGS` or a tag used by the template itself has its `<` written as
`&lt;`. The prompt's own tags (`<role>`, `<rules>`, …) stay as they are, so the
model sees the real XML. `Safe` marks text that is already neutralised (what
`format_history` and `format_variables` return).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from importlib import resources

from ..exceptions import PromptsmithError
from .variables import VariableContract

PACKAGE = "promptsmith.authoring.prompts"
WRAPPER_TAGS = frozenset(
    {
        *("conversation_history", "turn", "current_prompt", "available_variables"),
        *("user_request", "full_prompt", "selected_text", "selection_location", "problem"),
        "previous_answer",
    }
)
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_INCLUDE = re.compile(r"^\{\{>\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}[ \t]*$", re.MULTILINE)
_TAG_NAME = re.compile(r"</?([A-Za-z_][\w\-]*)")


class TemplateError(PromptsmithError):
    """A template is missing, or the values do not fit its placeholders."""


class Safe(str):
    """Text that `render` inserts as is (already neutralised)."""

    __slots__ = ()


def template_names() -> list[str]:
    files = resources.files(PACKAGE).iterdir()
    return sorted(f.name[:-3] for f in files if f.name.endswith(".md") and f.name[0] != "_")


@lru_cache(maxsize=64)
def load(name: str) -> str:
    """The template text with includes resolved."""
    if not re.fullmatch(r"_?[a-z][a-z0-9_]*", name):
        raise TemplateError(f"Invalid template name: {name!r}")
    try:
        text = resources.files(PACKAGE).joinpath(f"{name}.md").read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TemplateError(f"No template named {name!r}") from None
    return _INCLUDE.sub(lambda m: load(f"_{m.group(1)}").rstrip("\n"), text)


def placeholders(name: str) -> set[str]:
    return set(_PLACEHOLDER.findall(load(name)))


def render(template_name: str, **values: str | None) -> str:
    text = load(template_name)
    wanted = set(_PLACEHOLDER.findall(text))
    missing, extra = wanted - values.keys(), values.keys() - wanted
    if missing or extra:
        raise TemplateError(
            f"Template {template_name!r}: missing values {sorted(missing)}, "
            f"unexpected values {sorted(extra)}"
        )
    tags = WRAPPER_TAGS | set(_TAG_NAME.findall(text))
    filled = {key: _fill(value, tags) for key, value in values.items()}
    return _PLACEHOLDER.sub(lambda m: filled[m.group(1)], text)


def _fill(value: str | None, tags: frozenset[str] | set[str]) -> str:
    if value is None:
        return ""
    if isinstance(value, Safe):
        return str(value)
    return neutralize(value, tags)


def neutralize(text: str, tags: Iterable[str] = WRAPPER_TAGS) -> str:
    """Escape the `<` of any open, close or self-closing tag named in `tags` (any case/spacing)."""
    names = "|".join(sorted((re.escape(tag) for tag in tags), key=len, reverse=True))
    if not names:
        return text
    pattern = re.compile(rf"<(?=\s*/?\s*(?:{names})(?![\w\-]))", re.IGNORECASE)
    return pattern.sub("&lt;", text)


# --- formatting request material ----------------------------------------------------------------


def format_history(turns: Iterable[Mapping[str, object] | object]) -> Safe:
    """Earlier turns as `<turn role="user">…</turn>` lines; malformed entries are skipped."""
    lines = []
    for turn in turns:
        role, content = _role_content(turn)
        if role in ("user", "assistant") and content.strip():
            lines.append(f'<turn role="{role}">\n{neutralize(content.strip())}\n</turn>')
    return Safe("\n".join(lines) if lines else "(no earlier turns)")


def _role_content(turn: Mapping[str, object] | object) -> tuple[str, str]:
    if isinstance(turn, Mapping):
        role, content = turn.get("role"), turn.get("content")
    else:
        role, content = getattr(turn, "role", None), getattr(turn, "content", None)
    return (role if isinstance(role, str) else ""), (content if isinstance(content, str) else "")


def format_variables(contract: VariableContract | None) -> Safe:
    if contract is None:
        return Safe(
            "Not provided. Keep every @variable already in the current prompt exactly as "
            "written, and add no new ones."
        )
    if not contract.leaves:
        return Safe("None. Use no @variables at all; describe values in words instead.")
    lines = []
    for name in sorted(contract.leaves):
        example = contract.examples.get(name)
        shown = f' (example value: "{neutralize(example)}")' if example else ""
        lines.append(f"@{name}{shown}")
    return Safe("\n".join(lines))


def format_prompt(text: str | None, empty: str = "(empty: there is no prompt yet)") -> Safe:
    """The current prompt for a request template (neutralised), or a note that there is none."""
    if not text or not text.strip():
        return Safe(empty)
    return Safe(neutralize(text))
