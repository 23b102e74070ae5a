"""The web playground: a static app (plain ES modules and CSS, no build step) served at `/`.

`mount_playground(app)` adds three things and nothing else: `GET /` (the page),
`/static/...` (its assets) and the loopback-only dev sign-in (`api/dev.py`). Every
other path under `/api`, `/healthz`, `/openapi.json` is untouched, so an unknown
`/api/...` path still gets the 404 envelope.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"

# Everything the page loads comes from this server: no CDN, no inline script.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
_PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


class _Assets(StaticFiles):
    """Static files revalidated on every load (a new release is never half-cached), under
    the page's security headers."""

    def file_response(self, *args: object, **kwargs: object) -> Response:
        response = super().file_response(*args, **kwargs)  # type: ignore[arg-type]
        response.headers.update(_PAGE_HEADERS)  # /static/index.html gets the same policy
        return response


async def _index(request: Request) -> Response:
    return FileResponse(STATIC_DIR / "index.html", headers=_PAGE_HEADERS)


def mount_playground(app: FastAPI) -> None:
    from ..api.dev import router as dev_router

    app.include_router(dev_router)
    app.add_route("/", _index, methods=["GET", "HEAD"], include_in_schema=False)
    app.mount("/static", _Assets(directory=STATIC_DIR), name="playground-static")
