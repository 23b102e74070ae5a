"""Prometheus metrics, served at `GET /metrics`.

Labels are bounded: routes are path templates (never raw paths), providers and
models come from configuration. With several workers each process has its own
registry, unless PROMETHEUS_MULTIPROC_DIR names a directory they share: then
`/metrics` adds up every worker's values. `promptsmith serve --workers N` (N > 1)
sets one up itself (see docs/deployment.md).
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.requests import Request
from starlette.responses import Response

HTTP_REQUESTS = Counter(
    "promptsmith_http_requests_total",
    "HTTP requests by route and status",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "promptsmith_http_request_duration_seconds",
    "Time from request start to the end of the response (whole stream for streams)",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
STREAMS_ACTIVE = Gauge("promptsmith_streams_active", "Streams currently open", ["framing"])
PROVIDER_CALLS = Counter(
    "promptsmith_provider_calls_total",
    "Upstream model calls by outcome",
    ["provider", "model", "status"],
)
PROVIDER_TOKENS = Counter(
    "promptsmith_provider_tokens_total",
    "Tokens reported by providers",
    ["provider", "kind"],
)
PROVIDER_LATENCY = Histogram(
    "promptsmith_provider_call_seconds",
    "Upstream model call duration",
    ["provider"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 128),
)


def _registry() -> CollectorRegistry:
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


async def metrics_endpoint(request: Request) -> Response:
    return Response(generate_latest(_registry()), media_type=CONTENT_TYPE_LATEST)
