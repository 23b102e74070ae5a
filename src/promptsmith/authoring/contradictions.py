"""A heuristic for rules that contradict each other ("always X" vs "never X").

Statements are the sentences of every element without child elements. A
statement is *positive* when it says always / must / should / need(s) to /
make sure to / be sure to / ensure / required to, and *negative* when it says
never / do not / don't / must not / should not / cannot / may not / avoid /
refrain from (negative wins when both appear). What follows the marker, up to
the first conditional word, is reduced to content words: lower-cased, stop
words dropped, light suffix stripping (`mentions`, `mentioning` -> `mention`).

A positive and a negative statement conflict when their content words are
equal, or when one set contains the other and they share at least two words
("always mention pricing" vs "never mention pricing details"). Words on both
sides that the other lacks ("item 12" vs "item 13") mean different things.
Repeated statements count once, and at most `MAX_CONFLICTS` pairs are reported.
A conflict is a warning, or only `info` when either statement is
conditional (unless / except / if / when / only / outside / before / after /
until / while / during), since scoped exceptions are often intended.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from .markup import Node, mask_markup

_NEGATIVE = re.compile(
    r"\b(?:never|do not|don't|dont|must not|mustn't|should not|shouldn't|cannot|can't|"
    r"may not|avoid|refrain from)\b"
)
_POSITIVE = re.compile(
    r"\b(?:always|must|should|needs? to|make sure to|be sure to|ensure|required to)\b"
)
_CONDITIONAL = re.compile(
    r"\b(?:unless|except|if|when|only|outside|before|after|until|while|during)\b"
)
_SENTENCE = re.compile(r"[^.!?;\n]+[.!?;]?")
_STOP = frozenset(
    {
        *("a", "an", "the", "to", "of", "and", "or", "in", "on", "for", "with", "by", "at"),
        *("from", "your", "you", "their", "be", "is", "are", "it", "its", "this", "that"),
        *("any", "all", "as", "about", "into", "than", "then", "them", "they", "we", "our"),
        *("us", "very", "just", "also", "please", "so", "do", "use", "using", "anything"),
        *("ever", "under", "circumstances", "times", "every", "each"),
    }
)

Polarity = Literal["positive", "negative"]
MAX_CONFLICTS = 50


@dataclass(frozen=True, slots=True)
class Statement:
    text: str
    offset: int
    polarity: Polarity
    words: frozenset[str]
    conditional: bool


@dataclass(frozen=True, slots=True)
class Conflict:
    first: Statement
    second: Statement

    @property
    def conditional(self) -> bool:
        return self.first.conditional or self.second.conditional


def statements(text: str, root: Node) -> list[Statement]:
    masked = mask_markup(text)
    found: list[Statement] = []
    for node in root.walk():
        if node.children:
            continue
        for match in _SENTENCE.finditer(masked, node.inner_start, node.inner_end):
            statement = _statement(match.group(0), match.start())
            if statement is not None:
                found.append(statement)
    return found


def _statement(sentence: str, offset: int) -> Statement | None:
    lowered = sentence.lower().replace("’", "'")
    marker = _NEGATIVE.search(lowered)
    polarity: Polarity = "negative"
    if marker is None:
        marker = _POSITIVE.search(lowered)
        polarity = "positive"
    if marker is None:
        return None
    tail = lowered[marker.end() :]
    condition = _CONDITIONAL.search(tail)
    words = content_words(tail[: condition.start()] if condition else tail)
    if not words:
        return None
    lead = len(sentence) - len(sentence.lstrip())
    conditional = bool(_CONDITIONAL.search(lowered))
    return Statement(sentence.strip(), offset + lead, polarity, words, conditional)


def content_words(text: str) -> frozenset[str]:
    words = re.findall(r"[a-z0-9]+(?:'[a-z]+)?", text)
    return frozenset(_stem(word) for word in words if word not in _STOP and len(word) > 1)


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def conflicts(found: list[Statement], limit: int = MAX_CONFLICTS) -> list[Conflict]:
    """Conflicting pairs in document order, at most `limit`; repeated statements count once."""
    unique = list({(s.polarity, s.words): s for s in reversed(found)}.values())[::-1]
    postings: dict[str, list[int]] = {}
    result: list[Conflict] = []
    for index, second in enumerate(unique):
        candidates = sorted({i for word in second.words for i in postings.get(word, [])})
        for i in candidates:
            first = unique[i]
            if first.polarity != second.polarity and _overlap(first.words, second.words):
                result.append(Conflict(first, second))
                if len(result) >= limit:
                    return result
        for word in second.words:
            postings.setdefault(word, []).append(index)
    return result


def _overlap(a: frozenset[str], b: frozenset[str]) -> bool:
    """Equal, or one contains the other and they share at least two words."""
    return a == b or (len(a & b) >= 2 and (a <= b or b <= a))
