"""Citation markers `[n]` in a streamed answer: keep the ones that match a retrieved chunk.

`CitationFilter` works on the stream as it arrives: text that might be the start of a
marker (`[`, `[1`, `[1, 2`) is held back until it is complete, then a marker's numbers
that were not given to the model are dropped (the whole marker when none is valid).
"""

from __future__ import annotations

import re

_MARKER = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")
_PARTIAL = re.compile(r"\[(?:\d{1,3}(?:\s*,\s*\d{0,3})*\s*,?\s*)?")
_MAX_PENDING = 40


class CitationFilter:
    def __init__(self, valid: set[int]) -> None:
        self.valid = valid
        self.cited: list[int] = []  # valid numbers, in order of first use
        self.dropped: list[int] = []
        self._pending = ""

    def feed(self, text: str) -> str:
        """The part of the answer that can be shown now."""
        self._pending += text
        out: list[str] = []
        while self._pending:
            start = self._pending.find("[")
            if start < 0:
                out.append(self._pending)
                self._pending = ""
                break
            out.append(self._pending[:start])
            rest = self._pending[start:]
            marker = _MARKER.match(rest)
            if marker:
                out.append(self._rewrite(marker.group(1)))
                self._pending = rest[marker.end() :]
            elif len(rest) < _MAX_PENDING and _PARTIAL.fullmatch(rest):
                self._pending = rest  # may still become a marker
                break
            else:
                out.append("[")
                self._pending = rest[1:]
        return "".join(out)

    def flush(self) -> str:
        rest, self._pending = self._pending, ""
        return rest

    def _rewrite(self, numbers: str) -> str:
        kept: list[str] = []
        for part in numbers.split(","):
            n = int(part)
            if n in self.valid:
                kept.append(str(n))
                if n not in self.cited:
                    self.cited.append(n)
            else:
                self.dropped.append(n)
        return f"[{', '.join(kept)}]" if kept else ""
