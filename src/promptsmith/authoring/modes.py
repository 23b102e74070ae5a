"""Route a prompt-assistant turn to chat, clarify or draft, locally, before any LLM call.

The classifier predicts the user's *intent*:

- ``chat``: a question or remark, no change asked for;
- ``vague``: a change or new prompt is asked for, but too vaguely to act on well;
- ``concrete``: a change or new prompt specific enough to draft.

``assistedMode`` then picks the mode: ``vague`` becomes ``clarify`` when assisted
and ``draft`` otherwise. Context counts: the presence of a current prompt and the
assistant's last turn (so "yes, do that" after a proposed change is a draft).

The model (``data/modes_model.npz``, trained by ``modes_train``) is loaded once,
lazily and thread-safely; ``classify_turn`` is otherwise a pure function.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from promptsmith.authoring.modes_data import Intent
from promptsmith.authoring.modes_features import Turn, vectorize
from promptsmith.authoring.modes_model import LinearModel, default_model_path

Mode = Literal["chat", "clarify", "draft"]
MODES: tuple[Mode, ...] = ("chat", "clarify", "draft")

__all__ = ["MODES", "Mode", "ModeDecision", "classify_turn", "load_model", "mode_for_intent"]


@dataclass(frozen=True)
class ModeDecision:
    """The routing decision for one turn.

    ``scores`` are mode probabilities (they sum to 1; ``clarify`` is 0 unless
    assisted), ``intent_scores`` the classifier's intent probabilities, and
    ``confidence`` the score of the chosen mode.
    """

    mode: Mode
    intent: Intent
    confidence: float
    scores: dict[str, float]
    intent_scores: dict[str, float]


def mode_for_intent(intent: Intent, assisted_mode: bool) -> Mode:
    if intent == "chat":
        return "chat"
    if intent == "vague" and assisted_mode:
        return "clarify"
    return "draft"


def mode_scores(intent_scores: Mapping[str, float], assisted_mode: bool) -> dict[str, float]:
    vague = float(intent_scores["vague"])
    return {
        "chat": float(intent_scores["chat"]),
        "clarify": vague if assisted_mode else 0.0,
        "draft": float(intent_scores["concrete"]) + (0.0 if assisted_mode else vague),
    }


def classify_turn(
    instruction: str,
    *,
    current_prompt: str | None,
    history: Sequence[tuple[str, str]] = (),
    assisted_mode: bool,
    model: LinearModel | None = None,
) -> ModeDecision:
    """Decide the mode of one user turn. ``history`` is (role, content) pairs, oldest first."""
    model = model or load_model()
    turn = Turn(
        text=instruction,
        has_current_prompt=bool(current_prompt and current_prompt.strip()),
        last_assistant=last_assistant_turn(history),
    )
    probs = model.probabilities(vectorize(turn, model.scales))
    intent_scores = {label: float(p) for label, p in zip(model.labels, probs, strict=True)}
    scores = mode_scores(intent_scores, assisted_mode)
    mode = max(MODES, key=scores.__getitem__)
    return ModeDecision(
        mode=mode,
        intent=_intent_for(mode, intent_scores),
        confidence=scores[mode],
        scores=scores,
        intent_scores=intent_scores,
    )


def last_assistant_turn(history: Sequence[tuple[str, str]]) -> str | None:
    """The most recent non-empty assistant message; malformed entries are skipped."""
    for entry in reversed(history):
        if not isinstance(entry, tuple | list) or len(entry) != 2:
            continue
        role, content = entry
        if role == "assistant" and isinstance(content, str) and content.strip():
            return content
    return None


def _intent_for(mode: Mode, intent_scores: Mapping[str, float]) -> Intent:
    """The intent behind the chosen mode (for a draft, whichever change intent is likelier)."""
    if mode == "chat":
        return "chat"
    if mode == "clarify":
        return "vague"
    return "concrete" if intent_scores["concrete"] >= intent_scores["vague"] else "vague"


_lock = threading.Lock()
_model: LinearModel | None = None


def load_model() -> LinearModel:
    """The shipped model, loaded on first use (once, even under concurrent callers)."""
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                _model = LinearModel.load(default_model_path())
    return _model
