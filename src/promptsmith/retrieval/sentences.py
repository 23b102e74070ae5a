"""A small rule-based sentence splitter that returns character spans.

Boundaries: `.`, `!`, `?` or `…` (plus closing quotes/brackets) followed by whitespace and
an upper-case letter, digit or opening quote — except after common abbreviations and single
initials — and every line break (list items, table rows and verse stay separate).
"""

from __future__ import annotations

import re

_CANDIDATE = re.compile(r"[.!?…]+[\"'”’)\]]*(\s+)(?=[\"'“‘(\[]?[A-Z0-9À-ÖØ-Þ])|\n+")
_WORD_BEFORE = re.compile(r"(\S+)$")
_ABBREVIATIONS_TEXT = """
    mr mrs ms dr prof sr jr st vs etc e.g i.e cf al fig figs eq eqs no nos vol vols pp p
    ch sec ed eds approx dept univ inc ltd co corp jan feb mar apr jun jul aug sep sept oct
    nov dec u.s u.k a.d b.c ca resp art para
"""
_ABBREVIATIONS = frozenset(_ABBREVIATIONS_TEXT.split())


_LONGEST_WORD = 64  # look this far back for the word before a dot: abbreviations are short


def _is_abbreviation(text: str, dot: int) -> bool:
    # A bounded window: searching from 0 made splitting quadratic in the text length.
    m = _WORD_BEFORE.search(text, max(0, dot - _LONGEST_WORD), dot)
    if not m:
        return False
    word = m.group(1).lstrip("(\"'“‘[").lower()
    if len(word) == 1 and word.isalpha():  # an initial: "J. Smith"
        return True
    return word in _ABBREVIATIONS


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Spans `[s, e)` of the sentences in `text[start:end]`, trimmed of whitespace."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    cursor = start
    for m in _CANDIDATE.finditer(text, start, end):
        if m.group(0)[0] == "\n":
            cut, nxt = m.start(), m.end()
        else:
            if text[m.start()] == "." and _is_abbreviation(text, m.start()):
                continue
            cut, nxt = m.start(1), m.end()
        _add(text, cursor, cut, spans)
        cursor = nxt
    _add(text, cursor, end, spans)
    return spans


def _add(text: str, s: int, e: int, spans: list[tuple[int, int]]) -> None:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    if e > s:
        spans.append((s, e))
