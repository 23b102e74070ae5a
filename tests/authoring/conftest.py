"""The `post` fixture for the authoring endpoint tests (scripted provider, in-process app)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .endpoint_helpers import Post


@pytest.fixture
def post(client: httpx.AsyncClient, org_headers: dict[str, str]) -> Post:
    async def send(path: str, body: dict[str, Any]) -> httpx.Response:
        return await client.post(path, json=body, headers=org_headers)

    return send
