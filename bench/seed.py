"""The one bulk seeder every benchmark shares: many job configs and their history, fast.

Configs come in two shapes. ``mixed`` (the default) is a dashboard's view: the demo's job types,
crons and zones, two in three enabled. ``steady`` is a fleet at rest: enabled synthetic configs
every five minutes in UTC, whose seeded history follows that schedule to the tick (runs at
each fire time, every 17th failed, never the newest), so evaluating alerts over it finds
nothing to open by accident.

History is round-robin over the configs: round ``k`` of runs is queued at ``newest - cadence
* (rounds - 1 - k)``, so ids grow with queue time as in production and every row stays inside
the default retention (90 days) for the cadences used here. On PostgreSQL the server
generates the rows (``generate_series``), a million in seconds; elsewhere they are inserted
in chunks of 10,000.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, text

from grove_jobs import schedule as cron
from grove_jobs.db.engine import Database
from grove_jobs.db.tables import JobConfigRow, JobExecutionRow
from grove_jobs.schema.job_config import default_job_config_payload

CHUNK = 10_000
CRONS = ("0 2 * * *", "*/5 * * * *", "15 * * * *", "0 8 * * 1-5", "30 3 * * 0")
ZONES = ("UTC", "America/Los_Angeles", "Europe/Berlin", "Asia/Tokyo")
STEADY_CRON = "*/5 * * * *"
STEADY_TICK = timedelta(minutes=5)
# The six types of the original design, so figures compare across versions.
DEMO_TYPES = (
    "advancement-batch",
    "signal-aggregation",
    "notification-digest",
    "orphan-cleanup",
    "health-check",
    "synthetic",
)


def config_ids(count: int, first: str | None = None) -> list[str]:
    """The ids :func:`seed_configs` uses: ``bench-00000`` …, the first one ``first`` if given."""
    return [first if (n == 0 and first) else f"bench-{n:05d}" for n in range(count)]


def last_tick(now: datetime) -> datetime:
    """The newest steady tick that has a run: one tick before the current five minutes, so a
    steady history is older than an incremental alert pass's overlap and the next tick is
    still within its grace for a whole benchmark."""
    floor = now.replace(second=0, microsecond=0)
    floor -= timedelta(minutes=floor.minute % 5)
    return floor - STEADY_TICK


def seed_configs(
    db: Database, count: int, now: datetime, *, first: str | None = None, steady: bool = False
) -> list[str]:
    """``count`` job configs, ``mixed`` or ``steady`` (see the module docstring); their ids."""
    rows = []
    created = now - timedelta(days=60)
    for n, config_id in enumerate(config_ids(count, first)):
        job_type = "synthetic" if steady else DEMO_TYPES[n % len(DEMO_TYPES)]
        payload = default_job_config_payload(job_type).to_json_dict()
        schedule = payload["schedule"]
        enabled = steady or n % 3 != 0
        if steady:
            schedule.update(cronExpression=STEADY_CRON, timezone="UTC")
            next_run = last_tick(now) + STEADY_TICK
        else:
            schedule.update(cronExpression=CRONS[n % len(CRONS)], timezone=ZONES[n % len(ZONES)])
            next_run = cron.next_fire(schedule["cronExpression"], schedule["timezone"], now)
        schedule["isEnabled"] = enabled
        title = f"Bench job {n:05d}"
        payload["displayName"] = title
        rows.append(
            {
                "id": config_id,
                "type": "job-config",
                "meta": {
                    "id": config_id,
                    "type": "job-config",
                    "title": title,
                    "description": "A benchmark config.",
                    "tags": ["bench", job_type],
                    "status": "active",
                },
                "payload": payload,
                "version": 1,
                "status": "active",
                "enabled": enabled,
                "next_run_at": next_run if enabled else None,
                "created_at": created,
                "updated_at": created,
            }
        )
    for start in range(0, len(rows), CHUNK):
        with db.write() as session:
            session.execute(insert(JobConfigRow), rows[start : start + CHUNK])
    return [row["id"] for row in rows]


def seed_executions(
    db: Database,
    configs: Sequence[str],
    count: int,
    *,
    newest: datetime,
    cadence: timedelta,
    manual_every: int = 0,
) -> None:
    """``count`` finished runs, round-robin over ``configs``, one round per ``cadence`` up to
    ``newest``; with ``manual_every``, every n-th run is a person's manual run."""
    if not count:
        return
    shape = {
        "ids": list(configs),
        "n": len(configs),
        "rounds": math.ceil(count / len(configs)),
        "newest": newest,
        "cadence": cadence,
        "manual_every": manual_every,
    }
    if db.is_sqlite:
        batch: list[dict[str, Any]] = []
        for i in range(count):
            batch.append(_execution(i, **shape))
            if len(batch) == CHUNK or i == count - 1:
                with db.write() as session:
                    session.execute(insert(JobExecutionRow), batch)
                batch = []
        return
    for low in range(0, count, 200_000):
        with db.write() as session:
            session.execute(_GENERATE, {**shape, "low": low, "high": min(count, low + 200_000) - 1})


def spread_cadence(count: int, configs: int, spread: timedelta) -> timedelta:
    """The cadence that spreads ``count`` runs over ``configs`` across ``spread``."""
    return spread / math.ceil(count / configs)


def _execution(
    i: int,
    *,
    ids: list[str],
    n: int,
    rounds: int,
    newest: datetime,
    cadence: timedelta,
    manual_every: int,
) -> dict[str, Any]:
    # The same rows as _GENERATE, built here for SQLite.
    k, c = divmod(i, n)
    queued = newest - cadence * (rounds - 1 - k)
    failed = (k + c) % 17 == 0 and k < rounds - 1
    done = queued + timedelta(seconds=2 + (k + c) % 40)
    manual = manual_every > 0 and i % manual_every == 0
    return {
        "config_id": ids[c],
        "trigger": "manual" if manual else "schedule",
        "status": "failed" if failed else "success",
        "attempt": 1,
        "max_attempts": 3,
        "scheduled_for": queued,
        "queued_at": queued,
        "run_after": queued,
        "started_at": queued,
        "completed_at": done,
        "heartbeat_at": done,
        "worker_id": "bench",
        "items_processed": 100,
        "items_total": 100,
        "items_failed": 0,
        "error": "RuntimeError: benchmark failure" if failed else None,
        "cancel_requested": False,
        "requested_by": "bench@grove.invalid" if manual else None,
    }


_GENERATE = text(
    """
    INSERT INTO job_executions (
        config_id, trigger, status, attempt, max_attempts, scheduled_for, queued_at,
        run_after, started_at, completed_at, heartbeat_at, worker_id, items_processed,
        items_total, items_failed, error, cancel_requested, requested_by)
    SELECT c.ids[1 + g.c],
           CASE WHEN g.manual THEN 'manual' ELSE 'schedule' END,
           CASE WHEN g.failed THEN 'failed' ELSE 'success' END,
           1, 3, g.t, g.t, g.t, g.t, g.t + g.d, g.t + g.d, 'bench', 100, 100, 0,
           CASE WHEN g.failed THEN 'RuntimeError: benchmark failure' END,
           false,
           CASE WHEN g.manual THEN 'bench@grove.invalid' END
    FROM (SELECT CAST(:ids AS text[]) AS ids) AS c,
         LATERAL (
            SELECT i, r.k, r.c,
                   CAST(:newest AS timestamptz) - :cadence * (:rounds - 1 - r.k) AS t,
                   make_interval(secs => 2 + (r.k + r.c) % 40) AS d,
                   (r.k + r.c) % 17 = 0 AND r.k < :rounds - 1 AS failed,
                   :manual_every > 0 AND i % GREATEST(:manual_every, 1) = 0 AS manual
            FROM generate_series(CAST(:low AS bigint), CAST(:high AS bigint)) AS i,
                 LATERAL (SELECT i / :n AS k, i % :n AS c) AS r
         ) AS g
    ORDER BY g.i
    """
)
