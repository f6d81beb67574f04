"""global pause and maintenance windows (stored as intervals), and the admin audit log

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 05:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import grove_jobs.db.base

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the column types (a migration must not change when the models do).
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = grove_jobs.db.base.UTCDateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "scheduler_pauses",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("started_at", UTC, nullable=False),
        sa.Column("until", UTC, nullable=True),
        sa.Column("ended_at", UTC, nullable=True),
        sa.Column("started_by", sa.String(length=200), nullable=False),
        sa.Column("ended_by", sa.String(length=200), nullable=True),
        sa.Column("hold_manual", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduler_pauses")),
    )
    op.create_index(
        op.f("ix_scheduler_pauses_started_at"), "scheduler_pauses", ["started_at"], unique=False
    )
    op.create_table(
        "maintenance_windows",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("starts_at", UTC, nullable=True),
        sa.Column("ends_at", UTC, nullable=True),
        sa.Column("cron_expression", sa.String(length=120), nullable=True),
        sa.Column("duration_minutes", sa.Integer(), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("tag", sa.String(length=64), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_maintenance_windows")),
        sa.UniqueConstraint("name", name=op.f("uq_maintenance_windows_name")),
    )
    op.create_table(
        "admin_audit",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=400), nullable=False),
        sa.Column("detail", JSON, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_audit")),
    )
    op.create_index(op.f("ix_admin_audit_at"), "admin_audit", ["at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_admin_audit_at"), table_name="admin_audit")
    op.drop_table("admin_audit")
    op.drop_table("maintenance_windows")
    op.drop_index(op.f("ix_scheduler_pauses_started_at"), table_name="scheduler_pauses")
    op.drop_table("scheduler_pauses")
