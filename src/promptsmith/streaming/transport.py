"""One streaming response for every stream: framing, heartbeat, `done`, disconnect.

`EventStreamResponse` is a plain ASGI response. It

* frames each event once, as an NDJSON line or an SSE `data:` frame, and sends
  it as its own body chunk (so it is flushed per event);
* sends an SSE `: ping` comment after `heartbeat` seconds of silence, including
  before the first event;
* turns an exception raised by the event generator into an `error` event
  (via `on_error`) and always finishes with exactly one `done`;
* watches the connection: when the client disconnects, the event generator is
  cancelled at once, which cancels any upstream provider call it is awaiting.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from enum import Enum

import anyio
from starlette.background import BackgroundTask
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ..exceptions import PromptsmithError
from ..metrics import STREAMS_ACTIVE
from .events import Done, ErrorEvent, Event, encode

ErrorMapper = Callable[[Exception], Event]

logger = logging.getLogger("promptsmith.streaming")

_DONE = encode(Done())
_PING = b": ping\n\n"


class _ClientGone(Exception):
    """`send` failed because the client has disconnected."""


class Framing(Enum):
    NDJSON = "application/x-ndjson"
    SSE = "text/event-stream"

    def frame(self, payload: bytes) -> bytes:
        if self is Framing.SSE:
            return b"data: " + payload + b"\n\n"
        return payload + b"\n"


def _generic_error(exc: Exception) -> Event:
    return ErrorEvent(error="Internal error", message="The stream failed unexpectedly.")


class EventStreamResponse(Response):
    def __init__(
        self,
        events: AsyncIterator[Event],
        *,
        framing: Framing,
        heartbeat: float = 15.0,
        on_error: ErrorMapper = _generic_error,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.events = events
        self.framing = framing
        self.heartbeat = heartbeat
        self.on_error = on_error
        self.status_code = 200
        self.background: BackgroundTask | None = None
        self.extra_headers = dict(headers or {})
        self.raw_headers = self._raw_headers()
        self.disconnected = False
        self._last_send = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        self._last_send = time.monotonic()
        # fast_acquire: no event-loop round trip per event when nobody else holds it.
        lock = anyio.Lock(fast_acquire=True)
        active = STREAMS_ACTIVE.labels(self.framing.name.lower())
        active.inc()
        try:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(self._watch_disconnect, receive, tasks.cancel_scope)
                if self.framing is Framing.SSE:
                    tasks.start_soon(self._heartbeat, send, lock)
                await self._pump(send, lock)
                tasks.cancel_scope.cancel()
        finally:
            active.dec()
            with anyio.CancelScope(shield=True), anyio.move_on_after(5):
                await _aclose(self.events)
            if self.background is not None:
                await self.background()

    def _raw_headers(self) -> list[tuple[bytes, bytes]]:
        headers = {
            "content-type": self.framing.value + "; charset=utf-8",
            "cache-control": "no-cache",
            "x-accel-buffering": "no",
            **{k.lower(): v for k, v in self.extra_headers.items()},
        }
        return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]

    async def _pump(self, send: Send, lock: anyio.Lock) -> None:
        frame = self.framing.frame
        try:
            try:
                async for event in self.events:
                    if isinstance(event, Done):
                        break
                    async with lock:
                        await self._send_body(send, frame(encode(event)))
            except _ClientGone:
                raise
            except Exception as exc:
                _log_failure(exc)
                async with lock:
                    await self._send_body(send, frame(encode(self.on_error(exc))))
            async with lock:
                await self._send_body(send, frame(_DONE))
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except _ClientGone:
            self.disconnected = True

    async def _send_body(self, send: Send, body: bytes) -> None:
        try:
            await send({"type": "http.response.body", "body": body, "more_body": True})
        except OSError as exc:
            raise _ClientGone from exc
        self._last_send = time.monotonic()

    async def _heartbeat(self, send: Send, lock: anyio.Lock) -> None:
        while True:
            idle = time.monotonic() - self._last_send
            if idle < self.heartbeat:
                await anyio.sleep(self.heartbeat - idle)
                continue
            async with lock:
                try:
                    await self._send_body(send, _PING)
                except _ClientGone:
                    return

    async def _watch_disconnect(self, receive: Receive, scope: anyio.CancelScope) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.disconnected = True
                scope.cancel()
                return


def _log_failure(exc: Exception) -> None:
    if isinstance(exc, PromptsmithError):
        # Expected failures (a provider error, setup required): their message says
        # it all and is safe to log; a traceback would add the SDK's raw exception.
        logger.warning("stream ended with %s: %s", type(exc).__name__, exc)
    else:
        logger.exception("stream failed after headers were sent")


async def _aclose(events: AsyncIterator[Event]) -> None:
    aclose = getattr(events, "aclose", None)
    if aclose is not None:
        await aclose()


def negotiate_framing(accept: str | None, default: Framing = Framing.NDJSON) -> Framing:
    """Pick NDJSON or SSE from an Accept header, by q-value; ties go to `default`."""
    if not accept:
        return default
    ndjson_q = _quality(accept, Framing.NDJSON.value)
    sse_q = _quality(accept, Framing.SSE.value)
    if sse_q > ndjson_q:
        return Framing.SSE
    if ndjson_q > sse_q:
        return Framing.NDJSON
    return default


def _quality(accept: str, media_type: str) -> float:
    """The q-value the Accept header gives `media_type` (most specific range wins)."""
    main_type = media_type.split("/")[0]
    best_specificity, best_q = -1, 0.0
    for item in accept.split(","):
        parts = [p.strip() for p in item.split(";")]
        range_, params = parts[0].lower(), parts[1:]
        if range_ == media_type:
            specificity = 2
        elif range_ == f"{main_type}/*":
            specificity = 1
        elif range_ == "*/*":
            specificity = 0
        else:
            continue
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if specificity > best_specificity:
            best_specificity, best_q = specificity, q
    return best_q
