"""Rate limits on the AI endpoints: per user, per organisation, per institution.

Each limit is a token bucket holding up to N requests (`PROMPTSMITH_RATE_LIMIT_*`)
that refills at N per `PROMPTSMITH_RATE_LIMIT_WINDOW_SECONDS`: a burst of N, then
a steady N per window. A request takes one token from every bucket that applies to
it, all or nothing, so a refused request costs nothing:

* org token (`Authorization: Bearer`):  the user's bucket and the org's bucket;
* institution token (`x-access-token`): the user's bucket and the institution's.

Users are counted within their tenant (`user-1` of org A is not `user-1` of org B).
When a bucket is empty the request gets 429 with `Retry-After` (whole seconds until
a token is back) and a message naming the limit.

`RedisBuckets` keeps the buckets in Redis and updates them in one Lua script, timed
by the Redis server's clock, so every worker on every host draws on the same budget.
`MemoryBuckets` has the same semantics inside one process. If Redis fails, requests
are let through (fail open) with a warning, and Redis is left alone for a few
seconds before it is tried again.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from redis.asyncio import Redis

from ..auth import Principal
from ..exceptions import RateLimited
from ..settings import Settings
from .redis_client import part

logger = logging.getLogger("promptsmith.ratelimit")

Scope = Literal["user", "org", "institution"]
DESCRIBE: dict[Scope, str] = {
    "user": "this user",
    "org": "this organisation",
    "institution": "this institution",
}


@dataclass(frozen=True, slots=True)
class Limit:
    scope: Scope
    bucket: str  # e.g. "{org:acme}:user:ada" (the tenant in braces: a Redis Cluster hash tag)
    capacity: int
    window: float  # seconds to refill from empty to full


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    limit: Limit | None = None  # the limit that refused the request
    retry_after: float = 0.0  # seconds


class Buckets(Protocol):
    async def take(self, limits: Sequence[Limit]) -> Decision:
        """Take one token from every bucket, or from none if any is empty."""


def limits_for(principal: Principal, settings: Settings) -> list[Limit]:
    window = settings.rate_limit_window_seconds
    if principal.kind == "institution":
        tenant_scope: Scope = "institution"
        tenant, tenant_limit = principal.institution, settings.rate_limit_institution
    else:
        tenant_scope, tenant, tenant_limit = "org", principal.org, settings.rate_limit_org
    tag = "{" + f"{tenant_scope}:{part(tenant or '')}" + "}"
    candidates: list[Limit] = [
        Limit("user", f"{tag}:user:{part(principal.subject)}", settings.rate_limit_user, window),
        Limit(tenant_scope, f"{tag}:all", tenant_limit, window),
    ]
    return [limit for limit in candidates if limit.capacity > 0]


def refused(decision: Decision) -> RateLimited:
    assert decision.limit is not None
    limit = decision.limit
    retry = max(1, math.ceil(decision.retry_after))
    return RateLimited(
        "Rate limit exceeded",
        f"Rate limit for {DESCRIBE[limit.scope]} exceeded: {limit.capacity} requests per "
        f"{limit.window:g} seconds. Try again in {retry} s.",
        headers={"Retry-After": str(retry)},
        extra={"limit": limit.scope},
    )


class RateLimiter:
    def __init__(self, settings: Settings, buckets: Buckets) -> None:
        self.settings = settings
        self.buckets = buckets

    async def check(self, principal: Principal) -> None:
        """Count one request for `principal`; raise `RateLimited` (429) when over a limit."""
        limits = limits_for(principal, self.settings)
        if not limits:
            return
        decision = await self.buckets.take(limits)
        if not decision.allowed:
            raise refused(decision)


class MemoryBuckets:
    """Token buckets in this process (each worker has its own)."""

    def __init__(self) -> None:
        self._state: dict[str, tuple[float, float]] = {}  # bucket -> (tokens, at)
        self._next_sweep = 0.0

    async def take(self, limits: Sequence[Limit]) -> Decision:
        now = time.monotonic()
        self._sweep(now, limits)
        levels = [self._level(limit, now) for limit in limits]
        worst: Decision | None = None
        for limit, tokens in zip(limits, levels, strict=True):
            if tokens < 1:
                wait = (1 - tokens) * limit.window / limit.capacity
                if worst is None or wait > worst.retry_after:
                    worst = Decision(False, limit, wait)
        if worst is not None:
            return worst
        for limit, tokens in zip(limits, levels, strict=True):
            self._state[limit.bucket] = (tokens - 1, now)
        return Decision(True)

    def _level(self, limit: Limit, now: float) -> float:
        tokens, at = self._state.get(limit.bucket, (float(limit.capacity), now))
        refill = max(0.0, now - at) * limit.capacity / limit.window
        return min(float(limit.capacity), tokens + refill)

    def _sweep(self, now: float, limits: Sequence[Limit]) -> None:
        """Forget buckets idle for a whole window (they are full again anyway)."""
        if now < self._next_sweep:
            return
        window = max(limit.window for limit in limits)
        self._next_sweep = now + window
        self._state = {k: v for k, v in self._state.items() if now - v[1] < window}


# KEYS: bucket hashes. ARGV: capacity_1, window_ms_1, capacity_2, window_ms_2, ...
# Returns {1, 0, 0} when allowed, else {0, index of the refusing limit, wait in ms}.
TAKE_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local levels = {}
local worst, worst_wait = 0, 0
for i = 1, #KEYS do
  local capacity = tonumber(ARGV[2 * i - 1])
  local window = tonumber(ARGV[2 * i])
  local state = redis.call('HMGET', KEYS[i], 'tokens', 'at')
  local tokens, at = tonumber(state[1]), tonumber(state[2])
  if tokens == nil or at == nil then tokens, at = capacity, now end
  local rate = capacity / window
  tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
  levels[i] = tokens
  if tokens < 1 then
    local wait = (1 - tokens) / rate
    if wait > worst_wait then worst, worst_wait = i, wait end
  end
end
if worst > 0 then return {0, worst, math.ceil(worst_wait)} end
for i = 1, #KEYS do
  redis.call('HSET', KEYS[i], 'tokens', tostring(levels[i] - 1), 'at', tostring(now))
  redis.call('PEXPIRE', KEYS[i], math.ceil(tonumber(ARGV[2 * i])) + 1000)
end
return {1, 0, 0}
"""


class RedisBuckets:
    """Token buckets in Redis under `<prefix>rl:`, shared by every worker and host."""

    def __init__(self, redis: Redis, prefix: str, pause_after_failure: float = 5.0) -> None:
        self._redis = redis
        self._prefix = f"{prefix}rl:"
        self._script = redis.register_script(TAKE_SCRIPT)
        self._pause = pause_after_failure
        self._paused_until = 0.0

    async def take(self, limits: Sequence[Limit]) -> Decision:
        if time.monotonic() < self._paused_until:
            return Decision(True)
        keys = [self._prefix + limit.bucket for limit in limits]
        args: list[float] = []
        for limit in limits:
            args += [limit.capacity, limit.window * 1000]
        try:
            allowed, index, wait_ms = await self._script(keys=keys, args=args)
        except Exception as exc:
            self._paused_until = time.monotonic() + self._pause
            logger.warning(
                "rate limits not enforced: Redis failed (%s); retrying Redis in %gs",
                exc,
                self._pause,
            )
            return Decision(True)
        if allowed:
            return Decision(True)
        return Decision(False, limits[int(index) - 1], int(wait_ms) / 1000)


def build_limiter(settings: Settings, redis: Redis | None) -> RateLimiter:
    buckets: Buckets = (
        RedisBuckets(redis, settings.redis_key_prefix) if redis is not None else MemoryBuckets()
    )
    return RateLimiter(settings, buckets)
