"""Tables for global pauses and maintenance windows, on the shared ``Base.metadata``.

A pause is an interval ``[started_at, ended_at or until)``; rows are kept after a resume, so a
tick that runs late (every sidecar was stopped) still knows which fire times fell inside one.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from grove_jobs.db.base import Base, BigId, UTCDateTime


class PauseRow(Base):
    """One global pause: from ``started_at`` until resumed or until ``until``."""

    __tablename__ = "scheduler_pauses"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    reason: Mapped[str] = mapped_column(String(500))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_by: Mapped[str] = mapped_column(String(200))
    ended_by: Mapped[str | None] = mapped_column(String(200))
    hold_manual: Mapped[bool] = mapped_column(Boolean, default=False)


class MaintenanceWindowRow(Base):
    """A named window: one-off (``starts_at`` to ``ends_at``) or recurring (cron + duration)."""

    __tablename__ = "maintenance_windows"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cron_expression: Mapped[str | None] = mapped_column(String(120))
    duration_minutes: Mapped[int | None] = mapped_column(Integer)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    tag: Mapped[str | None] = mapped_column(String(64))  # None: every config
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
