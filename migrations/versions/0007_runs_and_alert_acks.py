"""runs page and alert acknowledgement: executions by queue time; who acknowledged an incident

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 05:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import grove_jobs.db.base

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = grove_jobs.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("job_executions", schema=None) as batch_op:
        # The Runs page turns its time window into an id range with one probe of this index,
        # so a window with few runs never walks the whole table.
        batch_op.create_index("ix_job_executions_queued_at", ["queued_at"], unique=False)
    with op.batch_alter_table("alert_incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("acknowledged_at", UTC, nullable=True))
        batch_op.add_column(sa.Column("acknowledged_by", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alert_incidents", schema=None) as batch_op:
        batch_op.drop_column("acknowledged_by")
        batch_op.drop_column("acknowledged_at")
    with op.batch_alter_table("job_executions", schema=None) as batch_op:
        batch_op.drop_index("ix_job_executions_queued_at")
