"""A wire-level LLM provider emulator for tests and benchmarks.

It speaks the real HTTP streaming protocols, so the official SDKs can be
pointed at it by base URL:

    Anthropic      POST /v1/messages                              base URL: http://HOST:PORT
    OpenAI chat    POST /v1/chat/completions                      base URL: http://HOST:PORT/v1
    OpenAI resp.   POST /v1/responses                             base URL: http://HOST:PORT/v1
    Gemini         POST /{version}/models/{model}:streamGenerateContent?alt=sse
                   POST /{version}/models/{model}:generateContent base URL: http://HOST:PORT

Run it with `promptsmith llm-emulator --port 8100` or
`python -m promptsmith.emulator --port 8100`; in tests use the fixtures in
`promptsmith.emulator.testing`.

How a model behaves is chosen by its name (`emu-think-tool-cached`,
`emu-stream-64x5ms`, `emu-529once`, `emu-drop3`, `emu-hang`, ...): see
`promptsmith.emulator.grammar`. Exact replies can be queued, and the requests
and stream lifecycles it saw read back, through the control API under
`/_emulator/`: see `promptsmith.emulator.control`.

Without a queued reply the answer is deterministic: "Echo: <last user message>"
streamed word by word.
"""

from .grammar import Behaviour, parse_model
from .server import EmulatorApp, create_app
from .state import EmulatorState

__all__ = ["Behaviour", "EmulatorApp", "EmulatorState", "create_app", "parse_model"]
