"""PostgreSQL: the pgvector extension (SQLite: nothing to do).

A branch of its own from 0001, labelled `pgvector`: a later migration that
needs the `vector` type says `depends_on = "pgvector"`. `upgrade heads` applies
every branch.

Revision ID: 0002_pgvector
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_pgvector"
down_revision = "0001"
branch_labels = ("pgvector",)
depends_on = None

NOT_ALLOWED = (
    "Could not create the pgvector extension: pgvector is not a trusted extension, so "
    "CREATE EXTENSION needs a superuser (or your service's admin role, e.g. rds_superuser, "
    "cloudsqlsuperuser, azure_pg_admin). Run `CREATE EXTENSION IF NOT EXISTS vector;` once "
    "in this database as that role, then run `promptsmith db upgrade` again."
)
MISSING = (
    "This PostgreSQL server has no pgvector extension available (pg_available_extensions "
    "has no 'vector'). Install pgvector 0.8 or newer on the server (managed services: enable "
    "the 'vector' extension), then run `promptsmith db upgrade` again."
)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    available = bind.scalar(
        sa.text("SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'")
    )
    if not available:
        raise RuntimeError(MISSING)
    try:
        op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    except sa.exc.DBAPIError as exc:
        if "permission denied" in str(exc).lower() or "superuser" in str(exc).lower():
            raise RuntimeError(NOT_ALLOWED) from exc
        raise


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # RESTRICT (the default): refuses while any column still uses the type.
        op.execute("DROP EXTENSION IF EXISTS vector")
