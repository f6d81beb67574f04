"""Same-run anchors: our throughput and Run Now latency beside procrastinate's, measured on the
same PostgreSQL server in the same run, so that targets are ratios rather than figures from
another day.

``python -m bench.anchor [throughput_vs_procrastinate|run_now_vs_procrastinate]`` prints one
JSON object per benchmark.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time

import procrastinate
import psycopg

from bench import engine
from bench.common import fresh_database, fresh_postgres, libpq_dsn, summary_ms

JOBS = 5000
CONCURRENCIES = (1, 8, 16)
WORKER_TIMEOUT_SECONDS = 300  # a stuck worker fails the benchmark rather than hanging it


def _app(dsn: str, pool_size: int) -> procrastinate.App:
    # A pool larger than the concurrency, so that procrastinate never waits for a connection.
    connector = procrastinate.PsycopgConnector(conninfo=dsn, min_size=2, max_size=pool_size)
    return procrastinate.App(connector=connector)


def _drain_seconds(dsn: str, queue: str) -> float:
    """First job started -> last job succeeded on ``queue``, from procrastinate's own event
    log: the same span as our throughput (first started_at -> last completed_at)."""
    query = """
        SELECT min(e.at) FILTER (WHERE e.type = 'started'),
               max(e.at) FILTER (WHERE e.type = 'succeeded')
        FROM procrastinate_events e JOIN procrastinate_jobs j ON j.id = e.job_id
        WHERE j.queue_name = %s
    """
    with psycopg.connect(dsn) as conn:
        first, last = conn.execute(query, (queue,)).fetchone()
    return (last - first).total_seconds()


async def _procrastinate_rate(dsn: str, concurrency: int, count: int) -> float:
    """Defer ``count`` no-op jobs on a fresh queue, then run one worker with ``concurrency``
    until the queue is empty; jobs per second."""
    app = _app(dsn, concurrency + 4)
    queue = f"throughput_{concurrency}"

    @app.task(name="noop", queue=queue)
    async def noop() -> None:
        return None

    async with app.open_async():
        await noop.batch_defer_async(*({} for _ in range(count)))
        # wait=False: the worker returns once it has caught up with the queue.
        worker = app.run_worker_async(
            queues=[queue], concurrency=concurrency, wait=False, install_signal_handlers=False
        )
        await asyncio.wait_for(worker, timeout=WORKER_TIMEOUT_SECONDS)
    return count / _drain_seconds(dsn, queue)


def procrastinate_rates(count: int = JOBS) -> dict[int, float]:
    """procrastinate's no-op jobs per second at each concurrency, on one fresh database."""
    with fresh_database() as url:
        dsn = libpq_dsn(url)
        asyncio.run(_apply_schema(dsn))
        return {c: asyncio.run(_procrastinate_rate(dsn, c, count)) for c in CONCURRENCIES}


async def _apply_schema(dsn: str) -> None:
    app = _app(dsn, 2)
    async with app.open_async():
        await app.schema_manager.apply_schema_async()


def throughput_vs_procrastinate(count: int = JOBS) -> dict:
    """Our one-sidecar no-op throughput against procrastinate's best concurrency."""
    with fresh_postgres() as db:
        ours = engine._drain_rate(db, count, 1)
    theirs = procrastinate_rates(count)
    best = max(theirs.values())
    ratio = ours / best
    return {
        "benchmark": "throughput_vs_procrastinate",
        "executions": count,
        "workers": int(engine.WORKERS),
        "executions_per_second_1_sidecar": round(ours, 1),
        "procrastinate_per_second": {
            **{f"concurrency_{c}": round(rate, 1) for c, rate in theirs.items()},
            "best": round(best, 1),
        },
        "ratio_to_procrastinate_best": round(ratio, 2),
        "target_ratio": 3,
        "met": ratio >= 3,
    }


async def _procrastinate_start_ms(dsn: str, samples: int, warmup: int = 10) -> list[float]:
    """defer -> handler start of one job at a time, with a LISTEN/NOTIFY worker running."""
    app = _app(dsn, 6)
    started: dict[int, float] = {}
    arrived = asyncio.Event()

    @app.task(name="ping", queue="latency")
    async def ping(n: int) -> None:
        started[n] = time.perf_counter()
        arrived.set()

    async with app.open_async():
        worker = asyncio.create_task(
            app.run_worker_async(
                queues=["latency"], listen_notify=True, install_signal_handlers=False
            )
        )
        await asyncio.sleep(1.0)  # the worker is listening before the first defer
        values = []
        try:
            for n in range(samples + warmup):
                arrived.clear()
                deferred = time.perf_counter()
                await ping.defer_async(n=n)
                await asyncio.wait_for(arrived.wait(), timeout=10)
                if n >= warmup:
                    values.append((started[n] - deferred) * 1000)
                await asyncio.sleep(0.01)  # the same pause between runs as ours
        finally:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
    return values


def procrastinate_start_ms(samples: int) -> list[float]:
    """procrastinate's defer -> start samples, on a fresh database."""
    with fresh_database() as url:
        dsn = libpq_dsn(url)
        asyncio.run(_apply_schema(dsn))
        return asyncio.run(_procrastinate_start_ms(dsn, samples))


def run_now_vs_procrastinate(samples: int = 200) -> dict:
    """Our Run Now -> running against procrastinate's defer -> handler start."""
    with fresh_postgres() as db:
        ours = summary_ms(engine._run_now_ms(db, samples))
    theirs = summary_ms(procrastinate_start_ms(samples))
    ratio = ours["p50"] / theirs["p50"]
    return {
        "benchmark": "run_now_vs_procrastinate",
        "samples": samples,
        "run_now_to_running_ms": ours,
        "procrastinate_defer_to_start_ms": theirs,
        "ratio_p50": round(ratio, 2),
        "targets": {
            "p50": "run_now_to_running_ms.p50 <= procrastinate_defer_to_start_ms.p50",
            "p50_met": ratio <= 1,
            "p99_ms": 20,
            "p99_met": ours["p99"] <= 20,
        },
    }


BENCHMARKS = {
    "throughput_vs_procrastinate": throughput_vs_procrastinate,
    "run_now_vs_procrastinate": run_now_vs_procrastinate,
}


def main(names: list[str]) -> None:
    for name in names or list(BENCHMARKS):
        print(json.dumps(BENCHMARKS[name]()), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
