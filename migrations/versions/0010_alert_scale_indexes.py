"""alert and scale indexes: configs saved since an instant (incremental alert passes)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 05:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("job_configs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_job_configs_updated_at"), ["updated_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("job_configs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_configs_updated_at"))
