"""SQLAlchemy 2.0 table definitions. Rows map to frozen domain models in the repositories."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from grove_jobs.db.base import Base, BigId, JSONType, UTCDateTime

ACTIVE_SQL = "status IN ('queued', 'running', 'retrying')"
# Rows that stand for a tick of the schedule; manual runs and retries of a past run carry a
# logical time too, but many may share it.
TICK_TRIGGERS_SQL = "trigger IN ('schedule', 'misfire', 'backfill')"


class JobConfigRow(Base):
    """A stored GroveObject (job configs and any other registered type)."""

    __tablename__ = "job_configs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    type: Mapped[str] = mapped_column(String(64), index=True)
    meta: Mapped[dict[str, Any]] = mapped_column(JSONType)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Denormalised from meta/payload for filters and the tick query.
    status: Mapped[str] = mapped_column(String(16), default="active")
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    next_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Indexed: incremental alert passes look up the configs saved since the previous pass.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    # Optimistic concurrency: every ORM UPDATE carries "WHERE version = <read version>".
    __mapper_args__ = {"version_id_col": version}


API_REQUEST_SQL = "request_id LIKE 'api:%'"


class JobExecutionRow(Base):
    """One run of a config; retries are further attempts of the same row."""

    __tablename__ = "job_executions"
    __table_args__ = (
        # One execution per (config, scheduled tick) and per (config, Run Now request).
        Index(
            "uq_job_executions_tick",
            "config_id",
            "scheduled_for",
            unique=True,
            postgresql_where=text(TICK_TRIGGERS_SQL),
            sqlite_where=text(TICK_TRIGGERS_SQL),
        ),
        UniqueConstraint("config_id", "request_id"),
        Index("ix_job_executions_history", "config_id", "id"),
        # The queue: only active rows are indexed, so it stays small however long history gets.
        # In the claim's order, so a claim reads its batch and stops, even when a burst queued
        # thousands of runs at one instant (migration 0012).
        Index(
            "ix_job_executions_queue",
            "run_after",
            "id",
            postgresql_where=text("status IN ('queued', 'retrying')"),
            sqlite_where=text("status IN ('queued', 'retrying')"),
        ),
        Index(
            "ix_job_executions_active",
            "config_id",
            "status",
            postgresql_where=text(ACTIVE_SQL),
            sqlite_where=text(ACTIVE_SQL),
        ),
        Index("ix_job_executions_completed_at", "completed_at"),
        # The Runs page's time window (grove_jobs.executions.runs).
        Index("ix_job_executions_queued_at", "queued_at"),
        # An API Idempotency-Key is unique per token across every job, not per job.
        Index(
            "ux_job_executions_api_request",
            "request_id",
            unique=True,
            postgresql_where=text(API_REQUEST_SQL),
            sqlite_where=text(API_REQUEST_SQL),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    config_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("job_configs.id", ondelete="CASCADE")
    )
    trigger: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer)
    scheduled_for: Mapped[datetime | None] = mapped_column(UTCDateTime)
    request_id: Mapped[str | None] = mapped_column(String(128))
    requested_by: Mapped[str | None] = mapped_column(String(200))
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    run_after: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    worker_id: Mapped[str | None] = mapped_column(String(200))
    items_processed: Mapped[int] = mapped_column(Integer, default=0)
    items_total: Mapped[int | None] = mapped_column(Integer)
    items_failed: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    error: Mapped[str | None] = mapped_column(Text)
    error_kind: Mapped[str | None] = mapped_column(String(16))  # "permanent": not retried
    parameter_overrides: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    payload_snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    # The W3C traceparent of the API call that queued the run: its attempts' spans join
    # the caller's trace.
    trace_parent: Mapped[str | None] = mapped_column(String(55))


class ExecutionLogRow(Base):
    """A log line written by a handler (or by the engine about a run)."""

    __tablename__ = "execution_logs"
    __table_args__ = (Index("ix_execution_logs_execution", "execution_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    execution_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("job_executions.id", ondelete="CASCADE")
    )
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    level: Mapped[str] = mapped_column(String(8))
    message: Mapped[str] = mapped_column(Text)


class ConfigRevisionRow(Base):
    """Audit trail: every write to a config. Kept when the config is deleted."""

    __tablename__ = "config_revisions"
    __table_args__ = (Index("ix_config_revisions_config", "config_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    config_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


class SchedulerNodeRow(Base):
    """A running sidecar: liveness for /healthz and the single-sidecar rule on SQLite."""

    __tablename__ = "scheduler_nodes"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    hostname: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_tick_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_tick_ms: Mapped[float | None] = mapped_column(Float)
    # The job types this sidecar can run: a queued run no live sidecar can take fails.
    job_types: Mapped[list[str] | None] = mapped_column(JSONType)
