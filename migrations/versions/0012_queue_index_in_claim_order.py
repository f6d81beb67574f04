"""queue index in claim order: (run_after, id), so a claim stops after its batch

The claim takes waiting runs ordered by (run_after, id). With an index on run_after alone,
PostgreSQL sorted every run sharing a run_after (a tick queues a whole burst at one instant)
before it could take the first few: claims cost in proportion to the queue.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 19:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WAITING = sa.text("status IN ('queued', 'retrying')")


def _recreate(columns: list[str]) -> None:
    with op.batch_alter_table("job_executions", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_job_executions_queue", postgresql_where=WAITING, sqlite_where=WAITING
        )
        batch_op.create_index(
            "ix_job_executions_queue",
            columns,
            unique=False,
            postgresql_where=WAITING,
            sqlite_where=WAITING,
        )


def upgrade() -> None:
    _recreate(["run_after", "id"])


def downgrade() -> None:
    _recreate(["run_after"])
