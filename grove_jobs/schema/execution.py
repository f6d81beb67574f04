"""Executions: one row per run of a config, with its attempts, progress, result and log lines."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from grove_jobs.schema.base import CamelModel


class ExecutionStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    RETRYING = "retrying"  # waiting for its next attempt (run_after)
    SUCCESS = "success"
    PARTIAL = "partial"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"


ACTIVE_STATUSES = frozenset(
    {ExecutionStatus.QUEUED, ExecutionStatus.RUNNING, ExecutionStatus.RETRYING}
)
TERMINAL_STATUSES = frozenset(ExecutionStatus) - ACTIVE_STATUSES
FAILURE_STATUSES = frozenset(
    {ExecutionStatus.FAILED, ExecutionStatus.TIMED_OUT, ExecutionStatus.CANCELLED}
)

Phase = Literal["queued", "retrying", "running", "complete", "failed"]
_PHASES: dict[str, Phase] = {
    "queued": "queued",
    "retrying": "retrying",  # between attempts: not queued, not failed (one state everywhere)
    "running": "running",
    "success": "complete",
    "partial": "complete",
    "skipped": "complete",
    "failed": "failed",
    "timed_out": "failed",
    "cancelled": "failed",
}


# The one word for each status, wherever a run is shown (badges, metrics, tables).
STATUS_LABELS: dict[str, str] = {
    "queued": "Queued",
    "running": "Running",
    "retrying": "Retrying",
    "success": "Success",
    "partial": "Partial",
    "failed": "Failed",
    "timed_out": "Timed out",
    "cancelled": "Cancelled",
    "skipped": "Skipped",
}


def phase_of(status: str) -> Phase:
    """The status catalog's phase for an execution status (DESIGN.md's mapping)."""
    return _PHASES[status]


Trigger = Literal["schedule", "manual", "api", "retry", "misfire", "backfill"]
# Runs whose logical time is a tick of the schedule (one row per tick).
TICK_TRIGGERS = frozenset({"schedule", "misfire", "backfill"})
LogLevel = Literal["info", "warn", "error"]


class LogLine(CamelModel):
    """One line an execution wrote."""

    id: int
    execution_id: int
    at: datetime
    level: LogLevel
    message: str
    attempt: int = 1


class Execution(CamelModel):
    """A run of a config. ``payload_snapshot`` is the config payload the run started with."""

    id: int
    job_config_id: str
    status: ExecutionStatus
    trigger: Trigger
    attempt: int
    max_attempts: int
    scheduled_for: datetime | None = None
    request_id: str | None = None
    requested_by: str | None = None
    queued_at: datetime
    run_after: datetime
    started_at: datetime | None = None
    completed_at: datetime | None = None
    heartbeat_at: datetime | None = None
    worker_id: str | None = None
    items_processed: int = 0
    items_total: int | None = None
    items_failed: int = 0
    result: dict[str, Any] | None = None
    error: str | None = None
    error_kind: Literal["permanent"] | None = None
    parameter_overrides: dict[str, Any] | None = None
    payload_snapshot: dict[str, Any] | None = None
    cancel_requested: bool = False

    @property
    def phase(self) -> Phase:
        return phase_of(self.status)

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at is None:
            return None
        if self.completed_at is None:
            return None
        return (self.completed_at - self.started_at).total_seconds()

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def retries_left(self) -> bool:
        return self.attempt < self.max_attempts


class Revision(CamelModel):
    """One recorded change of a config: who, when, from where, and the before/after JSON."""

    id: int
    config_id: str
    version: int
    actor: str
    source: Literal["ui", "cli", "api", "system"]
    at: datetime
    before: dict[str, Any] | None
    after: dict[str, Any] | None
