"""The application factory: `create_app(settings)` wires everything together."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from . import __version__
from .api import admin, admin_catalog, admin_documents, authoring, health, qanda
from .api.errors import install_error_handlers
from .api.middleware import BodyLimit, RequestContext
from .api.schemas import AIErrorResponse, AIPromptAssistantStreamEvent, QandaStreamEvent
from .metrics import metrics_endpoint
from .providers.registry import startup_status
from .qanda.jobs import resume_jobs
from .services import Services
from .settings import Settings
from .shared.checks import log_scale_out
from .web import mount_playground

logger = logging.getLogger("promptsmith")


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    settings = settings or Settings()
    services = services or Services.build(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await services.db.migrate()
        _log_startup(settings)
        log_scale_out(settings)
        _warm_embedder(services)
        await resume_jobs(services.jobs, services.ingestor)
        try:
            yield
        finally:
            await services.jobs.aclose()
            await services.retriever.aclose()
            await services.providers.aclose()
            await services.usage.flush()
            await services.db.dispose()
            await services.close_redis()

    app = FastAPI(
        title="promptsmith",
        version=__version__,
        description="XML prompt authoring and grounded course Q&A.",
        lifespan=lifespan,
    )
    app.state.services = services
    install_error_handlers(app)
    mount_playground(app)  # GET /, /static/... and the dev sign-in route (web/__init__.py)
    app.include_router(authoring.router)
    app.include_router(qanda.router)
    app.include_router(admin.router)
    app.include_router(admin_catalog.router)
    app.include_router(admin_documents.router)
    app.include_router(health.router)
    app.add_route("/metrics", metrics_endpoint, include_in_schema=False)
    app.add_middleware(
        BodyLimit,
        max_bytes=settings.max_body_bytes,
        upload_max_bytes=settings.max_upload_bytes,
        upload_paths=re.compile(admin_documents.UPLOAD_PATH),
    )
    app.add_middleware(RequestContext)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _log_startup(settings: Settings) -> None:
    level, message = startup_status(settings)
    logger.log(level, message, extra={"provider": settings.default_provider})


def _warm_embedder(services: Services) -> None:
    """Load the embedding model in the background so the first question is fast;
    /healthz answers meanwhile."""

    def warm() -> None:
        try:
            services.embedders.get()
        except Exception:
            logger.exception("could not load the embedding model")

    threading.Thread(target=warm, name="embedder-warmup", daemon=True).start()


_STREAM_SCHEMAS = (AIErrorResponse, AIPromptAssistantStreamEvent, QandaStreamEvent)


def _drop_nullable_unions(schema: dict[str, Any]) -> None:
    """Show `X | None` fields as plain `X`: absent and null mean the same to us."""
    for prop in schema.get("properties", {}).values():
        options = prop.get("anyOf")
        if options and len(options) == 2 and {"type": "null"} in options:
            prop.pop("anyOf")
            prop.update(next(o for o in options if o != {"type": "null"}))


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            responses = operation.get("responses", {})
            responses.pop("422", None)
            content = responses.get("200", {}).get("content", {})
            if {"application/x-ndjson", "text/event-stream"} & content.keys():
                content.pop("application/json", None)
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    for model in _STREAM_SCHEMAS:
        schemas.setdefault(
            model.__name__, model.model_json_schema(ref_template="#/components/schemas/{model}")
        )
    for component in schemas.values():
        _drop_nullable_unions(component)
    components["securitySchemes"] = {
        "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
        "accessToken": {"type": "apiKey", "in": "header", "name": "x-access-token"},
    }
    app.openapi_schema = schema
    return schema


def serve_app() -> FastAPI:
    """The factory `promptsmith serve` hands to uvicorn (once per worker process)."""
    from .logs import configure_logging

    settings = Settings()
    configure_logging(settings.log_level, settings.log_json)
    return create_app(settings)
