"""Split one streamed assistant answer into the reply (streamed live) and the draft (buffered).

In draft mode the model writes a short reply for the person, then the draft:

    Tightened the tone and cut the sales language from the rules.
    <draft>
    <prompt> … </prompt>
    </draft>

`DraftSplitter.feed(delta)` returns the reply text that is safe to show now.
It holds back any tail that could still become the opening delimiter (and any
trailing whitespace, which is dropped if the delimiter follows), so no part of
`<draft>` or of the draft ever reaches the reply, however the deltas are cut.
`finish()` returns what is left: held-back reply text, the draft body (without
the delimiters), whether `</draft>` was seen, and any text after the draft
(the *epilogue*, part of `reply_tail`).

Models sometimes forget the delimiter. As a fallback, a `<prompt>` (or a
fence line followed by `<prompt>`) at the start of a line also opens the
draft; it then runs to the last `</prompt>`, and the prompt tags belong to the
draft. `<draft>` is recognised anywhere; the fallbacks only at a line start.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable
from dataclasses import dataclass

DRAFT_OPEN = "<draft>"
DRAFT_CLOSE = "</draft>"
_FALLBACK_OPENERS = ("<prompt>", "<prompt ", "<prompt\n", "```xml\n<prompt", "```\n<prompt")
_LONGEST = max(len(opener) for opener in (DRAFT_OPEN, *_FALLBACK_OPENERS))


@dataclass(frozen=True, slots=True)
class SplitResult:
    reply_tail: str  # reply text feed() had not returned yet (includes the epilogue)
    draft: str | None  # the draft body; None when the answer had no draft
    complete: bool  # the closing delimiter was seen
    epilogue: str = ""  # text after the draft block


@dataclass(frozen=True, slots=True)
class ReplyText:
    text: str


@dataclass(frozen=True, slots=True)
class DraftDone:
    result: SplitResult


class DraftSplitter:
    def __init__(self) -> None:
        self._pending = ""  # reply text not yet released
        self._previous = ""  # last character released (for line-start checks)
        self._draft: list[str] | None = None
        self._opener = ""
        self.reply = ""  # all reply text released so far

    @property
    def draft_started(self) -> bool:
        return self._draft is not None

    def feed(self, delta: str) -> str:
        if self._draft is not None:
            self._draft.append(delta)
            return ""
        self._pending += delta
        found = self._find_opener()
        if found is not None:
            start, opener = found
            released = self._pending[:start].rstrip()
            rest = self._pending[start + len(opener) :]
            self._opener = opener
            self._draft = [rest if opener == DRAFT_OPEN else opener + rest]
            self._pending = ""
            return self._release(released)
        hold = self._hold_from()
        released, self._pending = self._pending[:hold], self._pending[hold:]
        return self._release(released)

    def finish(self) -> SplitResult:
        if self._draft is None:
            tail, self._pending = self._pending, ""
            self.reply += tail
            return SplitResult(tail, None, False)
        body = "".join(self._draft)
        if self._opener == DRAFT_OPEN:
            draft, closed, epilogue = body.partition(DRAFT_CLOSE)
        else:
            draft, closed, epilogue = _split_fallback(body)
        epilogue = epilogue if epilogue.strip() else ""
        self.reply += epilogue
        return SplitResult(epilogue, draft.strip("\n"), bool(closed), epilogue)

    def _release(self, text: str) -> str:
        if text:
            self._previous = text[-1]
            self.reply += text
        return text

    def _at_line_start(self, index: int) -> bool:
        before = self._pending[index - 1] if index > 0 else self._previous
        return before in ("", "\n")

    def _find_opener(self) -> tuple[int, str] | None:
        best: tuple[int, str] | None = None
        for opener in (DRAFT_OPEN, *_FALLBACK_OPENERS):
            index = self._pending.find(opener)
            while index != -1 and opener != DRAFT_OPEN and not self._at_line_start(index):
                index = self._pending.find(opener, index + 1)
            if index != -1 and (best is None or index < best[0]):
                best = (index, opener)
        return best

    def _hold_from(self) -> int:
        """Where the releasable reply text ends: before a possible opener or trailing spaces."""
        pending = self._pending
        end = len(pending)
        for index in range(max(0, len(pending) - _LONGEST + 1), len(pending)):
            tail = pending[index:]
            if DRAFT_OPEN.startswith(tail) or (
                self._at_line_start(index) and any(o.startswith(tail) for o in _FALLBACK_OPENERS)
            ):
                end = index
                break
        return len(pending[:end].rstrip())


def _split_fallback(body: str) -> tuple[str, str, str]:
    end = body.rfind("</prompt>")
    if end == -1:
        return body, "", ""
    end += len("</prompt>")
    start = body.find("<prompt")  # drop a fence line the draft may start with
    epilogue = body[end:]
    stripped = epilogue.lstrip(" \t\n")
    for fence in ("```", "~~~"):
        if stripped.startswith(fence):
            epilogue = stripped[len(fence) :]
    return body[start:end], "</prompt>", epilogue


def split_all(deltas: Iterable[str]) -> tuple[str, SplitResult]:
    """Feed every delta; return (the whole reply, the final result). Handy for non-streaming use."""
    splitter = DraftSplitter()
    for delta in deltas:
        splitter.feed(delta)
    result = splitter.finish()
    return splitter.reply, result


async def split_stream(deltas: AsyncIterable[str]) -> AsyncIterator[ReplyText | DraftDone]:
    """Reply pieces as they become safe, then exactly one `DraftDone` at the end."""
    splitter = DraftSplitter()
    async for delta in deltas:
        if text := splitter.feed(delta):
            yield ReplyText(text)
    result = splitter.finish()
    if result.reply_tail:
        yield ReplyText(result.reply_tail)
    yield DraftDone(result)
