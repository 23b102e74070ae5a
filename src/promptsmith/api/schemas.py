"""Request and response bodies, named and shaped as in the API spec (docs/spec/).

Unknown top-level fields are accepted (the spec has additionalProperties: true);
`modelOverride` is strict. `conversationHistory` entries are deliberately not
validated here: the spec says empty or malformed entries are dropped server-side,
which `clean_history` does, so one bad entry never fails a whole request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, WithJsonSchema
from pydantic.functional_validators import AfterValidator
from pydantic_core import PydanticCustomError

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _no_control_characters(value: str) -> str:
    match = _CONTROL.search(value)
    if match:
        raise PydanticCustomError(
            "control_character",
            "contains a control character ({char}) at position {position}",
            {"char": f"U+{ord(match.group()):04X}", "position": match.start()},
        )
    return value


_ANY_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _no_control_characters_at_all(value: str) -> str:
    match = _ANY_CONTROL.search(value)
    if match:
        raise PydanticCustomError(
            "control_character",
            "contains a control character ({char}) at position {position}",
            {"char": f"U+{ord(match.group()):04X}", "position": match.start()},
        )
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("blank", "must not be blank")
    return value


def _ends_with_question(value: list[str]) -> list[str]:
    if not value or not value[-1].strip():
        raise PydanticCustomError("blank", "must end with a non-blank message")
    return value


Text = Annotated[str, AfterValidator(_no_control_characters)]
RequiredText = Annotated[str, AfterValidator(_no_control_characters), AfterValidator(_not_blank)]

_HISTORY_SCHEMA: dict[str, Any] = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "role": {"type": "string", "enum": ["user", "assistant"]},
            "content": {"type": "string"},
        },
        "required": ["role", "content"],
    },
}
MAX_HISTORY_ENTRIES = 1000
History = Annotated[
    list[Any], Field(max_length=MAX_HISTORY_ENTRIES), WithJsonSchema(_HISTORY_SCHEMA)
]
VariableContext = Annotated[
    dict[str, Any], WithJsonSchema({"type": "object", "additionalProperties": True})
]


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class _Reply(BaseModel):
    """A success body: fields with defaults are still always present, so required."""

    model_config = ConfigDict(extra="allow", json_schema_serialization_defaults_required=True)


class AiModelOverride(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"additionalProperties": False})

    provider: Literal["anthropic", "openai", "google"]
    # No control characters, not even newlines or tabs: the name goes into provider
    # URLs (Gemini) and headers.
    model: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1),
        AfterValidator(_no_control_characters_at_all),
    ]


class AINLCreateRequest(_Open):
    instruction: RequiredText = Field(
        description="Natural-language ask describing what the prompt should accomplish."
    )
    existingPrompt: Text | None = None
    conversationHistory: History | None = None
    variableContext: VariableContext | None = None
    assistedMode: bool | None = None
    modelOverride: AiModelOverride | None = None


class AINLCreateResponse(_Reply):
    success: bool = True
    prompt: str = Field(description="Generated XML prompt")


class AINLEditRequest(_Open):
    selectedText: RequiredText
    instruction: RequiredText
    fullPrompt: Text | None = None
    context: Text | None = None
    variableContext: VariableContext | None = None
    assistedMode: bool | None = None
    modelOverride: AiModelOverride | None = None


class AINLEditResponse(_Reply):
    success: bool = True
    rewrittenText: str


class AIPromptAssistantStreamRequest(_Open):
    instruction: RequiredText
    currentPrompt: Text | None = None
    conversationHistory: History | None = None
    variableContext: VariableContext | None = None
    assistedMode: bool | None = None
    modelOverride: AiModelOverride | None = None


class LintLocation(BaseModel):
    line: int
    column: int
    # Sent as null when there is no enclosing element, so the schema says so (a plain
    # `str | None` would be shown as `string` by app._drop_nullable_unions).
    path: Annotated[
        str | None,
        WithJsonSchema(
            {
                "type": ["string", "null"],
                "title": "Path",
                "description": "Enclosing element, e.g. prompt/rules/rule[2]",
            }
        ),
    ] = None


class LintDiagnostic(BaseModel):
    code: str = Field(description="Stable rule code, PS001…")
    name: str = Field(description="Rule name, e.g. undeclared-variable")
    severity: Literal["error", "warning", "info"]
    message: str
    location: LintLocation


class AIPromptAssistantStreamEvent(_Open):
    """One event of the prompt-assistant stream (documentation schema)."""

    type: Literal[
        "mode",
        "status",
        "assistant-delta",
        "reasoning-delta",
        "draft-ready",
        "ai-setup-required",
        "error",
        "done",
    ]
    mode: Literal["chat", "clarify", "draft"] | None = None
    label: str | None = None
    delta: str | None = None
    prompt: str | None = None
    code: str | None = None
    reason: str | None = None
    section: str | None = None
    provider: str | None = None
    message: str | None = None
    error: str | None = None
    summary: list[str] | None = Field(
        None, description="draft-ready: one line per change to the prompt"
    )
    warnings: list[str] | None = Field(
        None, description="draft-ready: what was repaired or replaced (e.g. invented variables)"
    )
    diagnostics: list[LintDiagnostic] | None = Field(
        None, description="draft-ready: the linter's diagnostics for the drafted prompt"
    )
    requestId: str | None = Field(None, description="error: the request id to quote")


class AIErrorResponse(_Open):
    success: Literal[False] = Field(False, json_schema_extra={"enum": [False]})
    error: str
    message: str | None = None


class AIPromptLintRequest(_Open):
    prompt: Text = Field(description="The XML prompt to lint.")
    variableContext: VariableContext | None = Field(
        None,
        description=(
            "Declared runtime variables (flat keys or grouped scopes, as for nl-create); "
            "without it the variable rules do not run."
        ),
    )
    maxTokens: int | None = Field(
        None, ge=1, le=1_000_000, description="Token budget for PS011 (default 8000)."
    )


class AIPromptLintResponse(_Reply):
    success: bool = True
    wellFormed: bool = Field(description="Whether the prompt parses as a <prompt> document")
    errors: int
    warnings: int
    infos: int
    diagnostics: list[LintDiagnostic]


class SelectedCourse(_Open):
    course_id: int
    course_name: Text | None = None


class QandaRequestArgs(_Open):
    institutionPublicId: Text | None = None
    assistantId: Text | None = None
    selectedCourse: SelectedCourse | None = None
    ragOnly: bool | None = None
    userTimezone: Text | None = None


class QandaStreamRequest(_Open):
    """Request payload for SSE streaming Q&A."""

    inputs: Annotated[
        list[Text], Field(max_length=MAX_HISTORY_ENTRIES), AfterValidator(_ends_with_question)
    ] = Field(description="User messages to send to the AI, oldest first; the last is the question")
    requestArgs: QandaRequestArgs | None = Field(None, description="Optional context arguments")


class QandaStreamEvent(_Open):
    """Server-Sent Event payload: `data: {json}\\n\\n`; `type` says which fields are present."""

    type: Literal["connected", "stream", "tool_call", "tool_result", "complete", "error", "done"]


@dataclass(frozen=True, slots=True)
class Turn:
    role: Literal["user", "assistant"]
    content: str


def clean_history(raw: list[Any] | None) -> list[Turn]:
    """Keep well-formed, non-empty user/assistant turns; drop everything else."""
    turns: list[Turn] = []
    for entry in raw or []:
        if not isinstance(entry, dict):
            continue
        role, content = entry.get("role"), entry.get("content")
        if role not in ("user", "assistant") or not isinstance(content, str):
            continue
        content = _CONTROL.sub("", content).strip()
        if content:
            turns.append(Turn(role, content))
    return turns
