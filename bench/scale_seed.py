"""Bulk seeding for the scale benchmark: configs and executions by COPY, all inside the
retention window, on a schedule their history matches (so no alert fires by accident)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import psycopg

from bench.common import libpq_dsn
from grove_jobs.schema.job_config import default_job_config_payload

CRON = "*/5 * * * *"
TICK = timedelta(minutes=5)
CONFIG_COLUMNS = (
    "id, type, meta, payload, version, status, enabled, next_run_at, created_at, updated_at"
)
EXECUTION_COLUMNS = (
    "config_id, trigger, status, attempt, max_attempts, scheduled_for, queued_at, run_after, "
    "started_at, completed_at, heartbeat_at, worker_id, items_processed, items_total, "
    "items_failed, error, cancel_requested"
)


def config_id(n: int) -> str:
    """The id of the n-th seeded config."""
    return f"scale-{n:05d}"


def last_tick(now: datetime) -> datetime:
    """The newest tick that has a run: one tick before the current five minutes, so the
    seeded runs are all older than an incremental pass's overlap, and the next tick is
    still within its grace for the whole benchmark."""
    floor = now.replace(second=0, microsecond=0)
    floor -= timedelta(minutes=floor.minute % 5)
    return floor - TICK


def seed(url: str, configs: int, executions: int, now: datetime) -> None:
    """``configs`` enabled configs (every five minutes, UTC) and ``executions`` runs spread
    evenly over them, newest first at ``last_tick(now)``; then ANALYZE."""
    payload = default_job_config_payload("synthetic").to_json_dict()
    payload["schedule"].update(cronExpression=CRON, timezone="UTC", isEnabled=True)
    newest = last_tick(now)
    created = newest - TICK * (executions // configs + 2)
    per_config = executions // configs
    with psycopg.connect(libpq_dsn(url)) as conn, conn.cursor() as cursor:
        with cursor.copy(f"COPY job_configs ({CONFIG_COLUMNS}) FROM STDIN") as copy:
            for n in range(configs):
                cid = config_id(n)
                meta = {"id": cid, "type": "job-config", "title": f"Scale job {n}", "tags": []}
                body = {**payload, "displayName": f"Scale job {n:05d}"}
                row = [cid, "job-config", json.dumps(meta), json.dumps(body), 1, "active"]
                copy.write_row([*row, True, newest + TICK, created, created])
        with cursor.copy(f"COPY job_executions ({EXECUTION_COLUMNS}) FROM STDIN") as copy:
            for k in range(per_config):
                tick = newest - TICK * (per_config - 1 - k)
                for n in range(configs):
                    failed = (k + n) % 17 == 0 and k != per_config - 1
                    done = tick + timedelta(seconds=2 + (k + n) % 40)
                    status = "failed" if failed else "success"
                    error = "RuntimeError: seeded failure" if failed else None
                    times = [tick, tick, tick, tick, done, done]
                    tail = ["seed", 10, 10, 0, error, False]
                    copy.write_row([config_id(n), "schedule", status, 1, 1, *times, *tail])
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
