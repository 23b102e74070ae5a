"""The bad-input catalogue: every hostile request gets a clear 4xx envelope, and the
process stays healthy (`/healthz` answers 200 after each one).

XML bombs go into currentPrompt / fullPrompt / existingPrompt; the authoring code
that reads those is being reworked, so those cases accept either a 4xx envelope or
a 200 whose body shows the entities were never expanded.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI

from promptsmith.app import create_app
from promptsmith.services import Services

ASSISTANT = "/api/ai/prompt-assistant/stream"
NL_CREATE = "/api/ai/nl-create"
NL_EDIT = "/api/ai/nl-edit"
QANDA = "/api/ai/personal-stream/qanda-stream"
ADMIN_MODEL = "/api/admin/org/model"
AUDIENCE = "promptsmith"

_RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PUBLIC_PEM = (
    _RSA.public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)


@pytest.fixture
def hardened(make_settings: Any) -> Services:
    """A server that also accepts RS256 (public key) and checks the audience."""
    return Services.build(make_settings(jwt_public_key=PUBLIC_PEM, jwt_audience=AUDIENCE))


@pytest.fixture
async def api(hardened: Services, make_settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    app: FastAPI = create_app(hardened.settings, hardened)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


@pytest.fixture
def auth(hardened: Services) -> dict[str, str]:
    return {"Authorization": f"Bearer {hardened.verifier.mint(user='user-1', org='org-1')}"}


async def assert_rejected(
    api: httpx.AsyncClient, response: httpx.Response, status: int | None = None
) -> dict[str, Any]:
    """A clear 4xx envelope, then a healthy process."""
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    if status is not None:
        assert response.status_code == status, response.text[:300]
    body: dict[str, Any] = response.json()
    assert body["success"] is False
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["message"], str) and body["message"]
    assert "Traceback" not in response.text
    await assert_healthy(api)
    return body


async def assert_healthy(api: httpx.AsyncClient) -> None:
    health = await api.get("/healthz")
    assert (health.status_code, health.json()) == (200, {"status": "ok"})


# --- size, depth, encoding ---------------------------------------------------------------


async def test_a_10_mb_body_is_413(api: httpx.AsyncClient, auth: dict[str, str]) -> None:
    body = json.dumps({"instruction": "x" * (10 * 1024 * 1024)})
    response = await api.post(
        ASSISTANT, content=body, headers={**auth, "content-type": "application/json"}
    )
    await assert_rejected(api, response, 413)


async def test_a_10_mb_chunked_body_without_length_is_413(
    api: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"instruction": "'
        for _ in range(160):
            yield b"x" * 65536
        yield b'"}'

    response = await api.post(
        ASSISTANT, content=chunks(), headers={**auth, "content-type": "application/json"}
    )
    await assert_rejected(api, response, 413)


async def test_json_nested_10000_deep_is_400(api: httpx.AsyncClient, auth: dict[str, str]) -> None:
    deep = '{"instruction": "hi", "variableContext": ' + '{"a": ' * 10_000 + "1" + "}" * 10_001
    response = await api.post(
        ASSISTANT, content=deep, headers={**auth, "content-type": "application/json"}
    )
    body = await assert_rejected(api, response, 400)
    assert "nested too deeply" in body["message"]


async def test_invalid_utf8_is_400(api: httpx.AsyncClient, auth: dict[str, str]) -> None:
    response = await api.post(
        ASSISTANT,
        content=b'{"instruction": "caf\xe9 \xff\xfe"}',
        headers={**auth, "content-type": "application/json"},
    )
    body = await assert_rejected(api, response, 400)
    assert "UTF-8" in body["message"]


async def test_10000_history_entries_are_rejected(
    api: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    history = [{"role": "user", "content": f"turn {i}"} for i in range(10_000)]
    response = await api.post(
        ASSISTANT, json={"instruction": "hi", "conversationHistory": history}, headers=auth
    )
    body = await assert_rejected(api, response)
    assert "conversationHistory" in body["message"]


async def test_10000_qanda_inputs_are_rejected(api: httpx.AsyncClient, hardened: Services) -> None:
    token = hardened.verifier.mint(user="learner-1", institution="inst-1")
    inputs = [f"question {i}" for i in range(10_000)]
    response = await api.post(QANDA, json={"inputs": inputs}, headers={"x-access-token": token})
    await assert_rejected(api, response)


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\x7f"])
@pytest.mark.parametrize(
    ("path", "field", "body"),
    [
        (ASSISTANT, "instruction", {}),
        (NL_CREATE, "instruction", {}),
        (NL_EDIT, "selectedText", {"instruction": "Shorter"}),
    ],
)
async def test_control_characters_are_400(
    api: httpx.AsyncClient,
    auth: dict[str, str],
    char: str,
    path: str,
    field: str,
    body: dict[str, Any],
) -> None:
    response = await api.post(path, json={**body, field: f"Be{char} kind"}, headers=auth)
    result = await assert_rejected(api, response, 400)
    assert field in result["message"]


# --- XML bombs ---------------------------------------------------------------------------

BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">'
        for i in range(1, 10)
    )
    + "]><prompt><rule>&lol9;</rule></prompt>"
)
EXTERNAL_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE p [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    "<prompt><rule>&xxe;</rule></prompt>"
)
BOMBS = {"billion-laughs": BILLION_LAUGHS, "external-entity": EXTERNAL_ENTITY}
BOMB_FIELDS = [
    (ASSISTANT, {"instruction": "Tighten the rules", "currentPrompt": "{bomb}"}),
    (NL_CREATE, {"instruction": "Tighten the rules", "existingPrompt": "{bomb}"}),
    (NL_EDIT, {"instruction": "Shorter", "selectedText": "<rule>x</rule>", "fullPrompt": "{bomb}"}),
]


@pytest.mark.parametrize("bomb", list(BOMBS))
@pytest.mark.parametrize(
    ("path", "template"), BOMB_FIELDS, ids=["currentPrompt", "existingPrompt", "fullPrompt"]
)
async def test_xml_bombs_are_never_expanded(
    api: httpx.AsyncClient,
    auth: dict[str, str],
    bomb: str,
    path: str,
    template: dict[str, str],
) -> None:
    body = {k: BOMBS[bomb] if v == "{bomb}" else v for k, v in template.items()}

    response = await api.post(path, json=body, headers=auth)

    if response.status_code != 200:
        await assert_rejected(api, response)
        return
    assert "lollollollollollollollollollol" not in response.text, "entities were expanded"
    assert "root:" not in response.text, "an external entity was read"
    assert len(response.content) < 100 * len(BOMBS[bomb]) + 100_000
    await assert_healthy(api)


# --- JWT attacks -------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(**extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"sub": "user-1", "org": "org-1", "aud": AUDIENCE, "iat": now, "exp": now + 600} | extra


def _hand_signed(claims: dict[str, Any], alg: str, key: bytes | None) -> str:
    head = _b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    signing_input = f"{head}.{_b64(json.dumps(claims).encode())}"
    signature = (
        b"" if key is None else hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    )
    return f"{signing_input}.{_b64(signature)}"


def _attack_tokens(secret: str) -> dict[str, str]:
    return {
        "alg-none": _hand_signed(_claims(), "none", None),
        "rs-hs-confusion": _hand_signed(_claims(), "HS256", PUBLIC_PEM.encode()),
        "expired": jwt.encode(_claims(exp=int(time.time()) - 3600), secret, "HS256"),
        "wrong-audience": jwt.encode(_claims(aud="someone-else"), secret, "HS256"),
        "no-org": jwt.encode({k: v for k, v in _claims().items() if k != "org"}, secret, "HS256"),
        "institution-token": jwt.encode(
            _claims(kind="institution", institution="inst-1"), secret, "HS256"
        ),
        "rs256-wrong-key": jwt.encode(
            _claims(), rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256"
        ),
    }


ATTACKS = [
    "alg-none",
    "rs-hs-confusion",
    "expired",
    "wrong-audience",
    "no-org",
    "institution-token",
    "rs256-wrong-key",
]


@pytest.mark.parametrize("attack", ATTACKS)
async def test_jwt_attacks_are_401(api: httpx.AsyncClient, hardened: Services, attack: str) -> None:
    token = _attack_tokens(hardened.verifier.secret)[attack]
    response = await api.post(
        ASSISTANT, json={"instruction": "hi"}, headers={"Authorization": f"Bearer {token}"}
    )
    await assert_rejected(api, response, 401)


async def test_a_genuine_rs256_token_is_accepted(api: httpx.AsyncClient) -> None:
    token = jwt.encode(_claims(), _RSA, "RS256")
    response = await api.post(
        ASSISTANT, json={"instruction": "hi"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text


# --- cross-tenant ids ----------------------------------------------------------------------


def _admin(services: Services, org: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {services.verifier.mint(user='a', org=org, role='admin')}"}


async def test_an_org_never_sees_or_changes_another_orgs_assignment(
    api: httpx.AsyncClient, hardened: Services
) -> None:
    mine = {"provider": "openai", "model": "org-1-private-model"}
    put = await api.put(ADMIN_MODEL, json=mine, headers=_admin(hardened, "org-1"))
    assert put.status_code == 200, put.text

    # org-2 names org-1 everywhere it can: the query, the body, a header.
    theirs = await api.get(
        ADMIN_MODEL,
        params={"org": "org-1"},
        headers={**_admin(hardened, "org-2"), "x-org": "org-1"},
    )
    assert theirs.status_code == 200
    assert theirs.json()["org"] == "org-2"
    assert "org-1-private-model" not in theirs.text
    attempt = {**mine, "org": "org-1"}
    response = await api.put(ADMIN_MODEL, json=attempt, headers=_admin(hardened, "org-2"))
    await assert_rejected(api, response, 400)
    deleted = await api.delete(
        ADMIN_MODEL, params={"org": "org-1"}, headers=_admin(hardened, "org-2")
    )
    assert deleted.status_code == 200

    still = await api.get(ADMIN_MODEL, headers=_admin(hardened, "org-1"))
    assert still.json()["model"] == "org-1-private-model"


async def test_a_token_with_a_swapped_org_claim_is_401(
    api: httpx.AsyncClient, hardened: Services
) -> None:
    head, _, signature = hardened.verifier.mint(user="user-1", org="org-1").split(".")
    forged = _b64(json.dumps(_claims(org="org-2")).encode())
    response = await api.get(
        ADMIN_MODEL, headers={"Authorization": f"Bearer {head}.{forged}.{signature}"}
    )
    await assert_rejected(api, response, 401)


async def test_a_non_admin_cannot_use_the_admin_api(
    api: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    response = await api.get(ADMIN_MODEL, headers=auth)
    await assert_rejected(api, response, 403)


@pytest.mark.parametrize("model", ["emu\x13text", "emu\ntext", "\x00"])
async def test_a_model_override_with_control_characters_is_400(
    api: httpx.AsyncClient, auth: dict[str, str], model: str
) -> None:
    # Found by schemathesis: the name reached Gemini's URL and came back as a 502.
    override = {"provider": "google", "model": model}
    response = await api.post(
        ASSISTANT, json={"instruction": "hi", "modelOverride": override}, headers=auth
    )
    body = await assert_rejected(api, response, 400)
    assert "modelOverride" in body["message"]
