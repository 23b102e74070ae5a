"""JWT verification: the accepted forms, and the attacks that must fail with 401."""

from __future__ import annotations

import base64
import json
import stat
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from promptsmith.app import create_app
from promptsmith.auth import SECRET_FILE, TokenVerifier, load_or_create_secret
from promptsmith.exceptions import Unauthorized
from promptsmith.services import Services
from promptsmith.settings import Settings

NL_CREATE = "/api/ai/nl-create"
QANDA = "/api/ai/personal-stream/qanda-stream"


def claims(**extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"sub": "user-1", "org": "org-1", "iat": now, "exp": now + 600, **extra}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(payload: dict[str, Any], alg: str = "none") -> str:
    header = b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    return f"{header}.{b64(json.dumps(payload).encode())}."


async def post_create(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post(
        NL_CREATE, json={"instruction": "x"}, headers={"Authorization": f"Bearer {token}"}
    )


def assert_unauthorized(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["success"] is False
    assert response.json()["error"] == "Unauthorized"


async def test_valid_token_is_accepted(client: httpx.AsyncClient, services: Services) -> None:
    response = await post_create(client, services.verifier.mint(user="u", org="o"))
    assert response.status_code == 200


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
async def test_alg_none_is_rejected(client: httpx.AsyncClient, alg: str) -> None:
    assert_unauthorized(await post_create(client, unsigned(claims(), alg)))


async def test_expired_token(client: httpx.AsyncClient, services: Services) -> None:
    token = jwt.encode(claims(exp=int(time.time()) - 120), services.verifier.secret, "HS256")
    response = await post_create(client, token)
    assert_unauthorized(response)
    assert "expired" in response.json()["message"]


async def test_bad_signature(client: httpx.AsyncClient) -> None:
    token = jwt.encode(claims(), "not-the-server-secret-but-long-enough-0123456789", "HS256")
    assert_unauthorized(await post_create(client, token))


async def test_tampered_payload(client: httpx.AsyncClient, services: Services) -> None:
    header, _, signature = services.verifier.mint(user="u", org="o").split(".")
    forged = b64(json.dumps(claims(org="someone-else")).encode())
    assert_unauthorized(await post_create(client, f"{header}.{forged}.{signature}"))


@pytest.mark.parametrize("missing", ["sub", "exp", "org"])
async def test_missing_claims(client: httpx.AsyncClient, services: Services, missing: str) -> None:
    payload = claims()
    del payload[missing]
    assert_unauthorized(await post_create(client, jwt.encode(payload, services.verifier.secret)))


@pytest.mark.parametrize("garbage", ["abc", "a.b.c", "Bearer", "", "x" * 5000])
async def test_garbage_tokens(client: httpx.AsyncClient, garbage: str) -> None:
    assert_unauthorized(await post_create(client, garbage))


async def test_institution_token_on_prompt_endpoint(
    client: httpx.AsyncClient, services: Services
) -> None:
    token = services.verifier.mint(user="u", org="o", institution="inst-1")
    assert_unauthorized(await post_create(client, token))


async def test_org_token_on_qanda(client: httpx.AsyncClient, services: Services) -> None:
    token = services.verifier.mint(user="u", org="o")
    response = await client.post(QANDA, json={"inputs": ["hi"]}, headers={"x-access-token": token})
    assert_unauthorized(response)


async def test_qanda_token_in_bearer_header_is_not_enough(
    client: httpx.AsyncClient, services: Services
) -> None:
    token = services.verifier.mint(user="u", institution="inst-1")
    response = await client.post(
        QANDA, json={"inputs": ["hi"]}, headers={"Authorization": f"Bearer {token}"}
    )
    assert_unauthorized(response)


async def test_qanda_token_accepted(client: httpx.AsyncClient, services: Services) -> None:
    token = services.verifier.mint(user="u", institution="inst-1")
    response = await client.post(QANDA, json={"inputs": ["hi"]}, headers={"x-access-token": token})
    assert response.status_code == 200


def test_dev_secret_is_generated_with_0600(tmp_path: Path) -> None:
    secret = load_or_create_secret(tmp_path / "data")
    path = tmp_path / "data" / SECRET_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(secret) >= 32
    assert load_or_create_secret(tmp_path / "data") == secret


def test_loose_secret_permissions_are_tightened(tmp_path: Path) -> None:
    load_or_create_secret(tmp_path)
    (tmp_path / SECRET_FILE).chmod(0o644)
    load_or_create_secret(tmp_path)
    assert stat.S_IMODE((tmp_path / SECRET_FILE).stat().st_mode) == 0o600


def test_configured_secret_wins(make_settings: Any) -> None:
    verifier = TokenVerifier(make_settings(jwt_secret="configured-secret-value-0123456789abcdef"))
    token = jwt.encode(claims(), "configured-secret-value-0123456789abcdef", "HS256")
    assert verifier.verify(token, "org").org == "org-1"


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def test_rs256_with_public_key(make_settings: Any, rsa_key: rsa.RSAPrivateKey) -> None:
    verifier = TokenVerifier(make_settings(jwt_public_key=public_pem(rsa_key)))
    token = jwt.encode(claims(), rsa_key, "RS256")
    assert verifier.verify(token, "org").subject == "user-1"


def test_es256_with_public_key_file(make_settings: Any, tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = tmp_path / "es.pem"
    pem.write_text(public_pem(key))
    verifier = TokenVerifier(make_settings(jwt_public_key_file=pem))
    assert verifier.verify(jwt.encode(claims(), key, "ES256"), "org").org == "org-1"


def test_rs_hs_confusion_is_rejected(make_settings: Any, rsa_key: rsa.RSAPrivateKey) -> None:
    """An HS256 token whose HMAC key is our RSA public key must not verify."""
    import hashlib
    import hmac

    pem = public_pem(rsa_key)
    verifier = TokenVerifier(make_settings(jwt_public_key=pem))
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64(json.dumps(claims()).encode())
    signature = hmac.new(pem.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    with pytest.raises(Unauthorized):
        verifier.verify(f"{header}.{payload}.{b64(signature)}", "org")


def test_rs256_without_configured_key_is_rejected(
    make_settings: Any, rsa_key: rsa.RSAPrivateKey
) -> None:
    verifier = TokenVerifier(make_settings())
    with pytest.raises(Unauthorized):
        verifier.verify(jwt.encode(claims(), rsa_key, "RS256"), "org")


def test_audience_and_issuer(make_settings: Any) -> None:
    verifier = TokenVerifier(make_settings(jwt_audience="promptsmith", jwt_issuer="idp"))
    good = verifier.mint(user="u", org="o")
    assert verifier.verify(good, "org").org == "o"
    wrong_aud = jwt.encode(claims(aud="other", iss="idp"), verifier.secret, "HS256")
    wrong_iss = jwt.encode(claims(aud="promptsmith", iss="evil"), verifier.secret, "HS256")
    for token in (wrong_aud, wrong_iss):
        with pytest.raises(Unauthorized):
            verifier.verify(token, "org")


@pytest.fixture
def jwks_server(rsa_key: rsa.RSAPrivateKey) -> Iterator[str]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key()))
    jwk.update(kid="key-1", use="sig", alg="RS256")
    body = json.dumps({"keys": [jwk]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/.well-known/jwks.json"
    server.shutdown()
    server.server_close()


def test_rs256_with_jwks(make_settings: Any, rsa_key: rsa.RSAPrivateKey, jwks_server: str) -> None:
    verifier = TokenVerifier(make_settings(jwt_jwks_url=jwks_server))
    token = jwt.encode(claims(), rsa_key, "RS256", headers={"kid": "key-1"})
    assert verifier.verify(token, "org").subject == "user-1"
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(Unauthorized):
        verifier.verify(jwt.encode(claims(), other, "RS256", headers={"kid": "key-1"}), "org")


async def test_token_cli_mints_a_token_the_server_accepts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from promptsmith.cli import app as cli

    monkeypatch.setenv("PROMPTSMITH_DATA_DIR", str(tmp_path / "shared"))
    result = CliRunner().invoke(cli, ["token", "--org", "acme", "--user", "ada", "--ttl", "60"])
    assert result.exit_code == 0, result.output
    token = result.output.strip()

    settings = Settings(_env_file=None, default_provider="scripted")
    server_app = create_app(settings)
    async with server_app.router.lifespan_context(server_app):
        transport = httpx.ASGITransport(app=server_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await post_create(client, token)
    assert response.status_code == 200, response.text
    decoded = jwt.decode(token, options={"verify_signature": False})
    assert decoded["org"] == "acme" and decoded["sub"] == "ada"
    assert decoded["exp"] - decoded["iat"] == 60
