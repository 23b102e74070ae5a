"""Liveness and readiness probes."""

from __future__ import annotations

import logging

from fastapi import APIRouter
from starlette.responses import Response

from .deps import ServicesDep
from .errors import envelope

router = APIRouter(tags=["Health"])
logger = logging.getLogger("promptsmith.health")


@router.get("/healthz", summary="Liveness: the process is serving requests")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: the database is reachable", response_model=None)
async def readyz(services: ServicesDep) -> dict[str, str] | Response:
    try:
        await services.db.ping()
    except Exception as exc:
        logger.warning("readiness check failed: %s", exc)
        return envelope(503, "Service Unavailable", "The database is not reachable.")
    return {"status": "ready", "database": "ok"}
