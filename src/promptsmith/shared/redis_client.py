"""The optional Redis connection, and how keys are named in it.

Every key starts with `PROMPTSMITH_REDIS_KEY_PREFIX` (default `promptsmith:`), so
one Redis can serve several deployments (and parallel test runs) without collisions.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from redis.asyncio import Redis

from ..settings import Settings

logger = logging.getLogger("promptsmith.redis")


def connect(settings: Settings) -> Redis | None:
    """A client for `PROMPTSMITH_REDIS_URL`, or None when unset. Connects lazily."""
    if not settings.redis_url:
        return None
    return Redis.from_url(
        settings.redis_url,
        socket_connect_timeout=settings.redis_timeout,
        socket_timeout=settings.redis_timeout,
        health_check_interval=30,
    )


def part(value: str) -> str:
    """One key component, escaped so `:`, `{` and `}` inside ids can't collide or re-tag."""
    return quote(value, safe="")


async def status(redis: Redis | None) -> str:
    """`ok`, `unavailable`, or `not configured`: for /readyz."""
    if redis is None:
        return "not configured"
    try:
        await redis.ping()
    except Exception as exc:
        logger.warning("redis is unavailable: %s", exc)
        return "unavailable"
    return "ok"
