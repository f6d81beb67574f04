"""Demo data: at least one config per job type, the original mock config, and synthetic jobs
that succeed, retry and time out on demand.

The data is plain GroveObject JSON so it doubles as documentation of the format. ``seed`` applies
it with apply semantics (upsert by id), so running it again creates nothing and records no
revision. Beside the job configs it stores four advancement rules (``demo_rules``, a second
object type through the same services) and the content they act on: about 200 documents and
some thousands of signal events (``grove_jobs.contrib.content.demo_content``), added once.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from grove_jobs.clock import utcnow
from grove_jobs.configs.revisions import Source
from grove_jobs.configs.transfer import ApplyChange, apply_objects, parse_objects
from grove_jobs.contrib.content.demo_content import KNOWLEDGE_BASE, seed_content
from grove_jobs.db.engine import Database

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
            parameters={"lifecycleModelId": KNOWLEDGE_BASE, "signalPeriod": "last_30d"},
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
            description=(
                "Report (dry run) old execution history, never-signalled documents and sent "
                "notifications older than 90 days, Sundays 03:30."
            ),
            tags=["maintenance"],
            job_type="orphan-cleanup",
            cron="30 3 * * 0",
            parameters={
                "entityTypes": ["executions", "documents", "notifications"],
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


def _rule(
    rule_id: str,
    *,
    title: str,
    description: str,
    from_tier: str,
    to_tier: str,
    criteria: list[tuple[str, str, float]],
    logic: str = "AND",
    enabled: bool = True,
) -> dict[str, Any]:
    return {
        "meta": {
            "id": rule_id,
            "type": "advancement-rule",
            "title": title,
            "description": description,
            "icon": "⚡",
            "color": "#1976D2",
            "tags": ["lifecycle", KNOWLEDGE_BASE],
        },
        "payload": {
            "lifecycleModelId": KNOWLEDGE_BASE,
            "fromTier": from_tier,
            "toTier": to_tier,
            "criteria": [
                {"signal": signal, "operator": operator, "threshold": threshold}
                for signal, operator, threshold in criteria
            ],
            "logicOperator": logic,
            "isEnabled": enabled,
        },
    }


def demo_rules() -> list[dict[str, Any]]:
    """Four advancement rules for the knowledge-base lifecycle model, one per tier step."""
    return [
        _rule(
            "kb-seed-to-sprout",
            title="Seed to sprout: found and asked about",
            description="Retrieved often enough, for several different questions.",
            from_tier="seed",
            to_tier="sprout",
            criteria=[("retrievals", ">=", 8), ("queryDiversity", ">=", 4)],
        ),
        _rule(
            "kb-sprout-to-sapling",
            title="Sprout to sapling: cited and useful",
            description="Retrieved a lot, cited a few times, and rated useful.",
            from_tier="sprout",
            to_tier="sapling",
            criteria=[
                ("retrievals", ">=", 20),
                ("citations", ">=", 3),
                ("utilityScore", ">=", 0.6),
            ],
        ),
        _rule(
            "kb-sapling-to-tree",
            title="Sapling to tree: widely relied on",
            description="Either cited a lot or answering a wide range of questions.",
            from_tier="sapling",
            to_tier="tree",
            criteria=[("citations", ">=", 12), ("queryDiversity", ">=", 15)],
            logic="OR",
        ),
        _rule(
            "kb-tree-to-grove",
            title="Tree to grove: a cornerstone",
            description="Heavily cited, broadly useful and highly rated.",
            from_tier="tree",
            to_tier="grove",
            criteria=[
                ("citations", ">=", 6),
                ("queryDiversity", ">=", 15),
                ("utilityScore", ">=", 0.6),
            ],
        ),
    ]


def seed(
    db: Database, *, actor: str, source: Source = "cli", at: datetime | None = None
) -> list[ApplyChange]:
    """Apply the demo configs and rules (upsert by id, one transaction), then add the demo
    documents and signals unless they exist. Idempotent: a second run adds nothing."""
    objects = parse_objects(demo_objects() + demo_rules(), source="demo")
    changes = apply_objects(db, objects, actor=actor, source=source, at=at)
    seed_content(db, at=at or utcnow())
    return changes
