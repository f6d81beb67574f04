"""Demo data: at least one config per job type, the original mock config, and synthetic jobs
that succeed, retry and time out on demand.

The data is plain GroveObject JSON so it doubles as documentation of the format. ``seed`` applies
it with apply semantics (upsert by id), so running it again creates nothing and records no
revision. To seed more (documents, signals, ...), add a function next to ``demo_objects`` and
call it from ``seed``.
"""

from __future__ import annotations

import copy
from typing import Any

from grove_jobs.db.engine import Database
from grove_jobs.services import ApplyChange, Source, apply_objects, parse_objects

# The original design's mock config, exactly as written there.
MOCK_HEALTH_CHECK: dict[str, Any] = {
    "meta": {"id": "mock-health-check", "type": "job-config"},
    "payload": {
        "jobType": "health-check",
        "displayName": "Mock Health Check",
        "schedule": {"cronExpression": "*/5 * * * *", "timezone": "UTC", "isEnabled": True},
        "retry": {
            "maxAttempts": 2,
            "backoffStrategy": "fixed",
            "initialDelaySeconds": 10,
            "maxDelaySeconds": 60,
        },
        "limits": {"batchSize": 10, "timeoutSeconds": 30, "maxConcurrent": 1},
        "parameters": {
            "jobType": "health-check",
            "checks": ["database", "storage"],
            "alertThreshold": "warning",
        },
    },
}


def _config(
    config_id: str,
    *,
    title: str,
    description: str,
    tags: list[str],
    job_type: str,
    cron: str,
    timezone: str = "UTC",
    enabled: bool = False,
    retry: dict[str, Any] | None = None,
    limits: dict[str, Any] | None = None,
    parameters: dict[str, Any],
) -> dict[str, Any]:
    return {
        "meta": {
            "id": config_id,
            "type": "job-config",
            "title": title,
            "description": description,
            "tags": tags,
        },
        "payload": {
            "jobType": job_type,
            "displayName": title,
            "schedule": {"cronExpression": cron, "timezone": timezone, "isEnabled": enabled},
            "retry": retry
            or {
                "maxAttempts": 3,
                "backoffStrategy": "exponential",
                "initialDelaySeconds": 60,
                "maxDelaySeconds": 900,
            },
            "limits": limits or {"batchSize": 100, "timeoutSeconds": 300, "maxConcurrent": 1},
            "parameters": {"jobType": job_type, **parameters},
        },
    }


def demo_objects() -> list[dict[str, Any]]:
    """The demo job configs as GroveObject JSON (fresh copies; callers may mutate them).

    Only the mock health check and the every-minute synthetic job are enabled, so a fresh demo
    shows steady activity without a wall of failures.
    """
    return [
        copy.deepcopy(MOCK_HEALTH_CHECK),
        _config(
            "daily-advancement",
            title="Daily Advancement",
            description="Advance documents that pass their lifecycle rules, daily at 02:00 UTC.",
            tags=["lifecycle"],
            job_type="advancement-batch",
            cron="0 2 * * *",
            parameters={"fromTiers": ["seed", "sprout"], "signalPeriod": "last_30d"},
        ),
        _config(
            "hourly-signal-aggregation",
            title="Hourly Signal Aggregation",
            description="Recompute per-document signal aggregates at a quarter past every hour.",
            tags=["signals"],
            job_type="signal-aggregation",
            cron="15 * * * *",
            parameters={"periods": ["all_time", "last_30d", "last_7d"]},
        ),
        _config(
            "weekday-notification-digest",
            title="Weekday Notification Digest",
            description="Mail the operations team a digest of advancements and failures.",
            tags=["notifications"],
            job_type="notification-digest",
            cron="0 8 * * 1-5",
            timezone="America/New_York",
            parameters={"eventTypes": ["advancement", "failure"], "recipientIds": ["ops-team"]},
        ),
        _config(
            "weekly-orphan-cleanup",
            title="Weekly Orphan Cleanup",
            description="Report (dry run) execution history older than 90 days, Sundays 03:30.",
            tags=["maintenance"],
            job_type="orphan-cleanup",
            cron="30 3 * * 0",
            parameters={
                "entityTypes": ["executions"],
                "orphanThresholdDays": 90,
                "dryRun": True,
            },
        ),
        _config(
            "synthetic-every-minute",
            title="Synthetic: steady success",
            description="Succeeds every minute after processing 20 items over a few seconds.",
            tags=["demo", "synthetic"],
            job_type="synthetic",
            cron="* * * * *",
            enabled=True,
            limits={"batchSize": 100, "timeoutSeconds": 60, "maxConcurrent": 1},
            parameters={"durationSeconds": 4, "items": 20},
        ),
        _config(
            "synthetic-flaky",
            title="Synthetic: fails twice, then succeeds",
            description="Fails its first two attempts, succeeds on the third (short backoff).",
            tags=["demo", "synthetic"],
            job_type="synthetic",
            cron="*/10 * * * *",
            retry={
                "maxAttempts": 3,
                "backoffStrategy": "exponential",
                "initialDelaySeconds": 5,
                "maxDelaySeconds": 20,
            },
            limits={"batchSize": 100, "timeoutSeconds": 60, "maxConcurrent": 1},
            parameters={"durationSeconds": 1, "items": 5, "failFirstAttempts": 2},
        ),
        _config(
            "synthetic-hang",
            title="Synthetic: hangs until timed out",
            description="Never finishes on its own; the 5 s timeout stops it.",
            tags=["demo", "synthetic"],
            job_type="synthetic",
            cron="*/15 * * * *",
            retry={
                "maxAttempts": 1,
                "backoffStrategy": "fixed",
                "initialDelaySeconds": 5,
                "maxDelaySeconds": 5,
            },
            limits={"batchSize": 10, "timeoutSeconds": 5, "maxConcurrent": 1},
            parameters={"hang": True},
        ),
    ]


def seed(db: Database, *, actor: str, source: Source = "cli") -> list[ApplyChange]:
    """Apply the demo data (upsert by id, one transaction); idempotent."""
    objects = parse_objects(demo_objects(), source="demo")
    return apply_objects(db, objects, actor=actor, source=source)
