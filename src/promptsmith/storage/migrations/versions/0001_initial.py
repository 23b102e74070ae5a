"""Organisations (model assignment) and usage records.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "organizations",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("default_provider", sa.String(40)),
        sa.Column("default_model", sa.String(200)),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "usage_records",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("request_id", sa.String(128)),
        sa.Column("endpoint", sa.String(100), nullable=False),
        sa.Column("org_id", sa.String(200)),
        sa.Column("institution_id", sa.String(200)),
        sa.Column("user_id", sa.String(200)),
        sa.Column("provider", sa.String(40), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("input_tokens", sa.Integer, nullable=False, server_default="0"),
        sa.Column("output_tokens", sa.Integer, nullable=False, server_default="0"),
        sa.Column("cache_read_tokens", sa.Integer, nullable=False, server_default="0"),
        sa.Column("cache_write_tokens", sa.Integer, nullable=False, server_default="0"),
        sa.Column("reasoning_tokens", sa.Integer, nullable=False, server_default="0"),
        sa.Column("latency_ms", sa.Float, nullable=False, server_default="0"),
        sa.Column("status", sa.String(40), nullable=False, server_default="ok"),
        sa.Column("partial", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_index("ix_usage_org_created", "usage_records", ["org_id", "created_at"])
    op.create_index(
        "ix_usage_institution_created", "usage_records", ["institution_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_table("usage_records")
    op.drop_table("organizations")
