"""The ``alert_incidents`` table, on the shared ``Base.metadata``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from grove_jobs.db.base import Base, BigId, JSONType, UTCDateTime

OPEN_SQL = "resolved_at IS NULL"


class AlertIncidentRow(Base):
    """One incident of one rule for one config, from opening to resolution."""

    __tablename__ = "alert_incidents"
    __table_args__ = (
        # At most one OPEN incident per (config, rule): the constraint, not a check-then-insert,
        # is what makes "fires once per incident" hold when several sidecars evaluate at once.
        Index(
            "uq_alert_incidents_open",
            "config_id",
            "rule",
            unique=True,
            postgresql_where=text(OPEN_SQL),
            sqlite_where=text(OPEN_SQL),
        ),
        Index("ix_alert_incidents_config", "config_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    config_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("job_configs.id", ondelete="CASCADE")
    )
    rule: Mapped[str] = mapped_column(String(32))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    details: Mapped[dict[str, Any]] = mapped_column(JSONType)
    # No FK: retention may prune the run; the incident keeps its history.
    execution_id: Mapped[int | None] = mapped_column(BigId)
    # Acknowledging says someone is on it; it silences nothing (the resolve still notifies).
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))
