"""alert redelivery: notifications remember their delivery attempts and the next one

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 13:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import grove_jobs.db.base

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = grove_jobs.db.base.UTCDateTime(timezone=True)
PENDING = "sent_at IS NULL AND next_attempt_at IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("delivery_attempts", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("next_attempt_at", UTC, nullable=True))
        batch_op.create_index(
            "ix_notifications_next_attempt",
            ["next_attempt_at"],
            unique=False,
            postgresql_where=sa.text(PENDING),
            sqlite_where=sa.text(PENDING),
        )


def downgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_notifications_next_attempt",
            postgresql_where=sa.text(PENDING),
            sqlite_where=sa.text(PENDING),
        )
        batch_op.drop_column("next_attempt_at")
        batch_op.drop_column("delivery_attempts")
