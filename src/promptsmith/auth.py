"""JWT verification and dev-token minting.

Two kinds of token:

* **org** tokens (`Authorization: Bearer`) for the prompt endpoints and the admin
  API: claims `sub`, `exp`, `org` (and `role: admin` for admin routes);
* **institution** tokens (`x-access-token`) for course Q&A: claims `sub`, `exp`,
  `institution` (an institution public id).

A token may say which kind it is with a `kind` claim; when it does, it must match
the endpoint. Keys: HS256 with `PROMPTSMITH_JWT_SECRET` (or a secret generated into
the data dir on first run, mode 0600), and RS256/ES256 with a configured public key
or JWKS URL. The algorithm in the token header only picks which of *our* keys to
try; `none` and anything unconfigured is refused, so an HS256 token signed with our
RSA public key (the classic confusion attack) never verifies.
"""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import jwt

from .exceptions import Unauthorized
from .settings import Settings

TokenKind = Literal["org", "institution"]
ASYMMETRIC_ALGORITHMS = ("RS256", "ES256")
SECRET_FILE = "jwt_secret"


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str
    kind: TokenKind
    org: str | None = None
    institution: str | None = None
    role: str | None = None
    claims: dict[str, Any] = field(default_factory=dict)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def load_or_create_secret(data_dir: Path) -> str:
    """Read the dev HS256 secret from the data dir, creating it (mode 0600) if absent.

    Workers starting together race to create it: each writes a complete temp file
    and hard-links it into place, so nobody ever reads a half-written secret and
    exactly one secret wins.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / SECRET_FILE
    if not path.exists():
        temp = data_dir / f".{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
        try:
            os.link(temp, path)
        except FileExistsError:
            pass
        finally:
            temp.unlink()
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)
    return path.read_text().strip()


def resolve_secret(settings: Settings) -> str:
    if settings.jwt_secret is not None and settings.jwt_secret.get_secret_value():
        return settings.jwt_secret.get_secret_value()
    return load_or_create_secret(settings.data_dir)


class TokenVerifier:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._secret = resolve_secret(settings)
        self._public_key = _read_public_key(settings)
        self._jwks = jwt.PyJWKClient(settings.jwt_jwks_url) if settings.jwt_jwks_url else None

    @property
    def secret(self) -> str:
        return self._secret

    def verify(self, token: str, kind: TokenKind) -> Principal:
        """Verify a token for an endpoint of the given kind, or raise Unauthorized."""
        try:
            claims = self._decode(token)
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized(message="Token has expired") from exc
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise Unauthorized(message=f"Invalid token: {exc}") from exc
        return _principal(claims, kind)

    def _decode(self, token: str) -> dict[str, Any]:
        header = jwt.get_unverified_header(token)
        algorithm = header.get("alg")
        key: Any
        if algorithm == "HS256":
            key = self._secret
        elif algorithm in ASYMMETRIC_ALGORITHMS and self._public_key is not None:
            key = self._public_key
        elif algorithm in ASYMMETRIC_ALGORITHMS and self._jwks is not None:
            key = self._jwks.get_signing_key_from_jwt(token).key
        else:
            raise jwt.InvalidAlgorithmError(f"algorithm {algorithm!r} is not accepted")
        settings = self._settings
        return jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            leeway=settings.jwt_leeway_seconds,
            options={
                "require": ["sub", "exp"],
                "verify_aud": settings.jwt_audience is not None,
            },
        )

    def mint(
        self,
        *,
        user: str,
        org: str | None = None,
        institution: str | None = None,
        role: str | None = None,
        ttl: int = 3600,
    ) -> str:
        """An HS256 token this server accepts (for development and tests)."""
        now = int(time.time())
        claims: dict[str, Any] = {"sub": user, "iat": now, "exp": now + ttl}
        claims["kind"] = "institution" if institution else "org"
        if org:
            claims["org"] = org
        if institution:
            claims["institution"] = institution
        if role:
            claims["role"] = role
        if self._settings.jwt_audience:
            claims["aud"] = self._settings.jwt_audience
        if self._settings.jwt_issuer:
            claims["iss"] = self._settings.jwt_issuer
        return jwt.encode(claims, self._secret, algorithm="HS256")


def _read_public_key(settings: Settings) -> str | None:
    if settings.jwt_public_key:
        return settings.jwt_public_key
    if settings.jwt_public_key_file:
        return settings.jwt_public_key_file.read_text()
    return None


def _claim(claims: dict[str, Any], name: str) -> str | None:
    value = claims.get(name)
    if value is None:
        return None
    if not isinstance(value, str | int) or isinstance(value, bool) or not str(value).strip():
        raise Unauthorized(message=f"Invalid token: claim {name!r} must be a non-empty string")
    return str(value)


def _principal(claims: dict[str, Any], kind: TokenKind) -> Principal:
    declared = claims.get("kind")
    if declared is not None and declared != kind:
        raise Unauthorized(message=f"Token of kind {declared!r} cannot be used here")
    subject = _claim(claims, "sub")
    org = _claim(claims, "org")
    institution = _claim(claims, "institution")
    required = org if kind == "org" else institution
    if subject is None or required is None:
        missing = "sub" if subject is None else kind
        raise Unauthorized(message=f"Token is missing the {missing!r} claim")
    role = claims.get("role") if isinstance(claims.get("role"), str) else None
    return Principal(subject, kind, org, institution, role, claims)
