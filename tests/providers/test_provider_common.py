"""The helpers the adapters share."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from promptsmith.exceptions import (
    ProviderOverloaded,
    ProviderRateLimited,
    ProviderRequestError,
    ProviderTimeout,
    StreamInterrupted,
)
from promptsmith.providers.common import (
    ToolCallAssembler,
    interrupted,
    parse_arguments,
    parse_retry_after,
    status_error,
    status_for_kind,
)
from promptsmith.providers.gemini import _retry_delay


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "7"}, 7.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after": "soon"}, None),
        ({}, None),
        (None, None),
    ],
)
def test_parse_retry_after(headers: dict[str, str] | None, expected: float | None) -> None:
    assert parse_retry_after(headers) == expected


def test_parse_retry_after_http_date() -> None:
    when = datetime.now(UTC) + timedelta(seconds=30)
    seconds = parse_retry_after({"retry-after": format_datetime(when, usegmt=True)})
    assert seconds is not None
    assert 20 < seconds <= 31


def test_gemini_retry_info_detail() -> None:
    body = {
        "error": {
            "code": 429,
            "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "37s"}],
        }
    }
    assert _retry_delay(body) == 37.0
    assert _retry_delay({"error": {"code": 429}}) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", {}),
        ('{"a": 1}', {"a": 1}),
        ('{"a": ', {"_raw_arguments": '{"a": '}),
        ("[1, 2]", {"_raw_arguments": "[1, 2]"}),
    ],
)
def test_parse_arguments(text: str, expected: dict[str, object]) -> None:
    assert parse_arguments(text) == expected


def test_tool_call_assembler_joins_fragments_per_key() -> None:
    tools = ToolCallAssembler("call")
    tools.add(0, id="a", name="search")
    tools.add(1, id="b", name="fetch")
    tools.add(0, fragment='{"q": ')
    tools.add(1, fragment='{"url": "x"}')
    tools.add(0, fragment='"cats"}')

    first = tools.finish(0)
    assert first is not None
    assert (first.id, first.name, first.arguments) == ("a", "search", {"q": "cats"})
    [second] = tools.finish_all()
    assert (second.id, second.arguments) == ("b", {"url": "x"})
    assert not tools


def test_tool_call_assembler_makes_up_missing_ids() -> None:
    tools = ToolCallAssembler("call")
    tools.add("x", name="search", fragment="{}")
    tools.add("y", name="search", fragment="{}")
    ids = [call.id for call in tools.finish_all()]
    assert all(ids)
    assert len(set(ids)) == 2


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (429, ProviderRateLimited),
        (408, ProviderTimeout),
        (400, ProviderRequestError),
        (403, ProviderRequestError),
        (500, ProviderOverloaded),
        (529, ProviderOverloaded),
        (None, ProviderOverloaded),
    ],
)
def test_status_error(status: int | None, cls: type) -> None:
    error = status_error(status, "boom", provider="p", model="m", retry_after=2.0)
    assert type(error) is cls
    assert (error.provider, error.model, error.retry_after) == ("p", "m", 2.0)


def test_error_kinds() -> None:
    assert status_for_kind("overloaded_error") == 529
    assert status_for_kind("RESOURCE_EXHAUSTED") == 429
    assert status_for_kind("server_error") == 500
    assert status_for_kind("something_new") is None


def test_interrupted_keeps_the_details_and_is_final() -> None:
    error = interrupted(ProviderRateLimited("slow down", provider="p", model="m", status_code=429))
    assert isinstance(error, StreamInterrupted)
    assert error.retryable is False
    assert (error.provider, error.model, error.status_code) == ("p", "m", 429)
    assert interrupted(error) is error
