"""Model names choose the emulator's behaviour."""

from __future__ import annotations

import pytest

from promptsmith.emulator.grammar import Behaviour, parse_model


def test_real_and_unknown_names_are_plain_models() -> None:
    assert parse_model("claude-sonnet-4-6") == Behaviour()
    assert parse_model("gpt-4o-mini") == Behaviour()
    assert parse_model("emu") == Behaviour()
    assert parse_model("emu-case-17") == Behaviour()


def test_content_flags_compose() -> None:
    behaviour = parse_model("emu-think-tool-cached-cachewrite-nousage-noids")
    assert behaviour.reasoning
    assert behaviour.tool
    assert behaviour.cached
    assert behaviour.cache_write
    assert behaviour.no_usage
    assert behaviour.no_ids


def test_pacing() -> None:
    assert parse_model("emu-stream-64x5ms") == Behaviour(tokens=64, interval=0.005)
    assert parse_model("emu-10x0.5ms").interval == pytest.approx(0.0005)


@pytest.mark.parametrize(
    ("model", "status", "times"),
    [
        ("emu-529", 529, None),
        ("emu-429once", 429, 1),
        ("emu-500x2", 500, 2),
        ("emu-404", 404, None),
    ],
)
def test_failures(model: str, status: int, times: int | None) -> None:
    behaviour = parse_model(model)
    assert (behaviour.fail_status, behaviour.fail_times) == (status, times)


def test_retry_after() -> None:
    assert parse_model("emu-429-ra7").retry_after == 7.0
    assert parse_model("emu-429").retry_after is None


def test_stream_breakers_default_to_three_tokens() -> None:
    assert parse_model("emu-drop").drop_after == 3
    assert parse_model("emu-drop0").drop_after == 0
    assert parse_model("emu-malformed5").malformed_after == 5
    assert parse_model("emu-badjson1").badjson_after == 1
    assert parse_model("emu-streamerror").stream_error_after == 3
    assert parse_model("emu-drop4-badjson2").cut_after == 2


def test_gemini_resource_names_and_case() -> None:
    assert parse_model("models/emu-hang").hang
    assert parse_model("EMU-Think").reasoning
