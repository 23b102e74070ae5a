"""The official SDKs' non-streaming calls parse the emulator's responses."""

from __future__ import annotations

import anthropic
import openai
import pytest
from google import genai
from google.genai import types

from promptsmith.emulator.testing import Emulator

USER = {"role": "user", "content": "hello there"}


async def test_anthropic_message(emulator: Emulator) -> None:
    client = anthropic.AsyncAnthropic(base_url=emulator.url, api_key="k", max_retries=0)
    message = await client.messages.create(
        model="emu-think-cached",
        max_tokens=100,
        messages=[USER],  # type: ignore[list-item]
    )
    await client.close()

    assert [block.type for block in message.content] == ["thinking", "text"]
    assert message.content[1].text == "Echo: hello there"  # type: ignore[union-attr]
    assert message.stop_reason == "end_turn"
    assert message.usage.cache_read_input_tokens == 1024


async def test_anthropic_errors_are_the_sdks_own_types(emulator: Emulator) -> None:
    client = anthropic.AsyncAnthropic(base_url=emulator.url, api_key="k", max_retries=0)
    with pytest.raises(anthropic.OverloadedError) as caught:
        await client.messages.create(model="emu-529", max_tokens=5, messages=[USER])  # type: ignore[list-item]
    await client.close()
    assert caught.value.status_code == 529


async def test_openai_chat_completion(emulator: Emulator) -> None:
    client = openai.AsyncOpenAI(base_url=emulator.openai_base_url, api_key="k", max_retries=0)
    completion = await client.chat.completions.create(model="emu-tool", messages=[USER])  # type: ignore[list-item]
    await client.close()

    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    [call] = choice.message.tool_calls or []
    assert call.function.name == "lookup"  # type: ignore[union-attr]
    assert completion.usage is not None


async def test_openai_response(emulator: Emulator) -> None:
    client = openai.AsyncOpenAI(base_url=emulator.openai_base_url, api_key="k", max_retries=0)
    response = await client.responses.create(model="emu-plain", input="hello there")
    await client.close()

    assert response.output_text == "Echo: hello there"
    assert response.usage is not None


async def test_gemini_generate_content(emulator: Emulator) -> None:
    client = genai.Client(api_key="k", http_options=types.HttpOptions(base_url=emulator.url))
    response = await client.aio.models.generate_content(model="emu-cached", contents="hello there")
    await client.aio.aclose()

    assert response.text == "Echo: hello there"
    assert response.usage_metadata is not None
    assert response.usage_metadata.cached_content_token_count == 1024
