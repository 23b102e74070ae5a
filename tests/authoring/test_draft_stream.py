import asyncio
from collections.abc import AsyncIterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promptsmith.authoring.draft_stream import (
    DRAFT_CLOSE,
    DRAFT_OPEN,
    DraftDone,
    DraftSplitter,
    ReplyText,
    split_all,
    split_stream,
)

REPLY = "Tightened the tone; see <rules> & the examples."
DRAFT = "<prompt>\n  <role>x</role>\n</prompt>"
STREAM = f"{REPLY}\n\n{DRAFT_OPEN}\n{DRAFT}\n{DRAFT_CLOSE}"


def feed_all(pieces: list[str]) -> tuple[list[str], str, DraftSplitter]:
    splitter = DraftSplitter()
    released = [splitter.feed(piece) for piece in pieces]
    result = splitter.finish()
    return released, result.reply_tail, splitter


def test_single_delta() -> None:
    reply, result = split_all([STREAM])
    assert reply == REPLY
    assert result.draft == DRAFT
    assert result.complete
    assert result.epilogue == ""


@pytest.mark.parametrize("cut", range(len(STREAM) + 1))
def test_every_single_split_point(cut: int) -> None:
    released, tail, _splitter = feed_all([STREAM[:cut], STREAM[cut:]])
    assert "".join(released) + tail == REPLY
    assert not any(DRAFT_OPEN[:2] in piece for piece in released)


def test_every_pair_of_split_points_around_the_delimiter() -> None:
    start = STREAM.index(DRAFT_OPEN) - 3
    stop = STREAM.index(DRAFT_OPEN) + len(DRAFT_OPEN) + 3
    for i in range(start, stop):
        for j in range(i, stop):
            released, tail, _splitter = feed_all([STREAM[:i], STREAM[i:j], STREAM[j:]])
            joined = "".join(released)
            assert joined + tail == REPLY, (i, j)
            assert DRAFT_OPEN not in joined
            assert "<draft" not in joined
            assert "<d" not in joined[len(REPLY) - 2 :]


def test_character_by_character_never_leaks() -> None:
    splitter = DraftSplitter()
    shown = ""
    for char in STREAM:
        shown += splitter.feed(char)
        assert REPLY.startswith(shown)
        assert "draft" not in shown
    result = splitter.finish()
    assert shown + result.reply_tail == REPLY
    assert result.draft == DRAFT


def test_reply_streams_before_the_draft_arrives() -> None:
    splitter = DraftSplitter()
    assert splitter.feed("Hello there, ") == "Hello there,"
    assert splitter.feed("friend.") == " friend."
    assert not splitter.draft_started
    splitter.feed("\n<dr")
    assert not splitter.draft_started
    splitter.feed("aft>")
    assert splitter.draft_started


def test_lookalike_is_released() -> None:
    splitter = DraftSplitter()
    assert splitter.feed("Use the <dr") == "Use the"
    assert splitter.feed("y> run") == " <dry> run"


def test_no_draft() -> None:
    reply, result = split_all(["Sure, ", "happy to help ", "<"])
    assert reply == "Sure, happy to help <"
    assert result.draft is None
    assert not result.complete


def test_unclosed_draft() -> None:
    reply, result = split_all(["Ok.", "<draft>\n<prompt><role>x"])
    assert reply == "Ok."
    assert result.draft == "<prompt><role>x"
    assert not result.complete


def test_epilogue_is_reply_text() -> None:
    reply, result = split_all([f"Done.\n{DRAFT_OPEN}{DRAFT}{DRAFT_CLOSE}\n\nAnything else?"])
    assert result.epilogue == "\n\nAnything else?"
    assert reply == "Done.\n\nAnything else?"
    assert result.reply_tail == result.epilogue


@pytest.mark.parametrize(
    "stream",
    [
        f"Here you go:\n{DRAFT}",
        f"Here you go:\n```xml\n{DRAFT}\n```",
        f"Here you go:\n```\n{DRAFT}\n```\n",
    ],
)
def test_fallback_without_delimiter(stream: str) -> None:
    for cut in range(len(stream) + 1):
        reply, result = split_all([stream[:cut], stream[cut:]])
        assert reply == "Here you go:", cut
        assert result.draft == DRAFT
        assert result.complete


def test_prompt_mentioned_mid_line_is_reply() -> None:
    reply, result = split_all(["The <prompt> root ", "wraps everything."])
    assert reply == "The <prompt> root wraps everything."
    assert result.draft is None


def test_draft_at_the_very_start() -> None:
    reply, result = split_all([DRAFT])
    assert reply == ""
    assert result.draft == DRAFT


async def _deltas(pieces: list[str]) -> AsyncIterator[str]:
    for piece in pieces:
        await asyncio.sleep(0)
        yield piece


async def test_split_stream() -> None:
    events = [event async for event in split_stream(_deltas(list(STREAM)))]
    assert isinstance(events[-1], DraftDone)
    assert events[-1].result.draft == DRAFT
    texts = [e.text for e in events if isinstance(e, ReplyText)]
    assert "".join(texts) == REPLY
    assert all(texts)


TEXT = st.text(alphabet=st.sampled_from("ab <>/\n`drafting"), max_size=25)


@settings(max_examples=300, deadline=None)
@given(
    reply=TEXT.filter(
        lambda t: "<draft>" not in t and "\n<prompt" not in t and not t.startswith("<prompt")
    ),
    draft=TEXT.filter(lambda t: "</draft>" not in t),
    cuts=st.lists(st.integers(min_value=0, max_value=80), max_size=6),
)
def test_any_chunking_gives_the_same_split(reply: str, draft: str, cuts: list[int]) -> None:
    stream = f"{reply}{DRAFT_OPEN}{draft}{DRAFT_CLOSE}"
    points = sorted({min(c, len(stream)) for c in cuts})
    pieces = [stream[a:b] for a, b in zip([0, *points], [*points, len(stream)], strict=True)]
    whole_reply, whole = split_all([stream])
    chunked_reply, chunked = split_all(pieces)
    assert (chunked_reply, chunked) == (whole_reply, whole)
    assert chunked.draft == draft.strip("\n")
    assert whole_reply == reply.rstrip()
