"""The emulator's ASGI application: routes provider requests to their surface,
applies the model name's behaviour, and streams pre-rendered frames.

Per streamed token the hot path is one `send()` of bytes rendered before the
response started; a paced stream sleeps until each token's deadline and sends
late tokens together, so the schedule holds under load. One watcher task per
stream waits for `http.disconnect` and cancels the stream when the client goes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import orjson

from .anthropic import AnthropicSurface
from .control import ControlApi
from .gemini import PATH as GEMINI_PATH
from .gemini import GeminiSurface
from .grammar import Behaviour, parse_model
from .openai_chat import OpenAIChatSurface
from .openai_responses import OpenAIResponsesSurface
from .script import build_script, queued_error
from .state import ConnectionRecord, EmulatorState, RequestRecord
from .wire import MALFORMED, Call, Frame, Surface, send_json

Scope = dict[str, Any]
Message = dict[str, Any]

_ANTHROPIC = AnthropicSurface()
_CHAT = OpenAIChatSurface()
_RESPONSES = OpenAIResponsesSurface()
_GEMINI = GeminiSurface()
_SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
]
# uvicorn's words when an app returns mid-body: that is how `drop` cuts a stream.
_CUT_MESSAGE = "ASGI callable returned without completing response."


def route(method: str, path: str) -> Surface | None:
    if method != "POST":
        return None
    if path.endswith("/chat/completions"):
        return _CHAT
    if path.endswith("/responses"):
        return _RESPONSES
    if path.endswith("/messages"):
        return _ANTHROPIC
    if GEMINI_PATH.search(path):
        return _GEMINI
    return None


class EmulatorApp:
    """ASGI app. `state` is public so an in-process test can inspect it directly."""

    def __init__(self, state: EmulatorState | None = None) -> None:
        self.state = state or EmulatorState()
        self._control = ControlApi(self.state)
        self._streams: set[asyncio.Task[Any]] = set()
        self.loop: asyncio.AbstractEventLoop | None = None

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        body = await _read_body(receive)
        if path.startswith("/_emulator/"):
            await self._control.handle(
                scope["method"], path, scope.get("query_string", b""), body, send
            )
            return
        surface = route(scope["method"], path)
        if surface is None:
            await send_json(send, 404, {"error": {"message": f"no emulated API at {path}"}})
            return
        try:
            payload = orjson.loads(body) if body else {}
        except orjson.JSONDecodeError:
            await send_json(send, 400, {"error": {"message": "request body is not JSON"}})
            return
        await self._serve(surface, scope, payload, len(body), receive, send)

    def close_streams(self) -> None:
        """Cancel every open stream (for shutdown). Call from the server's loop."""
        self.state.closing = True
        for task in list(self._streams):
            task.cancel()

    async def _serve(
        self,
        surface: Surface,
        scope: Scope,
        body: dict[str, Any],
        size: int,
        receive: Any,
        send: Any,
    ) -> None:
        path: str = scope["path"]
        model = surface.model(body, path)
        behaviour = parse_model(model)
        streaming = surface.streaming(body, path)
        request_id = self.state.next_id()
        if self.state.record_requests:
            self.state.requests.append(_record(scope, surface, body, model, streaming, request_id))
        status = behaviour.fail_status
        if status and self.state.should_fail(model, surface.provider, behaviour.fail_times):
            await _send_error(
                send, surface, status, "", _retry_after(status, behaviour.retry_after)
            )
            return
        queued = self.state.pop_reply(model, surface.provider)
        if error := queued_error(queued):
            retry_after = _retry_after(error.status, error.retry_after or behaviour.retry_after)
            await _send_error(send, surface, error.status, error.message, retry_after)
            return
        prompt = surface.prompt(body)
        prompt.size = size
        script = build_script(behaviour, prompt, queued, request_id)
        query = scope.get("query_string", b"").decode()
        call = Call(path, query, body, model, request_id, int(time.time()))
        if not streaming:
            await send_json(send, 200, surface.complete(script, call))
            return
        connection = self.state.open_connection(request_id, surface.provider, surface.api, model)
        await self._stream(
            surface, behaviour, surface.frames(script, call), call, connection, receive, send
        )

    async def _stream(
        self,
        surface: Surface,
        behaviour: Behaviour,
        frames: list[Frame],
        call: Call,
        connection: ConnectionRecord,
        receive: Any,
        send: Any,
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._streams.add(task)
        headers = [*_SSE_HEADERS, (b"x-emulator-request-id", str(call.serial).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        connection.started_at = time.time()
        watcher = asyncio.get_running_loop().create_task(_watch(receive, connection, task))
        try:
            if behaviour.hang:
                await asyncio.get_running_loop().create_future()
            tail = await _send_frames(frames, behaviour, surface, call, connection, send)
            if tail is None:
                connection.close("dropped")
                return
            connection.close("completed")
            await send({"type": "http.response.body", "body": tail, "more_body": False})
        except asyncio.CancelledError:
            # The watcher saw the client leave, or the server is shutting down:
            # either way this stream is over, and not an error of the app.
            connection.close("client_disconnected" if not self.state.closing else "dropped")
            task.uncancel()
        finally:
            watcher.cancel()
            self._streams.discard(task)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.loop = asyncio.get_running_loop()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.close_streams()
                await send({"type": "lifespan.shutdown.complete"})
                return


async def _send_frames(
    frames: list[Frame],
    behaviour: Behaviour,
    surface: Surface,
    call: Call,
    connection: ConnectionRecord,
    send: Any,
) -> bytes | None:
    """Send the frames, paced; return the bytes that end the body, or None to cut it."""
    cut = behaviour.cut_after
    if cut is not None:
        frames = frames[: _cut_index(frames, cut)]
    interval = behaviour.interval
    loop = asyncio.get_running_loop()
    next_at = loop.time()
    pending: list[bytes] = []
    for data, token in frames:
        if token and interval:
            next_at += interval
            delay = next_at - loop.time()
            if delay > 0:
                if pending:
                    await send(
                        {"type": "http.response.body", "body": b"".join(pending), "more_body": True}
                    )
                    pending = []
                await asyncio.sleep(delay)
        pending.append(data)
        if token:
            connection.tokens_sent += 1
            if not interval:
                await send(
                    {"type": "http.response.body", "body": b"".join(pending), "more_body": True}
                )
                pending = []
    if cut is not None and cut == behaviour.drop_after:
        if pending:
            await send({"type": "http.response.body", "body": b"".join(pending), "more_body": True})
        return None
    if cut is not None and cut == behaviour.stream_error_after:
        pending.append(surface.stream_error(call))
    elif cut is not None and cut == behaviour.badjson_after:
        pending.append(surface.bad_json(call))
    elif cut is not None and cut == behaviour.malformed_after:
        pending.append(MALFORMED)
    return b"".join(pending)


def _cut_index(frames: list[Frame], tokens: int) -> int:
    """Where to stop so that exactly `tokens` token frames (or all there are) go out."""
    seen = 0
    last_token_end = 0
    for index, frame in enumerate(frames):
        if frame.token:
            if seen == tokens:
                return index
            seen += 1
            last_token_end = index + 1
    return last_token_end


async def _watch(receive: Any, connection: ConnectionRecord, stream: asyncio.Task[Any]) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    if connection.outcome == "open":
        connection.close("client_disconnected")
        stream.cancel()


async def _read_body(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


async def _send_error(
    send: Any, surface: Surface, status: int, message: str, retry_after: float | None
) -> None:
    error = surface.error(status, message, retry_after)
    headers = dict(error.headers)
    if retry_after is not None:
        headers["retry-after"] = f"{retry_after:g}"
    await send_json(send, error.status, error.body, headers)


def _retry_after(status: int, explicit: float | None) -> float | None:
    if explicit is not None:
        return explicit
    return 1.0 if status == 429 else None


def _record(
    scope: Scope, surface: Surface, body: Any, model: str, streaming: bool, request_id: int
) -> RequestRecord:
    headers: dict[str, str] = {}
    for name, value in scope.get("headers", []):
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    return RequestRecord(
        id=request_id,
        provider=surface.provider,
        api=surface.api,
        method=scope["method"],
        path=scope["path"],
        query=scope.get("query_string", b"").decode("latin-1"),
        headers=headers,
        body=body,
        model=model,
        stream=streaming,
    )


class _QuietCuts(logging.Filter):
    """Hide uvicorn's complaint about the streams the emulator cuts on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != _CUT_MESSAGE


def quiet_uvicorn_cuts() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _QuietCuts) for f in logger.filters):
        logger.addFilter(_QuietCuts())


def create_app(state: EmulatorState | None = None) -> EmulatorApp:
    quiet_uvicorn_cuts()
    return EmulatorApp(state)


__all__ = ["EmulatorApp", "EmulatorState", "create_app", "route"]
