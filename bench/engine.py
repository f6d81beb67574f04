"""Engine benchmarks on PostgreSQL: throughput, latency, tick cost, worker restarts, memory.

``python -m bench.engine [throughput|latency|tick|worker_restart|rss]`` prints one JSON object
per benchmark.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

import psycopg
from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import make_url

from bench.common import fresh_postgres, sidecar, summary_ms
from grove_jobs.clock import utcnow
from grove_jobs.configs.store import create_config
from grove_jobs.db.engine import Database
from grove_jobs.db.tables import ExecutionLogRow, JobConfigRow, JobExecutionRow
from grove_jobs.engine.enqueue import run_now
from grove_jobs.engine.tick import tick
from grove_jobs.schema.grove_object import parse_grove_object
from tests.factories import synthetic_config

WORKERS = os.environ.get("GROVE_BENCH_WORKERS", "8")


def _config_rows(count: int, *, next_run_at, enabled: bool = True) -> list[dict]:
    now = utcnow()
    payload = parse_grove_object(
        synthetic_config("x", cron="* * * * *", enabled=enabled, max_concurrent=64, overlap="queue")
    ).payload.model_dump(mode="json", by_alias=True)
    return [
        {
            "id": f"bench-{n:06d}",
            "type": "job-config",
            "meta": {"id": f"bench-{n:06d}", "type": "job-config"},
            "payload": payload,
            "version": 1,
            "status": "active",
            "enabled": enabled,
            "next_run_at": next_run_at,
            "created_at": now,
            "updated_at": now,
        }
        for n in range(count)
    ]


def _bulk_configs(db: Database, count: int, *, next_run_at) -> None:
    with db.write() as session:
        for start in range(0, count, 5000):
            rows = _config_rows(min(5000, count - start), next_run_at=next_run_at)
            for n, row in enumerate(rows):
                row["id"] = row["meta"]["id"] = f"bench-{start + n:06d}"
            session.execute(insert(JobConfigRow), rows)


def _enqueue(db: Database, config_id: str, count: int) -> None:
    now = utcnow()
    row = {
        "config_id": config_id,
        "trigger": "manual",
        "status": "queued",
        "attempt": 0,
        "max_attempts": 1,
        "queued_at": now,
        "run_after": now,
        "items_processed": 0,
        "items_failed": 0,
        "cancel_requested": False,
    }
    with db.write() as session:
        session.execute(insert(JobExecutionRow), [dict(row) for _ in range(count)])


def _drain_rate(db: Database, count: int, sidecars: int, configs: int = 16) -> float:
    # Spread over several configs: runs of ONE config are admitted by one sidecar at a time
    # (its row lock is how maxConcurrent holds across sidecars).
    for n in range(configs):
        create_config(
            db,
            parse_grove_object(synthetic_config(f"noop-{n}", max_concurrent=64)),
            actor="bench",
            source="cli",
        )
        _enqueue(db, f"noop-{n}", count // configs)
    procs = []
    # The same total worker count however many sidecars share it: on a 2-core machine more
    # processes only add contention.
    workers = str(max(1, int(WORKERS) // sidecars))
    contexts = [sidecar(db.url, GROVE_WORKERS=workers) for _ in range(sidecars)]
    for context in contexts:
        procs.append(context.__enter__())
    try:
        while True:
            with db.read() as session:
                left = session.scalar(
                    select(func.count()).where(JobExecutionRow.status != "success")
                )
            if not left:
                break
            time.sleep(0.1)
        with db.read() as session:
            first, last = session.execute(
                select(func.min(JobExecutionRow.started_at), func.max(JobExecutionRow.completed_at))
            ).one()
    finally:
        for context in contexts:
            context.__exit__(None, None, None)
    return (count // configs) * configs / (last - first).total_seconds()


def _commit_rate(url: str, seconds: float = 3.0) -> float:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as conn:
        conn.execute("CREATE TABLE bench_counter (id int primary key, v bigint)")
        conn.execute("INSERT INTO bench_counter VALUES (1, 0)")
        conn.commit()
        done, end = 0, time.perf_counter() + seconds
        while time.perf_counter() < end:
            conn.execute("UPDATE bench_counter SET v = v + 1 WHERE id = 1")
            conn.commit()
            done += 1
        return done / seconds


def throughput(count: int = 5000) -> dict:
    """No-op synthetic executions per second with one and two sidecars, vs bare commits."""
    with fresh_postgres() as db:
        one = _drain_rate(db, count, 1)
    with fresh_postgres() as db:
        two = _drain_rate(db, count, 2)
    with fresh_postgres() as db:
        commits = _commit_rate(db.url)
    return {
        "benchmark": "throughput",
        "executions": count,
        "workers_total": int(WORKERS),
        "executions_per_second_1_sidecar": round(one, 1),
        "executions_per_second_2_sidecars": round(two, 1),
        "bare_update_commits_per_second": round(commits, 1),
        "ratio_1_sidecar_to_commits": round(one / commits, 3),
        "target_executions_per_second": 600,
    }


def latency(runs: int = 200, burst: int = 1000) -> dict:
    """Run Now -> running; tick precision and burst drain with 1,000 configs due at once."""
    with fresh_postgres() as db:
        create_config(
            db,
            parse_grove_object(synthetic_config("ping", max_concurrent=64)),
            actor="bench",
            source="cli",
        )
        samples = []
        with sidecar(db.url, GROVE_WORKERS=WORKERS):
            warmup = 10  # the first runs pay for connections and imports; not steady state
            for n in range(runs + warmup):
                execution = run_now(db, "ping", requested_by="bench", request_id=f"p{n}")
                while True:
                    with db.read() as session:
                        started = session.scalar(
                            select(JobExecutionRow.started_at).where(
                                JobExecutionRow.id == execution.id
                            )
                        )
                    if started:
                        break
                    time.sleep(0.0005)
                if n >= warmup:
                    samples.append((started - execution.queued_at).total_seconds() * 1000)
                time.sleep(0.01)
        run_now_ms = summary_ms(samples)
    with fresh_postgres() as db:
        due = (utcnow() + timedelta(seconds=6)).replace(microsecond=0)
        _bulk_configs(db, burst, next_run_at=due)
        with sidecar(db.url, GROVE_WORKERS=WORKERS):
            visible_at = None
            while True:
                with db.read() as session:
                    queued = session.scalar(
                        select(func.count()).where(JobExecutionRow.scheduled_for == due)
                    )
                    if queued and visible_at is None:
                        visible_at = utcnow()
                    done = session.scalar(
                        select(func.count()).where(
                            JobExecutionRow.scheduled_for == due,
                            JobExecutionRow.started_at.is_not(None),
                        )
                    )
                if done >= burst:
                    break
                time.sleep(0.002)
            with db.read() as session:
                last_started = session.scalar(
                    select(func.max(JobExecutionRow.started_at)).where(
                        JobExecutionRow.scheduled_for == due
                    )
                )
                # Stop the minute schedule from firing again while we shut down.
            with db.write() as session:
                session.execute(update(JobConfigRow).values(next_run_at=None))
    # All 1,000 rows are inserted in one transaction, so they become visible together:
    # p50 and p99 of "scheduled instant -> row visible" are the same instant.
    precision = (visible_at - due).total_seconds() * 1000
    return {
        "benchmark": "latency",
        "run_now_to_running_ms": run_now_ms,
        "tick_precision_ms": {"p50": round(precision, 1), "p99": round(precision, 1)},
        "burst_configs": burst,
        "burst_drain_ms": round((last_started - due).total_seconds() * 1000, 1),
        "targets": {
            "run_now_p50_ms": 7,
            "run_now_p99_ms": 20,
            "tick_precision_p99_ms": 100,
            "burst_drain_ms": 2000,
        },
    }


def tick_cost(sizes=(100, 10_000, 100_000), repeats: int = 50) -> dict:
    """Idle tick duration (nothing due) as the number of configs grows."""
    results = {}
    with fresh_postgres() as db:
        future = utcnow() + timedelta(days=1)
        have = 0
        for size in sizes:
            with db.write() as session:
                rows = _config_rows(size - have, next_run_at=future)
                for n, row in enumerate(rows):
                    row["id"] = row["meta"]["id"] = f"bench-{have + n:06d}"
                for start in range(0, len(rows), 5000):
                    session.execute(insert(JobConfigRow), rows[start : start + 5000])
            have = size
            with db.engine.connect() as connection:
                connection.exec_driver_sql("ANALYZE job_configs")
            tick(db, at=utcnow())  # warm the pool and the statement cache
            samples = []
            for _ in range(repeats):
                started = time.perf_counter()
                tick(db, at=utcnow())
                samples.append((time.perf_counter() - started) * 1000)
            results[str(size)] = summary_ms(samples)
    return {"benchmark": "tick", "idle_tick_ms_by_configs": results, "target_ms_at_100000": 5}


def worker_restart(rounds: int = 20) -> dict:
    """A hung run is killed at its timeout and its worker replaced: how long the next run
    waits, from being claimed onto the fresh worker to its handler's first log line."""
    with fresh_postgres() as db:
        for config in (
            synthetic_config("hang", hang=True, timeout=1),
            synthetic_config("next", items=1),
        ):
            create_config(db, parse_grove_object(config), actor="bench", source="cli")
        samples = []
        with sidecar(db.url, GROVE_WORKERS="1"):
            for n in range(rounds):
                run_now(db, "hang", requested_by="bench", request_id=f"h{n}")
                follow = run_now(db, "next", requested_by="bench", request_id=f"n{n}")
                while True:
                    with db.read() as session:
                        row = session.execute(
                            select(JobExecutionRow.status, JobExecutionRow.started_at).where(
                                JobExecutionRow.id == follow.id
                            )
                        ).one()
                        first_log = session.scalar(
                            select(func.min(ExecutionLogRow.at)).where(
                                ExecutionLogRow.execution_id == follow.id
                            )
                        )
                    if row.status == "success" and first_log is not None:
                        break
                    time.sleep(0.01)
                samples.append((first_log - row.started_at).total_seconds() * 1000)
    return {
        "benchmark": "worker_restart",
        "rounds": rounds,
        "claim_to_handler_start_on_replaced_worker_ms": summary_ms(samples),
    }


def rss() -> dict:
    """Resident memory of an idle sidecar (main process, and with its worker processes)."""
    with fresh_postgres() as db, sidecar(db.url) as process:
        time.sleep(3)
        group = _process_group(process.pid)
        main_mb = _memory_mb(process.pid, "Rss")
        children = [pid for pid in group if pid != process.pid]
        total_mb = main_mb + sum(_memory_mb(pid, "Rss") for pid in children)
        # PSS splits pages shared between the forked workers fairly; summed RSS counts the
        # shared interpreter and libraries once per process.
        pss_mb = sum(_memory_mb(pid, "Pss") for pid in group)
    return {
        "benchmark": "rss",
        "idle_rss_mb_main_process": round(main_mb, 1),
        "idle_rss_mb_with_workers": round(total_mb, 1),
        "idle_pss_mb_with_workers": round(pss_mb, 1),
        "worker_processes": len(children),
        "target_mb": 150,
    }


def _memory_mb(pid: int, field: str) -> float:
    """``Rss`` or ``Pss`` of a process in MiB, from /proc/PID/smaps_rollup."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _process_group(pgid: int) -> list[int]:
    """The sidecar, its fork server and workers (it runs in its own process group)."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.getpgid(int(entry)) == pgid:
                    pids.append(int(entry))
            except ProcessLookupError:
                continue
    return pids


BENCHMARKS = {
    "throughput": throughput,
    "latency": latency,
    "tick": tick_cost,
    "worker_restart": worker_restart,
    "rss": rss,
}


def main(names: list[str]) -> None:
    for name in names or list(BENCHMARKS):
        print(json.dumps(BENCHMARKS[name]()), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
