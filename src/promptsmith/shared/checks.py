"""Start-up hints for configurations that behave differently across workers and hosts."""

from __future__ import annotations

import logging

from ..settings import Settings
from ..storage.db import is_sqlite

logger = logging.getLogger("promptsmith")


def log_scale_out(settings: Settings) -> None:
    """Say what is shared and what is per process, and warn about multi-host pitfalls."""
    multi_host = not is_sqlite(settings.resolved_database_url)
    if settings.redis_url:
        logger.info("rate limits and caches are shared through Redis")
    else:
        logger.log(
            logging.WARNING if multi_host else logging.INFO,
            "rate limits and caches are per process: set PROMPTSMITH_REDIS_URL to share "
            "them across workers and hosts",
        )
    has_shared_key = (
        settings.jwt_secret is not None
        or settings.jwt_public_key
        or settings.jwt_public_key_file
        or settings.jwt_jwks_url
    )
    if multi_host and not has_shared_key:
        logger.warning(
            "PROMPTSMITH_JWT_SECRET is not set, so this host signs and checks tokens with a "
            "secret generated into its own data dir: other hosts will refuse its tokens. Set "
            "the same PROMPTSMITH_JWT_SECRET (or a public key / JWKS URL) on every host."
        )
