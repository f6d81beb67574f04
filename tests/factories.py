"""Small builders for test data (GroveObject JSON), shared by the engine and reliability tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert

from grove_jobs.configs.store import create_config
from grove_jobs.db.engine import Database
from grove_jobs.db.tables import ExecutionLogRow, JobExecutionRow
from grove_jobs.schema.execution import ACTIVE_STATUSES
from grove_jobs.schema.grove_object import parse_grove_object


def synthetic_config(
    config_id: str,
    *,
    cron: str = "*/5 * * * *",
    enabled: bool = False,
    timezone: str = "UTC",
    items: int = 0,
    duration: float = 0.0,
    fail_first: int = 0,
    hang: bool = False,
    max_attempts: int = 1,
    backoff: str = "fixed",
    initial_delay: int = 1,
    max_delay: int = 60,
    timeout: int = 60,
    max_concurrent: int = 1,
    overlap: str = "skip",
    misfire: str = "run_once",
    grace: int = 60,
    batch_size: int = 100,
) -> dict[str, Any]:
    """GroveObject JSON for a synthetic job config."""
    return {
        "meta": {"id": config_id, "type": "job-config", "title": config_id},
        "payload": {
            "jobType": "synthetic",
            "displayName": config_id,
            "schedule": {
                "cronExpression": cron,
                "timezone": timezone,
                "isEnabled": enabled,
                "misfirePolicy": misfire,
                "misfireGraceSeconds": grace,
            },
            "retry": {
                "maxAttempts": max_attempts,
                "backoffStrategy": backoff,
                "initialDelaySeconds": initial_delay,
                "maxDelaySeconds": max_delay,
            },
            "limits": {
                "batchSize": batch_size,
                "timeoutSeconds": timeout,
                "maxConcurrent": max_concurrent,
                "overlapPolicy": overlap,
            },
            "parameters": {
                "jobType": "synthetic",
                "items": items,
                "durationSeconds": duration,
                "failFirstAttempts": fail_first,
                "hang": hang,
            },
        },
    }


def create(db: Database, data: dict[str, Any], at=None):
    """Store a config from GroveObject JSON."""
    return create_config(db, parse_grove_object(data), actor="test", source="cli", at=at)


def queued_rows(config_ids: list[str], at: datetime) -> list[dict[str, Any]]:
    """Rows of manual runs waiting since ``at``, one per entry of ``config_ids``, for a bulk
    INSERT into job_executions (a backlog without going through Run Now)."""
    return [
        {
            "config_id": config_id,
            "trigger": "manual",
            "status": "queued",
            "attempt": 0,
            "max_attempts": 1,
            "queued_at": at,
            "run_after": at,
            "items_processed": 0,
            "items_failed": 0,
            "cancel_requested": False,
        }
        for config_id in config_ids
    ]


def past_execution(
    db: Database, config_id: str, status: str, at: datetime, *, logs: int = 0, scheduled=False
) -> int:
    """Insert a run that happened at ``at`` (finished then unless ``status`` is active), with
    ``logs`` log lines, for tests that need history without running it. Returns its id."""
    finished = status not in {s.value for s in ACTIVE_STATUSES}
    with db.write() as session:
        execution_id = session.execute(
            insert(JobExecutionRow)
            .values(
                config_id=config_id,
                trigger="schedule",
                status=status,
                attempt=1,
                max_attempts=1,
                scheduled_for=at if scheduled else None,
                queued_at=at,
                run_after=at,
                started_at=at,
                completed_at=at if finished else None,
            )
            .returning(JobExecutionRow.id)
        ).scalar_one()
        session.add_all(
            ExecutionLogRow(
                execution_id=execution_id, attempt=1, at=at, level="info", message=str(n)
            )
            for n in range(logs)
        )
    return execution_id
