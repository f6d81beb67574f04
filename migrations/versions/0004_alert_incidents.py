"""alert incidents: one row per incident of a config's alert rule

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 10:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import grove_jobs.db.base

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the column types (a migration must not change when the models do).
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = grove_jobs.db.base.UTCDateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
OPEN = "resolved_at IS NULL"


def upgrade() -> None:
    op.create_table(
        "alert_incidents",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("config_id", sa.String(length=64), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("opened_at", UTC, nullable=False),
        sa.Column("resolved_at", UTC, nullable=True),
        sa.Column("last_notified_at", UTC, nullable=True),
        sa.Column("details", JSON, nullable=False),
        sa.Column("execution_id", BIG_ID, nullable=True),
        sa.ForeignKeyConstraint(
            ["config_id"],
            ["job_configs.id"],
            name=op.f("fk_alert_incidents_config_id_job_configs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_incidents")),
    )
    with op.batch_alter_table("alert_incidents", schema=None) as batch_op:
        batch_op.create_index("ix_alert_incidents_config", ["config_id", "id"], unique=False)
        # At most one open incident per (config, rule), across every sidecar.
        batch_op.create_index(
            "uq_alert_incidents_open",
            ["config_id", "rule"],
            unique=True,
            postgresql_where=sa.text(OPEN),
            sqlite_where=sa.text(OPEN),
        )


def downgrade() -> None:
    with op.batch_alter_table("alert_incidents", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_alert_incidents_open", postgresql_where=sa.text(OPEN), sqlite_where=sa.text(OPEN)
        )
        batch_op.drop_index("ix_alert_incidents_config")
    op.drop_table("alert_incidents")
