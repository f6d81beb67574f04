"""Engine benchmarks on PostgreSQL: throughput, latency, tick cost, worker restarts, memory.

``python -m bench.engine [throughput|latency|tick|worker_restart|rss]`` prints one JSON object
per benchmark.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy import func, insert, select, update

from bench.common import fresh_postgres, libpq_dsn, percentiles_ms, sidecar, summary_ms
from grove_jobs.clock import utcnow
from grove_jobs.configs.store import create_config
from grove_jobs.db.dialect import NOTIFY_CHANNEL
from grove_jobs.db.engine import Database
from grove_jobs.db.tables import ExecutionLogRow, JobConfigRow, JobExecutionRow
from grove_jobs.engine.enqueue import run_now
from grove_jobs.engine.tick import tick
from grove_jobs.schema.grove_object import parse_grove_object
from tests.factories import queued_rows, synthetic_config

WORKERS = os.environ.get("GROVE_BENCH_WORKERS", "8")
BURST_CRON = "0 0 1 1 *"  # yearly: each burst is set due by hand


def _config_rows(
    count: int, *, next_run_at, enabled: bool = True, cron: str = "* * * * *"
) -> list[dict]:
    now = utcnow()
    payload = parse_grove_object(
        synthetic_config("x", cron=cron, enabled=enabled, max_concurrent=64, overlap="queue")
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


def _bulk_configs(db: Database, count: int, *, next_run_at, cron: str = "* * * * *") -> None:
    with db.write() as session:
        for start in range(0, count, 5000):
            rows = _config_rows(min(5000, count - start), next_run_at=next_run_at, cron=cron)
            for n, row in enumerate(rows):
                row["id"] = row["meta"]["id"] = f"bench-{start + n:06d}"
            session.execute(insert(JobConfigRow), rows)


def _enqueue(db: Database, config_id: str, count: int) -> None:
    with db.write() as session:
        session.execute(insert(JobExecutionRow), queued_rows([config_id] * count, utcnow()))


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
    with psycopg.connect(libpq_dsn(url)) as conn:
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


def _run_now_ms(db: Database, runs: int) -> list[float]:
    """Run Now -> running (queued_at -> started_at) of ``runs`` one-at-a-time runs of a no-op
    config on a running sidecar, after a warm-up."""
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
                        select(JobExecutionRow.started_at).where(JobExecutionRow.id == execution.id)
                    )
                if started:
                    break
                time.sleep(0.0005)
            if n >= warmup:
                samples.append((started - execution.queued_at).total_seconds() * 1000)
            time.sleep(0.01)
    return samples


def _set_due(db: Database, due: datetime | None) -> None:
    with db.write() as session:
        session.execute(update(JobConfigRow).values(next_run_at=due))


def _sleep_until(instant: datetime) -> None:
    """Sleep until a wall-clock instant; the last stretch spins, as a timer would overshoot."""
    while (left := (instant - utcnow()).total_seconds()) > 0.002:
        time.sleep(left - 0.002)
    while utcnow() < instant:
        pass


def _await_tick_commit(listener: psycopg.Connection, timeout: float) -> datetime:
    """The instant the sidecar's tick transaction is seen committed: its NOTIFY is delivered
    only at commit, so the listener learns it without polling lag."""
    for notice in listener.notifies(timeout=timeout):
        if notice.payload == "tick":
            return utcnow()
    raise TimeoutError("no tick committed")


def _await_drained(db: Database, due: datetime, count: int, timeout: float = 120.0) -> datetime:
    """Wait until all ``count`` runs of the burst due at ``due`` succeeded; their last end."""
    deadline = time.monotonic() + timeout
    runs = select(func.count(), func.max(JobExecutionRow.completed_at)).where(
        JobExecutionRow.scheduled_for == due, JobExecutionRow.status == "success"
    )
    while time.monotonic() < deadline:
        with db.read() as session:
            done, last = session.execute(runs).one()
        if done >= count:
            return last
        time.sleep(0.01)
    raise TimeoutError(f"burst due at {due} not drained in {timeout} s")


def _sidecar_burst(db: Database, listener: psycopg.Connection, size: int) -> tuple[float, float]:
    """One burst through the real sidecar: (due -> tick committed, due -> last run done), ms."""
    # The sidecar re-reads the earliest next_run_at after each tick (every second), so this
    # lead lets it sleep until exactly the due instant, as it would for a real schedule.
    due = utcnow() + timedelta(seconds=2.5)
    _set_due(db, due)
    committed = _await_tick_commit(listener, timeout=10.0)
    # The burst's configs fire yearly (see _tick_bursts): the tick moved them past the drain,
    # which nothing else touches.
    drained = _await_drained(db, due, size)
    return (committed - due).total_seconds() * 1000, (drained - due).total_seconds() * 1000


_FLOOR_CLAIM = (
    "SELECT id, next_run_at FROM job_configs WHERE next_run_at <= now() FOR UPDATE SKIP LOCKED"
)
_FLOOR_INSERT = """
INSERT INTO job_executions (config_id, trigger, status, attempt, max_attempts, scheduled_for,
    requested_by, queued_at, run_after, items_processed, items_failed, cancel_requested)
SELECT c, 'schedule', 'queued', 0, 1, s, 'scheduler', now(), now(), 0, 0, false
FROM unnest(%s::text[], %s::timestamptz[]) AS t(c, s)
"""
_FLOOR_ADVANCE = """
UPDATE job_configs AS j SET next_run_at = t.new
FROM unnest(%s::text[], %s::timestamptz[], %s::timestamptz[]) AS t(id, old, new)
WHERE j.id = t.id AND j.next_run_at = t.old
"""


def _floor_burst(db: Database, conn: psycopg.Connection, size: int) -> float:
    """The same work as one tick in bare set-based SQL, started at the due instant: claim the
    due configs, insert their runs and advance them, in one transaction. Due -> commit, ms."""
    due = utcnow() + timedelta(seconds=0.5)
    _set_due(db, due)
    _sleep_until(due)
    with conn.transaction():
        ids, olds = zip(*conn.execute(_FLOOR_CLAIM).fetchall(), strict=True)
        conn.execute(_FLOOR_INSERT, (list(ids), list(olds)))
        news = [old + timedelta(minutes=1) for old in olds]
        conn.execute(_FLOOR_ADVANCE, (list(ids), list(olds), news))
    elapsed = (utcnow() - due).total_seconds() * 1000
    if len(ids) != size:
        raise RuntimeError(f"floor claimed {len(ids)} configs, expected {size}")
    return elapsed


def _tick_bursts(bursts: int, size: int) -> dict[str, list[float]]:
    """Alternate sidecar and floor bursts of ``size`` configs due at one instant, so both see
    the same machine conditions; each on its own database."""
    figures: dict[str, list[float]] = {"precision": [], "floor": [], "drain": []}
    with fresh_postgres() as db, fresh_postgres() as floor_db:
        # A schedule that does not fire again within the drain: an UPDATE of every config
        # to hold them back would lock their rows under the claims being measured.
        _bulk_configs(db, size, next_run_at=None, cron=BURST_CRON)
        _bulk_configs(floor_db, size, next_run_at=None, cron=BURST_CRON)
        with (
            psycopg.connect(libpq_dsn(db.url), autocommit=True) as listener,
            psycopg.connect(libpq_dsn(floor_db.url)) as floor_conn,
            sidecar(db.url, GROVE_WORKERS=WORKERS),
        ):
            listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
            # One warm-up burst each (not counted): the first pays for statement preparation
            # and cold caches on both sides.
            for n in range(bursts + 1):
                precision, drain = _sidecar_burst(db, listener, size)
                floor = _floor_burst(floor_db, floor_conn, size)
                if n:
                    figures["precision"].append(precision)
                    figures["drain"].append(drain)
                    figures["floor"].append(floor)
    return figures


def latency(runs: int = 200, burst: int = 1000, bursts: int = 5) -> dict:
    """Run Now -> running; tick precision against a bare SQL floor and burst drain against the
    steady throughput, all measured in this run."""
    with fresh_postgres() as db:
        run_now_ms = summary_ms(_run_now_ms(db, runs))
    figures = _tick_bursts(bursts, burst)
    with fresh_postgres() as db:
        steady = _drain_rate(db, 5000, 1)
    precision = percentiles_ms(figures["precision"])
    floor = percentiles_ms(figures["floor"])
    drain = percentiles_ms(figures["drain"])
    # At the steady rate, draining the burst takes burst / rate; 20% is left for the tick.
    drain_budget_ms = 1.2 * burst / steady * 1000
    precision_ratio = precision["p50"] / floor["p50"]
    return {
        "benchmark": "latency",
        "run_now_to_running_ms": run_now_ms,
        "burst_configs": burst,
        "tick_precision_ms": precision,
        "tick_floor_ms": floor,
        "tick_precision_vs_floor": {
            "ratio_p50": round(precision_ratio, 2),
            "target": "tick_precision_ms.p50 <= 2 x tick_floor_ms.p50",
            "met": precision_ratio <= 2,
        },
        "burst_drain_ms": drain,
        "steady_executions_per_second": round(steady, 1),
        "burst_drain_vs_steady": {
            "budget_ms": round(drain_budget_ms, 1),
            "ratio_p50": round(drain["p50"] / (burst / steady * 1000), 2),
            "target": "burst_drain_ms.p50 <= 1.2 x burst / steady_executions_per_second",
            "met": drain["p50"] <= drain_budget_ms,
        },
        "targets": {"run_now_p50_ms": 7, "run_now_p99_ms": 20},
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
