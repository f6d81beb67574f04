"""job types as plugins: permanent errors, backfill ticks, the job types each sidecar has

- ``job_executions.error_kind``: "permanent" when a run failed without retries;
- the one-run-per-tick unique index covers tick rows only (schedule, misfire, backfill), so a
  manual retry may keep its original run's logical time;
- ``scheduler_nodes.job_types``: what each sidecar can run.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 05:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TICKS = "trigger IN ('schedule', 'misfire', 'backfill')"


def upgrade() -> None:
    with op.batch_alter_table("job_executions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("error_kind", sa.String(length=16), nullable=True))
        batch_op.drop_constraint("uq_job_executions_config_id_scheduled_for", type_="unique")
        batch_op.create_index(
            "uq_job_executions_tick",
            ["config_id", "scheduled_for"],
            unique=True,
            postgresql_where=sa.text(TICKS),
            sqlite_where=sa.text(TICKS),
        )
    with op.batch_alter_table("scheduler_nodes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("job_types", JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("scheduler_nodes", schema=None) as batch_op:
        batch_op.drop_column("job_types")
    with op.batch_alter_table("job_executions", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_job_executions_tick", postgresql_where=sa.text(TICKS), sqlite_where=sa.text(TICKS)
        )
        batch_op.create_unique_constraint(
            "uq_job_executions_config_id_scheduled_for", ["config_id", "scheduled_for"]
        )
        batch_op.drop_column("error_kind")
