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
    redact,
    redact_error,
    safe_url,
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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Incorrect API key provided: my-own-key-123.", "Incorrect API key provided: [redacted]."),
        ("key sk-proj-abcdefghijklmnop rejected", "key [redacted] rejected"),
        ("masked sk-abc*************wxyz here", "masked [redacted] here"),
        ("bad key AIzaSyA1234567890abcdefghijk", "bad key [redacted]"),
        (
            "GET /v1/models?key=abc123&alt=sse failed",
            "GET /v1/models?key=[redacted]&alt=sse failed",
        ),
        (
            "header Authorization: Bearer abcdefgh12345678ijklmnop",
            "header Authorization: Bearer [redacted]",
        ),
        ("Missing bearer authentication header", "Missing bearer authentication header"),
        ("The server is overloaded.", "The server is overloaded."),
        ("task-based skills", "task-based skills"),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert redact(text, ["my-own-key-123"]) == expected


def test_redact_error_keeps_the_error_and_rewrites_its_message() -> None:
    error = ProviderRequestError("bad key sk-live-0123456789", provider="openai", status_code=401)
    assert redact_error(error) is error
    assert error.message == str(error) == "bad key [redacted]"
    assert (error.provider, error.status_code) == ("openai", 401)


def test_safe_url_drops_credentials_and_query() -> None:
    assert safe_url("http://user:pw@localhost:11434/v1?token=x") == "http://localhost:11434/v1"
    assert safe_url("https://api.openai.com/v1") == "https://api.openai.com/v1"
