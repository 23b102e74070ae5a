"""The control API tests use to script the emulator and see what reached it.

    GET  /_emulator/health                          {"ok": true}
    POST /_emulator/reset                           forget replies, requests, connections, counters
    POST /_emulator/replies                         {"model": "emu-x", "provider": null,
                                                     "replies": [REPLY, ...]}   (or "reply": REPLY)
    GET  /_emulator/requests?model=&provider=       {"requests": [REQUEST, ...]}
    GET  /_emulator/connections?model=&provider=    {"connections": [CONNECTION, ...]}

REPLY is described in `promptsmith.emulator.script`. Queued replies are used
first-in first-out by the next requests for that model (and provider, if one
was given: "anthropic", "openai" or "gemini"). `provider` filters also accept
the API name ("messages", "chat.completions", "responses", "generateContent").

REQUEST: {"id", "provider", "api", "method", "path", "query", "headers",
"body", "model", "stream", "received_at"}; CONNECTION: {"id", "request_id",
"provider", "api", "model", "started_at", "closed_at", "outcome",
"tokens_sent"} with outcome "open" | "completed" | "client_disconnected" |
"dropped". Times are Unix seconds (`time.time()`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import orjson

from .state import EmulatorState
from .wire import send_json


class ControlApi:
    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    async def handle(self, method: str, path: str, query: bytes, body: bytes, send: Any) -> None:
        action = path.removeprefix("/_emulator/")
        params = {k: v[-1] for k, v in parse_qs(query.decode()).items()}
        model, provider = params.get("model"), params.get("provider")
        if method == "GET" and action == "health":
            await send_json(send, 200, {"ok": True})
        elif method == "POST" and action == "reset":
            self.state.reset()
            await send_json(send, 200, {"ok": True})
        elif method == "POST" and action == "replies":
            status, answer = self._queue(body)
            await send_json(send, status, answer)
        elif method == "GET" and action == "requests":
            await send_json(send, 200, {"requests": self.state.find_requests(model, provider)})
        elif method == "GET" and action == "connections":
            await send_json(
                send, 200, {"connections": self.state.find_connections(model, provider)}
            )
        else:
            await send_json(
                send, 404, {"error": {"message": f"no control endpoint {method} {path}"}}
            )

    def _queue(self, body: bytes) -> tuple[int, dict[str, Any]]:
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            return 400, {"error": {"message": "body is not JSON"}}
        if not isinstance(payload, dict) or not isinstance(payload.get("model"), str):
            return 400, {"error": {"message": "`model` (a string) is required"}}
        replies = payload.get("replies")
        if replies is None:
            replies = [payload.get("reply") or {}]
        if not isinstance(replies, list) or not all(isinstance(r, dict) for r in replies):
            return 400, {"error": {"message": "`replies` must be a list of objects"}}
        self.state.queue(payload["model"], payload.get("provider"), replies)
        return 200, {"queued": len(replies)}
