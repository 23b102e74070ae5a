"""The playground over plain HTTP: the page and assets, the dev-token rules, and that
mounting the app at `/` changed nothing under `/api`."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from promptsmith.api.dev import DEMO_INSTITUTION
from promptsmith.app import create_app
from promptsmith.services import Services
from promptsmith.testing import LiveServer


async def test_index_is_served_with_a_strict_policy(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert 'src="/static/js/main.js"' in response.text
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy


@pytest.mark.parametrize(
    ("path", "media"),
    [
        ("/static/js/main.js", "javascript"),
        ("/static/js/qanda.js", "javascript"),
        ("/static/css/app.css", "text/css"),
        ("/static/index.html", "text/html"),
    ],
)
async def test_assets_are_served(client: httpx.AsyncClient, path: str, media: str) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    assert media in response.headers["content-type"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'self'" in response.headers["content-security-policy"]


async def test_the_page_loads_nothing_from_other_hosts(client: httpx.AsyncClient) -> None:
    from promptsmith.web import STATIC_DIR

    for path in STATIC_DIR.rglob("*"):
        if path.suffix in {".html", ".js", ".css"}:
            text = path.read_text()
            assert "http://" not in text and "https://" not in text, path
            # Every module import is relative to the app itself.
            assert 'from "http' not in text and 'import("http' not in text


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/api/nope"), ("POST", "/api/ai/unknown"), ("GET", "/api/dev/nothing")],
)
async def test_unknown_api_paths_keep_the_404_envelope(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await client.request(method, path)
    assert response.status_code == 404
    assert response.json() == {
        "success": False,
        "error": "Not Found",
        "message": f"No route for {method} {path}",
    }


async def test_unknown_static_file_is_a_404_envelope(client: httpx.AsyncClient) -> None:
    response = await client.get("/static/js/missing.js")
    assert response.status_code == 404
    assert response.json()["success"] is False


async def test_api_routes_and_schema_are_untouched(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    schema = (await client.get("/openapi.json")).json()
    assert "/" not in schema["paths"]
    assert not any(path.startswith("/api/dev") for path in schema["paths"])
    unauthenticated = await client.post("/api/ai/nl-create", json={"instruction": "x"})
    assert unauthenticated.status_code == 401
    assert unauthenticated.json()["success"] is False


# --- dev sign-in --------------------------------------------------------------------


def test_dev_token_on_loopback_with_the_generated_secret(live_app: str, services: Services) -> None:
    status = httpx.get(f"{live_app}/api/dev/status").json()
    assert status == {"devSignIn": True, "demoInstitution": DEMO_INSTITUTION}
    response = httpx.post(f"{live_app}/api/dev/token", json={"institution": "inst-42"})
    assert response.status_code == 200, response.text
    body = response.json()
    org = services.verifier.verify(body["orgToken"], "org")
    assert (org.org, org.role, org.is_admin) == ("dev-org", "admin", True)
    institution = services.verifier.verify(body["institutionToken"], "institution")
    assert institution.institution == "inst-42"
    # The minted tokens work against the API.
    lint_or_admin = httpx.get(
        f"{live_app}/api/admin/org/model",
        headers={"Authorization": f"Bearer {body['orgToken']}"},
    )
    assert lint_or_admin.status_code == 200


def test_dev_token_defaults_to_the_demo_institution(live_app: str, services: Services) -> None:
    body = httpx.post(f"{live_app}/api/dev/token").json()
    principal = services.verifier.verify(body["institutionToken"], "institution")
    assert principal.institution == DEMO_INSTITUTION


def test_dev_token_rejects_a_bad_body(live_app: str) -> None:
    response = httpx.post(f"{live_app}/api/dev/token", json={"institution": 5, "role": "x"})
    assert response.status_code == 400
    assert response.json()["success"] is False


def _assert_hidden(response: httpx.Response) -> None:
    assert response.status_code == 404
    assert response.json() == {
        "success": False,
        "error": "Not Found",
        "message": "No route for POST /api/dev/token",
    }


def test_no_dev_token_with_a_configured_secret(make_settings: Any) -> None:
    settings = make_settings(jwt_secret="a-configured-production-secret-0123456789")
    with LiveServer(create_app(settings)) as server:
        _assert_hidden(httpx.post(f"{server.url}/api/dev/token"))
        assert httpx.get(f"{server.url}/api/dev/status").json()["devSignIn"] is False


@pytest.mark.parametrize(
    "headers",
    [
        {"Host": "evil.example"},  # DNS rebinding: a loopback socket, a foreign host name
        {"X-Forwarded-For": "203.0.113.9"},
        {"Forwarded": "for=203.0.113.9"},
    ],
)
def test_no_dev_token_through_a_foreign_host_or_a_proxy(
    live_app: str, headers: dict[str, str]
) -> None:
    _assert_hidden(httpx.post(f"{live_app}/api/dev/token", headers=headers))


@pytest.mark.parametrize(
    ("client_address", "base_url"),
    [
        (("203.0.113.9", 5555), "http://127.0.0.1"),  # a remote client
        (("127.0.0.1", 5555), "http://192.0.2.10"),  # a non-loopback interface
    ],
)
async def test_no_dev_token_off_loopback(
    app: FastAPI, client_address: tuple[str, int], base_url: str
) -> None:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=client_address)
        async with httpx.AsyncClient(
            transport=transport, base_url=base_url, headers={"Host": "localhost"}
        ) as client:
            _assert_hidden(await client.post("/api/dev/token"))
            assert (await client.get("/api/dev/status")).json()["devSignIn"] is False
