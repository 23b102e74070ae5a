"""The shared cache: the same contract in-process and in Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from promptsmith.shared.cache import Cache, MemoryCache, RedisCache
from promptsmith.testing import free_port


@pytest.fixture(params=["memory", "redis"])
async def cache(request: pytest.FixtureRequest) -> AsyncIterator[Cache]:
    if request.param == "memory":
        yield MemoryCache()
        return
    url: str = request.getfixturevalue("redis_url")
    prefix: str = request.getfixturevalue("redis_prefix")
    client = Redis.from_url(url)
    try:
        yield RedisCache(client, prefix)
    finally:
        await client.aclose()


async def test_miss_set_hit_overwrite(cache: Cache) -> None:
    assert await cache.get("embed:q:abc") is None
    value = bytes(range(256)) * 6  # arbitrary binary, e.g. a float32 vector
    await cache.set("embed:q:abc", value, ttl=60)
    assert await cache.get("embed:q:abc") == value
    await cache.set("embed:q:abc", b"new", ttl=60)
    assert await cache.get("embed:q:abc") == b"new"
    assert await cache.get("embed:q:abd") is None


async def test_entries_expire(cache: Cache) -> None:
    await cache.set("short", b"x", ttl=0.2)
    await cache.set("long", b"y", ttl=600)
    await asyncio.sleep(0.5)
    assert await cache.get("short") is None
    assert await cache.get("long") == b"y"


async def test_zero_ttl_deletes(cache: Cache) -> None:
    await cache.set("k", b"v", ttl=60)
    await cache.set("k", b"v", ttl=0)
    assert await cache.get("k") is None


async def test_redis_cache_is_shared_between_clients(redis_url: str, redis_prefix: str) -> None:
    first, second = Redis.from_url(redis_url), Redis.from_url(redis_url)
    try:
        await RedisCache(first, redis_prefix).set("k", b"from worker A", ttl=60)
        assert await RedisCache(second, redis_prefix).get("k") == b"from worker A"
        assert await first.exists(redis_prefix + "cache:k")
    finally:
        await first.aclose()
        await second.aclose()


async def test_memory_cache_evicts_least_recently_used() -> None:
    cache = MemoryCache(max_entries=2)
    await cache.set("a", b"1", ttl=60)
    await cache.set("b", b"2", ttl=60)
    assert await cache.get("a") == b"1"
    await cache.set("c", b"3", ttl=60)
    assert (await cache.get("a"), await cache.get("b"), await cache.get("c")) == (b"1", None, b"3")


async def test_redis_down_reads_as_a_miss() -> None:
    client = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1)
    try:
        cache = RedisCache(client, "x:")
        await cache.set("k", b"v", ttl=60)
        assert await cache.get("k") is None
    finally:
        await client.aclose()
