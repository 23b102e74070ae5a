"""Settings, read from the environment (prefix `PROMPTSMITH_`) and an optional `.env` file.

The providers' own variables (`ANTHROPIC_API_KEY`, `OPENAI_BASE_URL`, ...) are read
under their standard names as well, so an existing shell setup just works.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, get_args

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ProviderName = Literal["anthropic", "openai", "google", "scripted"]


def _env(name: str, *standard: str) -> AliasChoices:
    return AliasChoices(f"PROMPTSMITH_{name}", *standard, name.lower())


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PROMPTSMITH_",
        env_file=".env",
        extra="ignore",
        populate_by_name=True,
    )

    # --- storage -----------------------------------------------------------
    data_dir: Path = Path("./var")
    database_url: str | None = None
    redis_url: str | None = None
    # PostgreSQL connections per worker process: pool + overflow (SQLite ignores them).
    database_pool_size: int = Field(10, ge=1)
    database_max_overflow: int = Field(20, ge=0)

    # --- HTTP ----------------------------------------------------------------
    max_body_bytes: int = Field(1024 * 1024, ge=1024)
    heartbeat_seconds: float = Field(15.0, gt=0)
    log_level: str = "INFO"
    log_json: bool = True

    # --- auth ----------------------------------------------------------------
    jwt_secret: SecretStr | None = None
    jwt_public_key: str | None = None
    jwt_public_key_file: Path | None = None
    jwt_jwks_url: str | None = None
    jwt_audience: str | None = None
    jwt_issuer: str | None = None
    jwt_leeway_seconds: int = 30

    # --- model routing ---------------------------------------------------------
    default_provider: ProviderName = "anthropic"
    default_model: str = "claude-sonnet-4-6"
    # e.g. "anthropic:claude-sonnet-4-6,openai:gpt-4o-mini"
    fallback_chain: str = ""
    # Per-call model roles, e.g. "summary=openai:gpt-4o-mini,classify=google:gemini-2.5-flash":
    # code asks the router for a role; a role not listed here uses the default model.
    model_roles: str = ""

    anthropic_api_key: SecretStr | None = Field(
        None, validation_alias=_env("ANTHROPIC_API_KEY", "ANTHROPIC_API_KEY")
    )
    anthropic_base_url: str | None = Field(
        None, validation_alias=_env("ANTHROPIC_BASE_URL", "ANTHROPIC_BASE_URL")
    )
    openai_api_key: SecretStr | None = Field(
        None, validation_alias=_env("OPENAI_API_KEY", "OPENAI_API_KEY")
    )
    openai_base_url: str | None = Field(
        None, validation_alias=_env("OPENAI_BASE_URL", "OPENAI_BASE_URL")
    )
    # Which OpenAI API the openai adapter uses: "auto" picks the Responses API for
    # OpenAI's reasoning models (o-series, gpt-5) at api.openai.com, else Chat
    # Completions (what OpenAI-compatible servers speak).
    openai_api: Literal["auto", "chat", "responses"] = "auto"
    gemini_api_key: SecretStr | None = Field(
        None, validation_alias=_env("GEMINI_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY")
    )
    gemini_base_url: str | None = Field(None, validation_alias=_env("GEMINI_BASE_URL"))

    # --- scale-out: Redis, shared caches, rate limits (docs/deployment.md) ----
    redis_key_prefix: str = "promptsmith:"
    redis_timeout: float = Field(1.0, gt=0)
    # Requests per window (token bucket: bursts up to the limit); 0 turns a limit off.
    rate_limit_user: int = Field(60, ge=0)
    rate_limit_org: int = Field(600, ge=0)
    rate_limit_institution: int = Field(600, ge=0)
    rate_limit_window_seconds: float = Field(60.0, gt=0)
    # Course-material search index: "auto" = PostgreSQL + pgvector when the database is
    # PostgreSQL, else the in-process embedded store (retrieval/factory.py).
    retrieval_backend: Literal["auto", "embedded", "postgres"] = "auto"
    # HNSW candidate list for filtered dense queries (pgvector `hnsw.ef_search`).
    retrieval_ef_search: int = Field(100, ge=10, le=1000)

    # --- resilience ------------------------------------------------------------
    connect_timeout: float = Field(10.0, gt=0)
    first_token_timeout: float = Field(60.0, gt=0)
    idle_timeout: float = Field(60.0, gt=0)
    max_retries: int = Field(2, ge=0)
    retry_base_delay: float = Field(0.5, ge=0)
    retry_max_delay: float = Field(8.0, ge=0)

    # --- course Q&A (docs/qanda.md) ------------------------------------------------
    # "minilm": all-MiniLM-L6-v2 via ONNX (exact, offline); "hashing": a model-free
    # bag-of-words embedder for tests and demos (much weaker retrieval).
    embedder: Literal["minilm", "hashing"] = "minilm"
    # Document uploads may be larger than other request bodies.
    max_upload_bytes: int = Field(50 * 1024 * 1024, ge=1024)
    # Uploads up to this size are ingested before the response; larger ones become a job.
    ingest_inline_max_bytes: int = Field(512 * 1024, ge=0)
    # Attempts per ingestion phase (Extract, Chunk, Embed, Index) before a document fails.
    ingest_phase_attempts: int = Field(3, ge=1)
    # Chunks given to the model, numbered for citation.
    qanda_top_k: int = Field(8, ge=1, le=20)
    # ragOnly relevance floor; unset uses the calibrated default (retrieval/relevance.py).
    qanda_min_evidence: float | None = None

    @field_validator("fallback_chain")
    @classmethod
    def _check_chain(cls, value: str) -> str:
        for spec in _items(value):
            _check_model_spec(spec)
        return value

    @field_validator("model_roles")
    @classmethod
    def _check_roles(cls, value: str) -> str:
        for item in _items(value):
            role, sep, spec = item.partition("=")
            if not sep or not role.strip():
                raise ValueError(f"expected role=provider:model, got {item!r}")
            if role.strip() == "default":
                raise ValueError(
                    "the default role's model is PROMPTSMITH_DEFAULT_PROVIDER / _DEFAULT_MODEL"
                )
            _check_model_spec(spec)
        return value

    @field_validator("data_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'promptsmith.db').resolve()}"


_PROVIDERS: tuple[str, ...] = get_args(ProviderName)


def _items(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _check_model_spec(spec: str) -> None:
    """`provider:model` with a known provider (model names are free-form)."""
    provider, sep, model = spec.strip().partition(":")
    if not sep or not model.strip():
        raise ValueError(f"expected provider:model, got {spec.strip()!r}")
    if provider.strip() not in _PROVIDERS:
        raise ValueError(f"unknown provider {provider.strip()!r} in {spec.strip()!r}")
