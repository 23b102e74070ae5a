"""A small shared cache: `get`/`set` of bytes with a TTL, in Redis or in-process.

Use `services.cache` for anything every worker should see, e.g. the query-embedding
cache:

    key = "embed:q:" + model_id + ":" + hashlib.sha256(query.encode()).hexdigest()
    vector = await services.cache.get(key)
    if vector is None:
        vector = embed(query).astype("<f4").tobytes()
        await services.cache.set(key, vector, ttl=3600)

Rules: keys are namespaced by the caller (`embed:`, ...) and must include every
input the value depends on: the model id, and the tenant (org / institution) for
anything that holds tenant data. Values are bytes; serialise explicitly. A cache
never breaks a request: Redis errors read as a miss and writes are dropped (with a
warning). Without Redis the cache is per process (an LRU of `max_entries`).
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from typing import Protocol

from redis.asyncio import Redis

logger = logging.getLogger("promptsmith.cache")


class Cache(Protocol):
    async def get(self, key: str) -> bytes | None:
        """The value, or None if absent, expired, or the backend is unavailable."""

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        """Store `value` for `ttl` seconds (best effort)."""


class MemoryCache:
    """An in-process LRU with per-entry expiry."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()

    async def get(self, key: str) -> bytes | None:
        found = self._entries.get(key)
        if found is None:
            return None
        expires, value = found
        if expires <= time.monotonic():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        if ttl <= 0:
            self._entries.pop(key, None)
            return
        self._entries[key] = (time.monotonic() + ttl, bytes(value))
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)


class RedisCache:
    """Entries under `<prefix>cache:<key>`, expiring in Redis (millisecond TTLs)."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = f"{prefix}cache:"

    async def get(self, key: str) -> bytes | None:
        try:
            value = await self._redis.get(self._prefix + key)
        except Exception as exc:
            logger.warning("cache read failed (treated as a miss): %s", exc)
            return None
        if value is None or isinstance(value, bytes):
            return value
        return str(value).encode()  # only with a decode_responses client

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        try:
            if ttl <= 0:
                await self._redis.delete(self._prefix + key)
            else:
                await self._redis.set(self._prefix + key, value, px=max(1, round(ttl * 1000)))
        except Exception as exc:
            logger.warning("cache write failed (dropped): %s", exc)


def build_cache(prefix: str, redis: Redis | None) -> Cache:
    return RedisCache(redis, prefix) if redis is not None else MemoryCache()
