"""What each adapter sends upstream, as recorded by the emulator."""

from __future__ import annotations

from types import SimpleNamespace as NS
from typing import Any

from provider_cases import API_KEY, make_request, settings_for

from promptsmith.emulator.testing import Emulator
from promptsmith.providers.anthropic import AnthropicProvider, request_params
from promptsmith.providers.base import ChatMessage, ReasoningDelta, ToolCall, Usage, collect
from promptsmith.providers.gemini import GeminiProvider
from promptsmith.providers.openai import OpenAIProvider, _ChatReader, responses_params

HISTORY = [
    ChatMessage(role="user", content="Find cats"),
    ChatMessage(
        role="assistant",
        content="Searching.",
        tool_calls=[ToolCall(id="call_1", name="search", arguments={"query": "cats"})],
    ),
    ChatMessage(role="tool", content="3 results", tool_call_id="call_1", name="search"),
    ChatMessage(role="user", content="Summarise"),
]
SCHEMA = {"type": "object", "properties": {"query": {"type": "string"}}}


async def test_anthropic_request_shape(emulator: Emulator) -> None:
    provider = AnthropicProvider(settings_for(emulator))
    request = make_request("emu-shape-a", messages=HISTORY, reasoning=True, reasoning_budget=2048)
    await collect(provider.stream(request))
    await provider.aclose()

    recorded = await emulator.control.last_request("emu-shape-a")
    body: dict[str, Any] = recorded["body"]
    assert recorded["path"] == "/v1/messages"
    assert recorded["headers"]["authorization"] == f"Bearer {API_KEY}"  # how this SDK sends keys
    assert recorded["headers"]["anthropic-version"]
    assert recorded["headers"]["x-stainless-retry-count"] == "0"
    assert body["model"] == "emu-shape-a"
    assert body["stream"] is True
    assert body["system"] == [
        {"type": "text", "text": "Stable prefix", "cache_control": {"type": "ephemeral"}},
        {"type": "text", "text": "Dynamic part"},
    ]
    assert body["tools"] == [
        {"name": "search", "description": "Search the course documents", "input_schema": SCHEMA}
    ]
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert body["max_tokens"] > 2048
    assert "temperature" not in body
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Find cats"}]},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Searching."},
                {"type": "tool_use", "id": "call_1", "name": "search", "input": {"query": "cats"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "call_1", "content": "3 results"},
                {"type": "text", "text": "Summarise"},
            ],
        },
    ]


def test_anthropic_thinking_budget_fits_under_max_tokens() -> None:
    params = request_params(
        make_request("m", max_tokens=1000, reasoning=True, reasoning_budget=500, temperature=0.2)
    )
    assert params["thinking"]["budget_tokens"] == 1024  # Anthropic's minimum
    assert params["max_tokens"] == 2024
    assert "temperature" not in params

    plain = request_params(make_request("m", temperature=0.2))
    assert plain["temperature"] == 0.2
    assert "thinking" not in plain


async def test_openai_chat_request_shape(emulator: Emulator) -> None:
    provider = OpenAIProvider(settings_for(emulator))
    await collect(provider.stream(make_request("emu-shape-c", messages=HISTORY, temperature=0.3)))
    await provider.aclose()

    recorded = await emulator.control.last_request("emu-shape-c")
    body: dict[str, Any] = recorded["body"]
    assert recorded["path"] == "/v1/chat/completions"
    assert recorded["headers"]["authorization"] == f"Bearer {API_KEY}"
    assert body["model"] == "emu-shape-c"
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["max_tokens"] == 512  # not api.openai.com: the widely supported name
    assert body["temperature"] == 0.3
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "search",
                "description": "Search the course documents",
                "parameters": SCHEMA,
            },
        }
    ]
    assert body["messages"] == [
        {"role": "system", "content": "Stable prefix\n\nDynamic part"},
        {"role": "user", "content": "Find cats"},
        {
            "role": "assistant",
            "content": "Searching.",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "search", "arguments": '{"query": "cats"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "3 results"},
        {"role": "user", "content": "Summarise"},
    ]


async def test_openai_responses_request_shape(emulator: Emulator) -> None:
    provider = OpenAIProvider(settings_for(emulator), api="responses")
    await collect(provider.stream(make_request("emu-shape-r", messages=HISTORY, reasoning=True)))
    await provider.aclose()

    recorded = await emulator.control.last_request("emu-shape-r")
    body: dict[str, Any] = recorded["body"]
    assert recorded["path"] == "/v1/responses"
    assert body["model"] == "emu-shape-r"
    assert body["stream"] is True
    assert body["store"] is False
    assert body["instructions"] == "Stable prefix\n\nDynamic part"
    assert body["max_output_tokens"] == 512
    assert body["reasoning"] == {"effort": "medium", "summary": "auto"}
    assert body["tools"] == [
        {
            "type": "function",
            "name": "search",
            "description": "Search the course documents",
            "parameters": SCHEMA,
            "strict": False,
        }
    ]
    assert body["input"] == [
        {"role": "user", "content": "Find cats"},
        {"role": "assistant", "content": "Searching."},
        {
            "type": "function_call",
            "call_id": "call_1",
            "name": "search",
            "arguments": '{"query": "cats"}',
        },
        {"type": "function_call_output", "call_id": "call_1", "output": "3 results"},
        {"role": "user", "content": "Summarise"},
    ]


async def test_gemini_request_shape(emulator: Emulator) -> None:
    provider = GeminiProvider(settings_for(emulator))
    request = make_request("emu-shape-g", messages=HISTORY, reasoning=True, reasoning_budget=256)
    await collect(provider.stream(request))
    await provider.aclose()

    recorded = await emulator.control.last_request("emu-shape-g")
    body: dict[str, Any] = recorded["body"]
    # /<api_version>/models/<model>:streamGenerateContent (the SDK picks the version)
    assert recorded["path"].startswith("/v1")
    assert recorded["path"].endswith("/models/emu-shape-g:streamGenerateContent")
    assert recorded["query"] == "alt=sse"
    assert recorded["headers"]["x-goog-api-key"] == API_KEY
    assert body["systemInstruction"]["parts"] == [{"text": "Stable prefix\n\nDynamic part"}]
    # The SDK sends some nested keys in snake_case; the API accepts either spelling.
    body = camel_keys(body, keep=("parametersJsonSchema", "args", "response"))
    assert body["tools"] == [
        {
            "functionDeclarations": [
                {
                    "name": "search",
                    "description": "Search the course documents",
                    "parametersJsonSchema": SCHEMA,
                }
            ]
        }
    ]
    config = body["generationConfig"]
    assert config["maxOutputTokens"] == 512
    assert config["thinkingConfig"] == {"includeThoughts": True, "thinkingBudget": 256}
    assert body["contents"] == [
        {"role": "user", "parts": [{"text": "Find cats"}]},
        {
            "role": "model",
            "parts": [
                {"text": "Searching."},
                {"functionCall": {"name": "search", "args": {"query": "cats"}}},
            ],
        },
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"name": "search", "response": {"result": "3 results"}}},
                {"text": "Summarise"},
            ],
        },
    ]


async def test_openai_compatible_server_without_a_key(emulator: Emulator) -> None:
    provider = OpenAIProvider(settings_for(emulator, openai_api_key=None))
    completion = await collect(provider.stream(make_request("emu-think-tool-noids-nousage")))
    events = [e async for e in provider.stream(make_request("emu-think", reasoning=True))]
    await provider.aclose()

    recorded = await emulator.control.last_request("emu-think-tool-noids-nousage")
    assert "authorization" not in recorded["headers"]
    [call] = completion.tool_calls
    assert call.id  # the server sent none: the adapter made one up
    assert call.arguments == {"query": "What is 2+2?"}
    assert completion.finish_reason == "tool_calls"
    assert completion.usage == Usage()  # the server sent no usage at all
    assert completion.reasoning == "Let me think about: What is 2+2?"
    assert any(isinstance(e, ReasoningDelta) for e in events)


def test_openai_api_choice() -> None:
    hosted = settings_for_hosted()
    provider = OpenAIProvider(hosted)
    assert provider.uses_responses_api("o3-mini")
    assert provider.uses_responses_api("gpt-5-mini")
    assert not provider.uses_responses_api("gpt-4o-mini")

    local = OpenAIProvider(
        hosted.model_copy(update={"openai_base_url": "http://localhost:11434/v1"})
    )
    assert not local.uses_responses_api("o3-mini")

    forced = OpenAIProvider(hosted.model_copy(update={"openai_api": "responses"}))
    assert forced.uses_responses_api("gpt-4o-mini")
    assert not OpenAIProvider(hosted, api="chat").uses_responses_api("o3")


def camel_keys(value: Any, keep: tuple[str, ...]) -> Any:
    """`value` with snake_case keys spelled camelCase, except inside the `keep` keys."""
    if isinstance(value, list):
        return [camel_keys(item, keep) for item in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for key, item in value.items():
        head, *rest = key.split("_")
        name = head + "".join(word.title() for word in rest)
        out[name] = item if name in keep else camel_keys(item, keep)
    return out


def settings_for_hosted() -> Any:
    from promptsmith.settings import Settings

    return Settings(_env_file=None, openai_api_key=API_KEY)  # type: ignore[call-arg]


def test_openai_responses_asks_hosted_reasoning_only_of_reasoning_models() -> None:
    asked = make_request("gpt-4o", reasoning=True, temperature=0.2)
    plain = responses_params(asked, hosted=True)
    assert "reasoning" not in plain, "api.openai.com refuses `reasoning` for gpt-4o"
    assert plain["temperature"] == 0.2

    thinking = responses_params(make_request("o4-mini", reasoning=True), hosted=True)
    assert thinking["reasoning"] == {"effort": "medium", "summary": "auto"}

    local = responses_params(make_request("qwen3", reasoning=True), hosted=False)
    assert local["reasoning"] == {"effort": "medium", "summary": "auto"}


def _chunk(*, tool_calls: list[dict[str, Any]] | None = None, finish: str | None = None) -> Any:
    calls = [
        NS(
            index=c.get("index"),
            id=c.get("id"),
            function=NS(name=c.get("name"), arguments=c["args"]),
        )
        for c in tool_calls or []
    ]
    delta = NS(content=None, tool_calls=calls, reasoning_content=None)
    return NS(choices=[NS(index=0, delta=delta, finish_reason=finish)], usage=None)


def test_openai_tool_calls_without_an_index_are_told_apart_by_id() -> None:
    reader = _ChatReader()
    chunks = [
        _chunk(tool_calls=[{"id": "a", "name": "search", "args": '{"query"'}]),
        _chunk(tool_calls=[{"args": ': "cats"}'}]),
        _chunk(tool_calls=[{"id": "b", "name": "lookup", "args": '{"term": "dogs"}'}]),
        _chunk(finish="tool_calls"),
    ]
    events = [event for chunk in chunks for event in reader.feed(chunk)]
    assert events == [
        ToolCall("a", "search", {"query": "cats"}),
        ToolCall("b", "lookup", {"term": "dogs"}),
    ]
