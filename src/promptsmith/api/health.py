"""Liveness and readiness probes."""

from __future__ import annotations

import logging

from fastapi import APIRouter
from starlette.responses import Response

from ..shared.redis_client import status as redis_status
from .deps import ServicesDep
from .errors import envelope

router = APIRouter(tags=["Health"])
logger = logging.getLogger("promptsmith.health")


@router.get("/healthz", summary="Liveness: the process is serving requests")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness: the database is reachable (Redis status reported when configured)",
    response_model=None,
)
async def readyz(services: ServicesDep) -> dict[str, str] | Response:
    try:
        await services.db.ping()
    except Exception as exc:
        logger.warning("readiness check failed: %s", exc)
        return envelope(503, "Service Unavailable", "The database is not reachable.")
    body = {"status": "ready", "database": "ok"}
    if services.redis is not None:
        # Reported, not required: rate limits fail open and caches fall back to misses,
        # so a Redis outage must not take every instance out of the load balancer.
        body["redis"] = await redis_status(services.redis)
    return body
