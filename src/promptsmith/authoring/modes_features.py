"""Features for the mode classifier: hashed n-grams plus a few handcrafted cues.

A turn becomes a sparse vector of named features, grouped so each group can be
scaled on its own (the scales are hyperparameters tuned by cross-validation):

- ``word``: word unigrams and bigrams (with start/end markers) and the first trigram;
- ``char``: character 3-5-grams inside word boundaries (typos, other languages);
- ``prompt``: unigrams and the opening bigram, crossed with "is there a current prompt";
- ``cues``: handcrafted signals (question form, edit verbs, specificity, vagueness,
  length), each also crossed with the current-prompt flag;
- ``context``: what the assistant's last turn was doing (offering a change, asking
  which option, asking an open question, delivering a draft, explaining), crossed
  with the kind of reply (yes, no, a question, "try again") and the user's words;
- ``assistant``: the words at the end of the assistant's last turn.

Each group is L2-normalised, then scaled. Names are hashed with CRC-32, which is
stable across processes (``hash()`` is not), so weights can ship as a file.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
import zlib
from collections import Counter
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

GROUPS = ("word", "char", "prompt", "cues", "context", "assistant")


def _wordset(spaced: str) -> frozenset[str]:
    return frozenset(spaced.split())


ASSISTANT_TAIL_CHARS = 320
MAX_TEXT_CHARS = 2000  # a pasted essay is classified by its start; keeps latency flat

_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*|[?@$%<>\"“”«»:]")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")

_QUESTION_STARTS = _wordset(
    "what whats what's wat why how when where who which whose is isnt are does do did "
    "can could would should will was were am may que qué quoi est was wie warum o por "
    "porque pourquoi cómo como"
)
_DO_QUESTION_SUBJECTS = _wordset("you u i we they people most other customers users variables")
_POLITE = re.compile(
    r"\b(?:can|could|would|will) (?:you|u)\b|\bplease\b|\bpl[sz]\b|\bi (?:want|need)\b"
    r"|\bi'?d like\b|\blet'?s\b|\bi would like\b|\bwe need\b"
)
_ADVICE = re.compile(
    r"\b(?:should i|should we|should the|would it|do you think|is it better|is it ok"
    r"|would that|what if|is that|is this|is there|are there|how (?:do|can|should) i)\b"
)
_NO_EDIT = re.compile(
    r"\b(?:don'?t (?:change|cut|edit)|no edits|just (?:show|list|tell)|not yet|but just)\b"
)
_EDIT_VERBS = _wordset(
    "add remove delete drop cut make write create build change rewrite rephrase replace "
    "rename swap move put fix improve update shorten trim tighten translate convert merge "
    "mention include use keep limit set turn adapt generate draft redo expand polish "
    "optimize optimise enhance tweak adjust clean give stop start scrap forget undo "
    "restore insert reorganize reorder modernize upgrade refresh edit apply need "
    "agrega añade haz escribe crea mejora arregla ajoute rends crée améliore füge "
    "schreib mach erstell adicione crie melhora aggiungi rendilo hazme"
)
_ASK_VERBS = _wordset(
    "explain show tell describe summarize summarise list compare rate grade review check "
    "simulate pretend suggest count read find point walk"
)
_VAGUE_WORDS = _wordset(
    "better improve improved improvement improvements fix fixx good great perfect stronger "
    "smarter effective optimize optimise polish enhance pop magic decent best pro properly "
    "robust powerful meh nicer engaging natural human impressive premium somehow stuff "
    "things whatever everything something beter improv mejóralo arréglalo améliore besser "
    "melhora migliore work works"
)
_SECTIONS = _wordset(
    "role goal goals rule rules context example examples tone persona greeting intro "
    "introduction fallback constraint constraints instructions format faq opener sign "
    "closing escalation disclaimer section sections objetivo reglas"
)
_AFFIRM = _wordset(
    "yes yeah yep yup y sure ok okay k absolutely please go do sounds perfect great "
    "exactly sí si oui ja sim let's lets"
)
_DIRECTION = _wordset(
    "shorter short shorten longer concise brief briefer formal informal casual friendly "
    "friendlier warm warmer pushy salesy conversational professional playful upscale "
    "motivational calm calmer polite direct simple simpler plain relaxed corporate wordy "
    "chatty serious funny spanish english french german british spelling emoji emojis "
    "bullet bullets paragraphs paragraph sentences sentence words max maximum fewer less "
    "faster slower earlier instead everywhere throughout"
)
_REMARK = _wordset(
    "thanks thank thx ty cool nice awesome love lol haha hahaha fair interesting wow "
    "gracias merci danke obrigado good great perfect ok okay k"
)
_RETRY = _wordset("again redo another retry still worse quite try different else")
_NEGATE = _wordset("no nah nope not never hold wait maybe later hmm non nein não")
_OFFER = re.compile(
    r"\b(?:want me to|should i|shall i|would you like me to|do you want me to|go ahead\??"
    r"|apply (?:it|this|them)|proceed|i can|i could|i'?d (?:suggest|recommend)"
    r"|ready to|quieres que|voulez-vous que)\b"
)
_OPTIONS = re.compile(
    r"(?:\b[1-3a-c]\)|\([a-c1-3]\)|\boption\b|\bversion [ab]\b|\bwhich\b|\bor\b.*\?$|\bquelle\b)"
)
_OPEN_QUESTION = re.compile(r"^(?:what|which|how|where|who|when)\b")
_DELIVERED = re.compile(
    r"\b(?:here'?s|here is|i'?ve (?:added|applied|moved|made|rewritten|updated)|done\b"
    r"|i (?:added|rewrote|cut|moved|applied)|updated prompt)"
)
_CLOSING_QUESTION = re.compile(r"\b(?:anything else|is there anything)\b")


@dataclass(frozen=True)
class Turn:
    """What the classifier sees: the user's text and two bits of context."""

    text: str
    has_current_prompt: bool
    last_assistant: str | None = None


SparseVector = tuple[npt.NDArray[np.uint32], npt.NDArray[np.float64]]


def featurize(turn: Turn) -> dict[str, Counter[str]]:
    """Named features by group, as raw counts (not yet normalised)."""
    text = _fold(turn.text[:MAX_TEXT_CHARS])
    tokens = _TOKEN.findall(text)
    words = [t for t in tokens if t[0].isalnum()]
    flag = "p1" if turn.has_current_prompt else "p0"
    return {
        "word": _word_features(words),
        "char": _char_features(words),
        "prompt": _prompt_features(words, flag),
        "cues": _cue_features(turn.text[:MAX_TEXT_CHARS], text, tokens, words, flag),
        "context": _context_features(words, "?" in tokens, turn.last_assistant),
        "assistant": _assistant_features(turn.last_assistant),
    }


def vectorize(turn: Turn, scales: dict[str, float]) -> SparseVector:
    """Hashed, per-group L2-normalised and scaled features of one turn."""
    hashes: list[int] = []
    values: list[float] = []
    for group, counts in featurize(turn).items():
        scale = scales.get(group, 0.0)
        if scale == 0.0 or not counts:
            continue
        norm = float(np.sqrt(sum(v * v for v in counts.values())))
        for name, count in counts.items():
            hashes.append(zlib.crc32(f"{group}|{name}".encode()))
            values.append(scale * count / norm)
    return np.array(hashes, dtype=np.uint32), np.array(values, dtype=np.float64)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold().replace("’", "'")


def _word_features(words: list[str]) -> Counter[str]:
    feats: Counter[str] = Counter(words)
    padded = ["<s>", *words, "</s>"]
    feats.update(f"{a} {b}" for a, b in itertools.pairwise(padded))
    feats[" ".join(["T", *padded[:3]])] += 1
    return feats


def _char_features(words: list[str]) -> Counter[str]:
    feats: Counter[str] = Counter()
    for word in words:
        padded = f" {word} "
        for n in (3, 4, 5):
            feats.update(padded[i : i + n] for i in range(max(1, len(padded) - n + 1)))
    return feats


def _prompt_features(words: list[str], flag: str) -> Counter[str]:
    feats: Counter[str] = Counter(f"{flag} {w}" for w in words)
    feats[f"{flag} <s> {words[0] if words else '</s>'}"] += 1
    feats[flag] += 1
    return feats


def _cue_features(
    raw: str, text: str, tokens: list[str], words: list[str], flag: str
) -> Counter[str]:
    first = words[0] if words else ""
    cues = {
        "qmark": "?" in tokens,
        "ends_q": text.rstrip().endswith("?"),
        "q_start": _is_question_start(words),
        "polite": bool(_POLITE.search(text)),
        "advice": bool(_ADVICE.search(text)),
        "no_edit": bool(_NO_EDIT.search(text)),
        "edit_verb_first": first in _EDIT_VERBS,
        "edit_verb_any": any(w in _EDIT_VERBS for w in words[:6]),
        "ask_verb_first": first in _ASK_VERBS,
        "vague_word": any(w in _VAGUE_WORDS for w in words),
        "section": any(w in _SECTIONS for w in words),
        "quote": any(t in {'"', "“", "”", "«", "»"} for t in tokens),
        "digit": any(c.isdigit() for c in text),
        "money": "$" in tokens or "%" in tokens,
        "variable": "@" in tokens,
        "xml_tag": bool(re.search(r"<\w+>", text)),
        "colon": ":" in tokens,
        "list": text.count(",") >= 2 or " and " in text,
        "capital_mid": bool(re.search(r"\s[A-Z][a-z]+", raw[1:])),
        "affirm_first": first in _AFFIRM,
        "negate_first": first in _NEGATE,
        "it_ref": bool({"it", "this", "that", "them"} & set(words)),
        "direction": any(w in _DIRECTION for w in words),
        "remark_first": first in _REMARK,
        "remark_any": any(w in _REMARK for w in words),
        "retry": any(w in _RETRY for w in words),
        f"len_{_length_bucket(len(words))}": True,
    }
    specific = any(cues[k] for k in ("section", "quote", "digit", "money", "variable", "xml_tag"))
    cues["specific"] = specific
    cues["vague_unspecific"] = cues["vague_word"] and not specific and len(words) <= 8
    feats: Counter[str] = Counter()
    for name, on in cues.items():
        if on:
            feats[name] += 1
            feats[f"{flag} {name}"] += 1
    return feats


def _is_question_start(words: list[str]) -> bool:
    """ "does it…", "do you…" open a question; "do it", "do that" are commands."""
    if not words or words[0] not in _QUESTION_STARTS:
        return False
    return words[0] != "do" or (len(words) > 1 and words[1] in _DO_QUESTION_SUBJECTS)


def _length_bucket(n: int) -> str:
    for limit, name in ((1, "1"), (2, "2"), (3, "3"), (5, "4-5"), (8, "6-8"), (14, "9-14")):
        if n <= limit:
            return name
    return "15+" if n <= 25 else "26+"


def assistant_cues(last_assistant: str | None) -> list[str]:
    """What the assistant's last turn was doing, judged from its tail."""
    if not last_assistant or not last_assistant.strip():
        return ["none"]
    tail = _fold(last_assistant)[-ASSISTANT_TAIL_CHARS:]
    last_sentence = _SENTENCE_END.split(tail.strip())[-1]
    cues = []
    if _CLOSING_QUESTION.search(last_sentence):
        cues.append("anything_else")
    elif _OPTIONS.search(last_sentence) and last_sentence.endswith("?"):
        cues.append("options")
    elif _OFFER.search(tail) and tail.rstrip().endswith("?"):
        cues.append("offer")
    elif _OPEN_QUESTION.search(last_sentence) or last_sentence.endswith("?"):
        cues.append("question")
    if _DELIVERED.search(tail):
        cues.append("delivered")
    return cues or ["statement"]


def _context_features(words: list[str], asks: bool, last_assistant: str | None) -> Counter[str]:
    feats: Counter[str] = Counter()
    short = words[:8]
    first = words[0] if words else ""
    reply_kinds = [
        kind
        for kind, on in (
            ("affirm", first in _AFFIRM),
            ("negate", first in _NEGATE),
            ("asks", asks or _is_question_start(words)),
            ("retry", any(w in _RETRY for w in words)),
            ("remark", first in _REMARK),
        )
        if on
    ]
    for cue in assistant_cues(last_assistant):
        feats.update(f"{cue} x {kind}" for kind in reply_kinds)
        feats[f"cue {cue}"] += 1
        feats.update(f"{cue} x {w}" for w in short)
        feats[f"{cue} x <s> {short[0] if short else '</s>'}"] += 1
        feats[f"{cue} x len {_length_bucket(len(words))}"] += 1
    return feats


def _assistant_features(last_assistant: str | None) -> Counter[str]:
    if not last_assistant:
        return Counter()
    tail = _fold(last_assistant)[-ASSISTANT_TAIL_CHARS:]
    return Counter(t for t in _TOKEN.findall(tail) if t[0].isalnum())
