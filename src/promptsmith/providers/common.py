"""What the provider adapters share: the stream guard that turns SDK errors into
`ProviderError`s, error classification, tool-call assembly, and HTTP settings.

Conventions every adapter follows (the router and the usage table rely on them):

- `Usage.input_tokens` counts every prompt token, cached ones included;
  `cache_read_tokens` / `cache_write_tokens` are the cached part of it.
- `Usage.output_tokens` counts every generated token, reasoning included;
  `reasoning_tokens` is the reasoning part of it.
- An error after the first event was yielded is a `StreamInterrupted`.
- A stream that ends without the provider's end marker is an error, never a
  silent success.
- Error messages are redacted (`redact`): providers sometimes quote the API key
  they were sent, and these messages reach clients and logs.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx2

from ..exceptions import (
    ProviderConnectionError,
    ProviderError,
    ProviderOverloaded,
    ProviderRateLimited,
    ProviderRequestError,
    ProviderTimeout,
    StreamInterrupted,
)
from .base import ProviderEvent, ToolCall

# One adapter serves every concurrent stream, so allow far more than the SDKs'
# default 1000 connections; idle ones are kept for reuse.
UPSTREAM_LIMITS = httpx2.Limits(max_connections=8192, max_keepalive_connections=512)

ErrorMapper = Callable[[BaseException, bool], ProviderError]


def upstream_timeout(connect: float) -> httpx2.Timeout:
    """Connect timeout only: first-token and idle timeouts belong to the router."""
    return httpx2.Timeout(None, connect=connect)


async def guarded(
    events: AsyncGenerator[ProviderEvent, None],
    map_error: ErrorMapper,
    secrets: Iterable[str] = (),
) -> AsyncIterator[ProviderEvent]:
    """Yield `events`, turning any failure into a ProviderError via `map_error(exc, started)`.

    The error's message is redacted of `secrets` (and anything shaped like a key).
    Closing or cancelling this generator closes `events`, and with it the
    upstream HTTP response.
    """
    started = False
    try:
        async for event in events:
            started = True
            yield event
    except ProviderError as exc:
        error = exc if not started else interrupted(exc)
        redact_error(error, secrets)
        if error is exc:
            raise
        raise error from exc
    except Exception as exc:
        error = redact_error(map_error(exc, started), secrets)
        # An error with a status quotes the provider's response, already in the
        # (redacted) message; the SDK's exception would carry it unredacted into
        # any traceback. Keep the chain for everything else (ours to debug).
        raise error from (None if error.status_code is not None else exc)
    finally:
        await events.aclose()


_REDACTED = "[redacted]"
_KEY_SHAPED = re.compile(
    r"\b(?:sk-[A-Za-z0-9_\-*]{8,}|AIza[0-9A-Za-z_\-]{16,}|ya29\.[0-9A-Za-z_\-.]{16,})"
)
_KEY_PARAM = re.compile(r"(?i)\b((?:api[_-]?)?key=)[^&\s\"']+")
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/\-]{20,}=*")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` without the given secrets, API-key-shaped strings, `key=` query values
    and bearer tokens."""
    for secret in secrets:
        if len(secret) >= 6:
            text = text.replace(secret, _REDACTED)
    text = _KEY_SHAPED.sub(_REDACTED, text)
    text = _KEY_PARAM.sub(lambda m: m.group(1) + _REDACTED, text)
    return _BEARER.sub(lambda m: m.group(1) + _REDACTED, text)


def redact_error(error: ProviderError, secrets: Iterable[str] = ()) -> ProviderError:
    """Redact `error`'s message in place (and return it)."""
    message = redact(error.message, secrets)
    if message != error.message:
        error.message = message
        error.args = (message,)
    return error


def interrupted(error: ProviderError) -> ProviderError:
    """The same failure, reported as final because output already reached the caller."""
    if isinstance(error, StreamInterrupted):
        return error
    return StreamInterrupted(
        f"stream interrupted: {error.message}",
        provider=error.provider,
        model=error.model,
        status_code=error.status_code,
        retry_after=error.retry_after,
    )


def status_error(
    status: int | None,
    message: str,
    *,
    provider: str,
    model: str,
    retry_after: float | None = None,
) -> ProviderError:
    """The ProviderError for an HTTP status (None: the status is unknown)."""
    cls: type[ProviderError]
    if status == 429:
        cls = ProviderRateLimited
    elif status == 408:
        cls = ProviderTimeout
    elif status is not None and 400 <= status < 500:
        cls = ProviderRequestError
    else:
        cls = ProviderOverloaded
    return cls(message, provider=provider, model=model, status_code=status, retry_after=retry_after)


# Error `type` / `code` / `status` strings the providers put in bodies and stream events.
_KIND_STATUS = {
    "rate_limit_error": 429,
    "rate_limit_exceeded": 429,
    "resource_exhausted": 429,
    "overloaded_error": 529,
    "api_error": 500,
    "server_error": 500,
    "internal": 500,
    "unavailable": 503,
    "timeout_error": 504,
    "deadline_exceeded": 504,
    "invalid_request_error": 400,
    "invalid_argument": 400,
    "authentication_error": 401,
    "unauthenticated": 401,
    "permission_error": 403,
    "permission_denied": 403,
    "not_found_error": 404,
    "not_found": 404,
}


def status_for_kind(kind: str | None) -> int | None:
    """The HTTP status an error kind stands for (None when unknown)."""
    return _KIND_STATUS.get((kind or "").lower())


def transport_error(
    exc: BaseException, *, provider: str, model: str, base_url: str | None = None
) -> ProviderError | None:
    """Errors of the HTTP layer and of unparseable payloads; None for anything else."""
    if isinstance(exc, httpx2.TimeoutException):
        return ProviderTimeout(f"{provider} timed out: {exc}", provider=provider, model=model)
    if isinstance(exc, httpx2.TransportError):
        return connection_error(exc, provider=provider, model=model, base_url=base_url)
    if isinstance(exc, json.JSONDecodeError):
        return ProviderConnectionError(
            f"{provider} sent a malformed stream: {exc}", provider=provider, model=model
        )
    return None


def connection_error(
    exc: BaseException, *, provider: str, model: str, base_url: str | None = None
) -> ProviderConnectionError:
    """A failed connection, saying where to (a local server that is not running is the
    usual cause) and why: the SDKs' own "Connection error." hides that in the cause."""
    detail = exc.__cause__ if isinstance(exc.__cause__, Exception) else exc
    where = f" at {safe_url(base_url)}" if base_url else ""
    return ProviderConnectionError(
        f"connection to {provider}{where} failed: {detail}", provider=provider, model=model
    )


def safe_url(url: str) -> str:
    """`url` without credentials or query, to show in messages."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def unexpected_error(exc: BaseException, *, provider: str, model: str) -> ProviderError:
    return ProviderError(
        f"unexpected {type(exc).__name__} from {provider}: {exc}", provider=provider, model=model
    )


def incomplete_stream(provider: str, model: str) -> ProviderError:
    """The upstream body ended before the provider's end-of-response marker."""
    return ProviderConnectionError(
        f"{provider} stream ended before the response was complete",
        provider=provider,
        model=model,
    )


def parse_retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait from `retry-after-ms` or `retry-after` (seconds or an HTTP date)."""
    if not headers:
        return None
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def parse_arguments(text: str) -> dict[str, Any]:
    """Tool-call arguments as a dict. Invalid or non-object JSON is kept under `_raw_arguments`."""
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return {"_raw_arguments": text}
    return value if isinstance(value, dict) else {"_raw_arguments": text}


@dataclass(slots=True)
class _PendingCall:
    id: str
    name: str
    parts: list[str] = field(default_factory=list)


class ToolCallAssembler:
    """Collects streamed tool-call fragments by key until each call is whole."""

    def __init__(self, id_prefix: str = "call") -> None:
        self._pending: dict[Any, _PendingCall] = {}
        self._prefix = id_prefix
        self._count = 0

    def __bool__(self) -> bool:
        return bool(self._pending)

    def add(
        self, key: Any, *, id: str | None = None, name: str | None = None, fragment: str = ""
    ) -> None:
        call = self._pending.get(key)
        if call is None:
            self._count += 1
            call = self._pending[key] = _PendingCall(id or "", name or "")
        if id and not call.id:
            call.id = id
        if name and not call.name:
            call.name = name
        if fragment:
            call.parts.append(fragment)

    def finish(self, key: Any, arguments: str | None = None) -> ToolCall | None:
        """The completed call for `key`; `arguments`, when given, wins over the fragments."""
        call = self._pending.pop(key, None)
        if call is None:
            return None
        text = arguments if arguments is not None else "".join(call.parts)
        return ToolCall(
            id=call.id or self.new_id(), name=call.name, arguments=parse_arguments(text)
        )

    def finish_all(self) -> list[ToolCall]:
        calls = [self.finish(key) for key in list(self._pending)]
        return [call for call in calls if call is not None]

    def new_id(self) -> str:
        self._count += 1
        return f"{self._prefix}_{time.time_ns():x}_{self._count}"
