"""Token buckets: the same semantics in-process and in Redis (one Lua script)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from promptsmith.auth import Principal
from promptsmith.settings import Settings
from promptsmith.shared.ratelimit import (
    Buckets,
    Limit,
    MemoryBuckets,
    RedisBuckets,
    limits_for,
)
from promptsmith.testing import free_port

HOUR = 3600.0


def limit(bucket: str, capacity: int, window: float = HOUR, scope: str = "user") -> Limit:
    return Limit(scope, bucket, capacity, window)  # type: ignore[arg-type]


@pytest.fixture(params=["memory", "redis"])
async def buckets(request: pytest.FixtureRequest) -> AsyncIterator[Buckets]:
    if request.param == "memory":
        yield MemoryBuckets()
        return
    url: str = request.getfixturevalue("redis_url")
    prefix: str = request.getfixturevalue("redis_prefix")
    client = Redis.from_url(url)
    try:
        yield RedisBuckets(client, prefix)
    finally:
        await client.aclose()


async def test_burst_up_to_capacity_then_refused(buckets: Buckets) -> None:
    user = limit("{org:a}:user:u", 3)
    assert [(await buckets.take([user])).allowed for _ in range(3)] == [True] * 3
    refused = await buckets.take([user])
    assert not refused.allowed
    assert refused.limit == user
    # One token comes back every HOUR / 3 = 1200 s (minus the little time this test took).
    assert 1100 < refused.retry_after <= 1200


async def test_all_or_nothing(buckets: Buckets) -> None:
    user = limit("{org:a}:user:u", 1)
    org = limit("{org:a}:all", 5, scope="org")
    assert (await buckets.take([user, org])).allowed
    refused = await buckets.take([user, org])
    assert (refused.allowed, refused.limit) == (False, user)
    # The refused request took nothing from the org bucket: 4 tokens are left.
    results = [(await buckets.take([org])).allowed for _ in range(5)]
    assert results == [True, True, True, True, False]


async def test_the_emptiest_bucket_is_named(buckets: Buckets) -> None:
    user = limit("{org:a}:user:u", 10)
    org = limit("{org:a}:all", 1, scope="org")
    await buckets.take([user, org])
    refused = await buckets.take([user, org])
    assert refused.limit == org


async def test_buckets_are_independent(buckets: Buckets) -> None:
    first, second = limit("{org:a}:user:u", 1), limit("{org:b}:user:u", 1)
    assert (await buckets.take([first])).allowed
    assert not (await buckets.take([first])).allowed
    assert (await buckets.take([second])).allowed


async def test_refills_over_the_window(buckets: Buckets) -> None:
    quick = limit("{org:a}:user:quick", 1, window=0.5)
    assert (await buckets.take([quick])).allowed
    await asyncio.sleep(0.7)
    assert (await buckets.take([quick])).allowed


async def test_redis_keys_carry_the_prefix_and_expire(redis_url: str, redis_prefix: str) -> None:
    client = Redis.from_url(redis_url)
    try:
        await RedisBuckets(client, redis_prefix).take([limit("{org:a}:user:u", 5, window=60)])
        keys = [key.decode() async for key in client.scan_iter(match=redis_prefix + "*")]
        assert keys == [redis_prefix + "rl:{org:a}:user:u"]
        assert 0 < await client.pttl(keys[0]) <= 61_000
    finally:
        await client.aclose()


async def test_redis_down_fails_open_and_backs_off(caplog: pytest.LogCaptureFixture) -> None:
    client = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1)
    buckets = RedisBuckets(client, "x:")
    try:
        with caplog.at_level(logging.WARNING, logger="promptsmith.ratelimit"):
            decisions = [await buckets.take([limit("{org:a}:user:u", 1)]) for _ in range(3)]
    finally:
        await client.aclose()
    assert all(decision.allowed for decision in decisions)
    warnings = [r for r in caplog.records if "rate limits not enforced" in r.getMessage()]
    assert len(warnings) == 1  # then Redis is left alone for a few seconds


def settings(**values: int) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_limits_for_an_org_token() -> None:
    principal = Principal("ada", "org", org="acme")
    limits = limits_for(principal, settings(rate_limit_user=5, rate_limit_org=50))
    assert [(x.scope, x.bucket, x.capacity) for x in limits] == [
        ("user", "{org:acme}:user:ada", 5),
        ("org", "{org:acme}:all", 50),
    ]


def test_limits_for_an_institution_token() -> None:
    principal = Principal("learner", "institution", institution="uni-1")
    limits = limits_for(principal, settings(rate_limit_user=5, rate_limit_institution=7))
    assert [(x.scope, x.bucket, x.capacity) for x in limits] == [
        ("user", "{institution:uni-1}:user:learner", 5),
        ("institution", "{institution:uni-1}:all", 7),
    ]


def test_zero_turns_a_limit_off() -> None:
    principal = Principal("ada", "org", org="acme")
    limits = limits_for(principal, settings(rate_limit_user=0, rate_limit_org=10))
    assert [x.scope for x in limits] == ["org"]
    off = settings(rate_limit_user=0, rate_limit_org=0, rate_limit_institution=0)
    assert limits_for(principal, off) == []


def test_ids_cannot_forge_another_bucket() -> None:
    tricky = Principal("x", "org", org="a}:user:{org:b")
    plain = Principal("x", "org", org="b")
    buckets = {x.bucket for x in limits_for(tricky, settings())}
    assert not buckets & {x.bucket for x in limits_for(plain, settings())}
    assert all(bucket.count("{") == 1 and bucket.count("}") == 1 for bucket in buckets)
