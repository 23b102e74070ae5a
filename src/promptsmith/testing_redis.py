"""Redis for tests: reachability with a clear message, and per-test key prefixes."""

from __future__ import annotations

import os
import uuid

import redis


def check_reachable(url: str) -> str | None:
    """None if Redis answers PING at `url`, else what is wrong and how to fix it."""
    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        return (
            f"Redis is not reachable at {url} ({exc}). The suite needs a Redis server: "
            "start one (`redis-server --daemonize yes`) or point PROMPTSMITH_TEST_REDIS_URL "
            "at one."
        )
    finally:
        client.close()
    return None


def unique_prefix() -> str:
    return f"promptsmith-test:{os.getpid()}:{uuid.uuid4().hex[:12]}:"


def delete_prefix(url: str, prefix: str) -> None:
    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
    try:
        keys = list(client.scan_iter(match=prefix.replace("*", r"\*") + "*", count=500))
        if keys:
            client.delete(*keys)
    finally:
        client.close()
