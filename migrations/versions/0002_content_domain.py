"""content domain: documents, signal events and aggregations, advancement events, the outbox

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 09:45:55.237037
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import grove_jobs.db.base

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the column types (a migration must not change when the models do).
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _time() -> grove_jobs.db.base.UTCDateTime:
    return grove_jobs.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.Column("lifecycle_model_id", sa.String(length=100), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("updated_at", _time(), nullable=False),
        sa.Column("evaluated_at", _time(), nullable=True),
        sa.Column("archived_at", _time(), nullable=True),
        sa.CheckConstraint(
            "tier IN ('seed', 'sprout', 'sapling', 'tree', 'grove')",
            name=op.f("ck_documents_tier"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
    )
    op.create_index(
        "ix_documents_eligible",
        "documents",
        ["lifecycle_model_id", "tier", "evaluated_at", "created_at"],
        unique=False,
    )

    op.create_table(
        "signal_events",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("document_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("query_hash", sa.String(length=64), nullable=True),
        sa.Column("utility", sa.Float(), nullable=True),
        sa.Column("at", _time(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('retrieval', 'citation', 'query')", name=op.f("ck_signal_events_kind")
        ),
        sa.CheckConstraint(
            "utility IS NULL OR (utility >= -1 AND utility <= 1)",
            name=op.f("ck_signal_events_utility"),
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_signal_events_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signal_events")),
    )
    op.create_index(
        "ix_signal_events_document_at", "signal_events", ["document_id", "at"], unique=False
    )

    op.create_table(
        "signal_aggregations",
        sa.Column("document_id", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("retrievals", sa.Integer(), nullable=False),
        sa.Column("citations", sa.Integer(), nullable=False),
        sa.Column("query_diversity", sa.Integer(), nullable=False),
        sa.Column("utility_score", sa.Float(), nullable=True),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("computed_at", _time(), nullable=False),
        sa.CheckConstraint(
            "period IN ('all_time', 'last_30d', 'last_7d')",
            name=op.f("ck_signal_aggregations_period"),
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_signal_aggregations_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("document_id", "period", name=op.f("pk_signal_aggregations")),
    )

    op.create_table(
        "advancement_events",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("document_id", sa.String(length=64), nullable=False),
        sa.Column("lifecycle_model_id", sa.String(length=100), nullable=False),
        sa.Column("from_tier", sa.String(length=16), nullable=False),
        sa.Column("to_tier", sa.String(length=16), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("rule_version", sa.Integer(), nullable=True),
        sa.Column("signal_period", sa.String(length=16), nullable=False),
        sa.Column("signals", JSON, nullable=False),
        sa.Column("criteria_results", JSON, nullable=False),
        sa.Column("execution_id", BIG_ID, nullable=True),
        sa.Column("at", _time(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_advancement_events_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_advancement_events")),
    )
    op.create_index("ix_advancement_events_at", "advancement_events", ["at"], unique=False)
    op.create_index(
        "ix_advancement_events_document", "advancement_events", ["document_id", "id"], unique=False
    )
    op.create_index(
        "ix_advancement_events_execution", "advancement_events", ["execution_id"], unique=False
    )

    op.create_table(
        "notifications",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=True),
        sa.Column("recipient", sa.String(length=200), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("event_refs", JSON, nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("sent_at", _time(), nullable=True),
        sa.Column("send_error", sa.Text(), nullable=True),
        sa.Column("execution_id", BIG_ID, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    op.create_index("ix_notifications_sent_at", "notifications", ["sent_at"], unique=False)
    op.create_index(
        "ix_notifications_source", "notifications", ["source", "created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_notifications_source", table_name="notifications")
    op.drop_index("ix_notifications_sent_at", table_name="notifications")
    op.drop_table("notifications")
    op.drop_index("ix_advancement_events_execution", table_name="advancement_events")
    op.drop_index("ix_advancement_events_document", table_name="advancement_events")
    op.drop_index("ix_advancement_events_at", table_name="advancement_events")
    op.drop_table("advancement_events")
    op.drop_table("signal_aggregations")
    op.drop_index("ix_signal_events_document_at", table_name="signal_events")
    op.drop_table("signal_events")
    op.drop_index("ix_documents_eligible", table_name="documents")
    op.drop_table("documents")
