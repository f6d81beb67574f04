"""Tables of the content domain, on the core ``Base.metadata`` so one migration history (and
one schema comparison) covers everything."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from grove_jobs.db.base import Base, BigId, JSONType, UTCDateTime

TIERS_SQL = "('seed', 'sprout', 'sapling', 'tree', 'grove')"
PERIODS_SQL = "('all_time', 'last_30d', 'last_7d')"


class DocumentRow(Base):
    """A document ("sprout") of a lifecycle model, at one tier."""

    __tablename__ = "documents"
    __table_args__ = (
        CheckConstraint(f"tier IN {TIERS_SQL}", name="tier"),
        # The advancement batch's selection: per model and tier, least recently evaluated and
        # oldest first.
        Index("ix_documents_eligible", "lifecycle_model_id", "tier", "evaluated_at", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    tier: Mapped[str] = mapped_column(String(16))
    lifecycle_model_id: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # When an advancement batch (not a dry run) last looked at it: a batch smaller than the
    # backlog then rotates through it instead of re-reading the same oldest documents.
    evaluated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SignalEventRow(Base):
    """One usage signal: the document was retrieved, cited, or matched a query."""

    __tablename__ = "signal_events"
    __table_args__ = (
        CheckConstraint("kind IN ('retrieval', 'citation', 'query')", name="kind"),
        CheckConstraint("utility IS NULL OR (utility >= -1 AND utility <= 1)", name="utility"),
        Index("ix_signal_events_document_at", "document_id", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("documents.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(16))
    query_hash: Mapped[str | None] = mapped_column(String(64))
    utility: Mapped[float | None] = mapped_column(Float)  # feedback in [-1, 1]
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class SignalAggregationRow(Base):
    """A document's signals over one period, as of ``computed_at`` (upserted by the
    signal-aggregation job). ``utility_score`` is the raw mean in [-1, 1]."""

    __tablename__ = "signal_aggregations"
    __table_args__ = (CheckConstraint(f"period IN {PERIODS_SQL}", name="period"),)

    document_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True
    )
    period: Mapped[str] = mapped_column(String(16), primary_key=True)
    retrievals: Mapped[int] = mapped_column(Integer)
    citations: Mapped[int] = mapped_column(Integer)
    query_diversity: Mapped[int] = mapped_column(Integer)
    utility_score: Mapped[float | None] = mapped_column(Float)
    event_count: Mapped[int] = mapped_column(Integer)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AdvancementEventRow(Base):
    """A document moved up a tier: which rule, on which signals, in which run."""

    __tablename__ = "advancement_events"
    __table_args__ = (
        Index("ix_advancement_events_document", "document_id", "id"),
        Index("ix_advancement_events_at", "at"),
        Index("ix_advancement_events_execution", "execution_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("documents.id", ondelete="CASCADE")
    )
    lifecycle_model_id: Mapped[str] = mapped_column(String(100))
    from_tier: Mapped[str] = mapped_column(String(16))
    to_tier: Mapped[str] = mapped_column(String(16))
    rule_id: Mapped[str] = mapped_column(String(64))  # no FK: a deleted rule keeps its history
    rule_version: Mapped[int | None] = mapped_column(Integer)
    signal_period: Mapped[str] = mapped_column(String(16))
    signals: Mapped[dict[str, Any]] = mapped_column(JSONType)
    criteria_results: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    # No FK either: retention prunes executions, and the event must outlive its run.
    execution_id: Mapped[int | None] = mapped_column(BigId)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
