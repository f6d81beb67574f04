"""Small builders for test data (GroveObject JSON), shared by the engine and reliability tests."""

from __future__ import annotations

from typing import Any

from grove_jobs import services
from grove_jobs.db.engine import Database
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
    return services.create_config(db, parse_grove_object(data), actor="test", source="cli", at=at)
