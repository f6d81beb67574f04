"""api idempotency keys: one execution per (token, key) across every job

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 05:50:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

API_REQUEST = "request_id LIKE 'api:%'"


def upgrade() -> None:
    # Keys reused on several jobs before this revision keep their oldest execution's claim:
    # the newer duplicates lose their request id (their runs and history stay).
    op.execute(
        "UPDATE job_executions SET request_id = NULL WHERE request_id LIKE 'api:%' AND id > "
        "(SELECT MIN(e.id) FROM job_executions e WHERE e.request_id = job_executions.request_id)"
    )
    with op.batch_alter_table("job_executions", schema=None) as batch_op:
        batch_op.create_index(
            "ux_job_executions_api_request",
            ["request_id"],
            unique=True,
            postgresql_where=sa.text(API_REQUEST),
            sqlite_where=sa.text(API_REQUEST),
        )


def downgrade() -> None:
    with op.batch_alter_table("job_executions", schema=None) as batch_op:
        batch_op.drop_index("ux_job_executions_api_request")
