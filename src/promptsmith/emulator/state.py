"""What the emulator remembers: queued replies, recorded requests, connection
lifecycles, and how many times each failing model has failed.

Everything is touched only from the server's event loop, so no locks.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from dataclasses import asdict, dataclass, field
from typing import Any

ANY_PROVIDER = "*"


@dataclass(slots=True)
class RequestRecord:
    id: int
    provider: str
    api: str
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any
    model: str
    stream: bool
    received_at: float = field(default_factory=time.time)


@dataclass(slots=True)
class ConnectionRecord:
    """One streamed response, from its headers to whoever ended it.

    outcome: "open" | "completed" (the emulator finished the body) |
    "client_disconnected" (the client went away first) | "dropped" (the
    emulator cut it on purpose).
    """

    id: int
    request_id: int
    provider: str
    api: str
    model: str
    started_at: float = field(default_factory=time.time)
    closed_at: float | None = None
    outcome: str = "open"
    tokens_sent: int = 0

    def close(self, outcome: str) -> None:
        if self.outcome == "open":
            self.outcome = outcome
            self.closed_at = time.time()


class EmulatorState:
    def __init__(self, max_records: int = 10_000, record: bool = True) -> None:
        self.record_requests = record
        self.requests: deque[RequestRecord] = deque(maxlen=max_records)
        self.connections: deque[ConnectionRecord] = deque(maxlen=max_records)
        self.replies: dict[tuple[str, str], deque[dict[str, Any]]] = defaultdict(deque)
        self.failures: dict[tuple[str, str], int] = defaultdict(int)
        self.closing = False
        self._serial = 0

    def next_id(self) -> int:
        self._serial += 1
        return self._serial

    def reset(self) -> None:
        self.requests.clear()
        self.connections.clear()
        self.replies.clear()
        self.failures.clear()

    def queue(self, model: str, provider: str | None, replies: list[dict[str, Any]]) -> None:
        self.replies[(provider or ANY_PROVIDER, model)].extend(replies)

    def pop_reply(self, model: str, provider: str) -> dict[str, Any] | None:
        for key in ((provider, model), (ANY_PROVIDER, model)):
            queue = self.replies.get(key)
            if queue:
                return queue.popleft()
        return None

    def should_fail(self, model: str, provider: str, times: int | None) -> bool:
        """Count a request against a model's failure budget; None means always fail."""
        if times is None:
            return True
        key = (provider, model)
        self.failures[key] += 1
        return self.failures[key] <= times

    def open_connection(
        self, request_id: int, provider: str, api: str, model: str
    ) -> ConnectionRecord:
        record = ConnectionRecord(self.next_id(), request_id, provider, api, model)
        self.connections.append(record)
        return record

    def find_requests(
        self, model: str | None = None, provider: str | None = None
    ) -> list[dict[str, Any]]:
        return [asdict(r) for r in self.requests if _matches(r, model, provider)]

    def find_connections(
        self, model: str | None = None, provider: str | None = None
    ) -> list[dict[str, Any]]:
        return [asdict(c) for c in self.connections if _matches(c, model, provider)]


def _matches(
    record: RequestRecord | ConnectionRecord, model: str | None, provider: str | None
) -> bool:
    if model is not None and record.model != model:
        return False
    return provider is None or provider in (record.provider, record.api)
