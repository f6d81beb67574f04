"""Scale: ``python -m bench scale`` prints one JSON object.

The same measurements at 100 configs / 1,000 executions and at 10,000 configs / 1,000,000
executions (seeded by COPY, every row inside the retention window), in one run, on throwaway
PostgreSQL databases:

- an incremental alert pass, with 10 runs finished since the previous pass (5 s earlier);
- a retention prune pass (nothing to delete: the pass's cost is finding that out);
- the dashboard's console and inspector (Execution Status tab), warm reruns (AppTest);
- the plans of the queries these rely on (EXPLAIN ANALYZE), on stderr, and the slowest
  statements of an uncached console and inspector rerun with theirs.

Targets: each large figure <= 2x its small one; a prune pass <= 1 s.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event, insert, select, text
from sqlalchemy.engine import Engine

from bench.common import fresh_postgres, percentiles_ms
from bench.dashboard import APP
from bench.seed import STEADY_TICK, last_tick, seed_configs, seed_executions
from grove_jobs.alerts import states
from grove_jobs.alerts.incremental import IncrementalEvaluator
from grove_jobs.clock import utcnow
from grove_jobs.db.engine import Database
from grove_jobs.db.tables import JobExecutionRow
from grove_jobs.engine.prune import prune

SMALL = (100, 1_000)
LARGE = (10_000, 1_000_000)
PASSES = 9
NEW_RUNS = 10
RERUNS = 9
PRUNES = 3
RATIO_TARGET = 2.0
PRUNE_TARGET_MS = 1000.0


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000


def _finish_runs(db: Database, config_ids: list[str], at: datetime) -> None:
    rows = [
        {
            "config_id": cid,
            "trigger": "manual",
            "status": "success",
            "attempt": 1,
            "max_attempts": 1,
            "request_id": uuid.uuid4().hex,
            "queued_at": at - timedelta(seconds=3),
            "run_after": at - timedelta(seconds=3),
            "started_at": at - timedelta(seconds=2),
            "completed_at": at,
        }
        for cid in config_ids
    ]
    with db.write() as session:
        session.execute(insert(JobExecutionRow), rows)


def seed(db: Database, configs: int, executions: int, now: datetime) -> list[str]:
    """A steady fleet (the shared seeder): history on schedule, newest at the last tick."""
    ids = seed_configs(db, configs, now, steady=True)
    seed_executions(db, ids, executions, newest=last_tick(now), cadence=STEADY_TICK)
    with db.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    return ids


def alert_passes(db: Database, ids: list[str], now: datetime) -> dict[str, Any]:
    """A full pass, then PASSES incremental ones 5 s apart, NEW_RUNS runs finished before each."""
    evaluator = IncrementalEvaluator(db)
    started = time.perf_counter()
    full = evaluator.run(now)
    full_ms = _ms(started)
    pick = random.Random(15)
    samples, looked_at = [], []
    for n in range(1, PASSES + 1):
        at = now + timedelta(seconds=5 * n)
        _finish_runs(db, [pick.choice(ids) for _ in range(NEW_RUNS)], at)
        started = time.perf_counter()
        result = evaluator.run(at + timedelta(milliseconds=500))
        samples.append(_ms(started))
        looked_at.append(result.configs)
    return {
        "full_pass_ms": round(full_ms, 1),
        "incidents_opened_by_full_pass": full.opened,
        "incremental_pass_ms": percentiles_ms(samples),
        "configs_looked_at_per_pass": statistics.median(looked_at),
    }


def prune_passes(db: Database, now: datetime) -> dict[str, Any]:
    samples, deleted = [], 0
    for _ in range(PRUNES):
        started = time.perf_counter()
        deleted += prune(db, at=now).deleted
        samples.append(_ms(started))
    return {"pass_ms": percentiles_ms(samples), "deleted": deleted}


@contextmanager
def statements() -> Iterator[list[tuple[float, str, Any]]]:
    """Every statement any engine runs meanwhile, with its duration in ms."""
    seen: list[tuple[float, str, Any]] = []

    def before(conn, cursor, statement, parameters, context, executemany) -> None:
        conn.info.setdefault("bench_started", []).append(time.perf_counter())

    def after(conn, cursor, statement, parameters, context, executemany) -> None:
        started = conn.info["bench_started"].pop()
        seen.append((_ms(started), statement, parameters))

    event.listen(Engine, "before_cursor_execute", before)
    event.listen(Engine, "after_cursor_execute", after)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", before)
        event.remove(Engine, "after_cursor_execute", after)


def _reruns(run: Callable[[], None]) -> dict[str, Any]:
    samples = []
    for _ in range(RERUNS):
        started = time.perf_counter()
        run()
        samples.append(_ms(started))
    return percentiles_ms(samples)


def dashboard(url: str, inspected: str) -> tuple[dict[str, Any], list[tuple[float, str, Any]]]:
    """Warm reruns of the console and the inspector; the statements of an uncached rerun."""
    from streamlit.testing.v1 import AppTest

    from dashboard import context, data

    os.environ["GROVE_DATABASE_URL"] = url
    context.reset()
    data.clear()
    app = AppTest.from_file(str(APP), default_timeout=300).run()

    def rerun() -> None:
        app.run()
        if app.exception:
            raise RuntimeError(f"dashboard rerun failed: {app.exception}")

    rerun()
    figures: dict[str, Any] = {"console_warm_ms": _reruns(rerun)}
    data.clear()
    with statements() as console_sql:
        rerun()
    app.query_params["config"] = inspected
    app.query_params["tab"] = "Execution Status"
    app.switch_page("views/inspector.py").run()
    rerun()
    figures["inspector_warm_ms"] = _reruns(rerun)
    data.clear()
    with statements() as inspector_sql:
        rerun()
    context.reset()
    data.clear()
    return figures, console_sql + inspector_sql


def explain(db: Database, sql: str, parameters: Any = None) -> list[str]:
    """EXPLAIN ANALYZE of one statement, as plan lines."""
    with db.read() as session:
        connection = session.connection()
        rows = connection.exec_driver_sql("EXPLAIN (ANALYZE, COSTS OFF) " + sql, parameters)
        return [row[0] for row in rows]


def _compiled(db: Database, stmt) -> str:
    return str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True}))


def plans(
    db: Database, now: datetime, slowest: list[tuple[float, str, Any]], ids: list[str]
) -> dict[str, Any]:
    """The plans the figures rely on, and those of the three slowest dashboard statements."""
    E = JobExecutionRow
    since = now - timedelta(seconds=60)
    some = ids[:10]
    queries = {
        "alerts: finished since": select(E.config_id).where(E.completed_at >= since),
        "alerts: running now": select(E.config_id).where(E.status == "running"),
        "alerts: newest runs of 10 configs": None,
        "prune: configs with history": text(
            "SELECT config_id, count(*), min(queued_at) FROM job_executions "
            "GROUP BY config_id HAVING count(*) > 1"
        ),
    }
    found: dict[str, Any] = {}
    for name, stmt in queries.items():
        if stmt is None:
            with statements() as seen:
                states.load_states(db, some)
            sql, parameters = max(seen, key=lambda s: s[0])[1:]
            found[name] = explain(db, sql, parameters)
        else:
            found[name] = explain(db, _compiled(db, stmt))
    top = sorted((s for s in slowest if s[1].lstrip().upper().startswith("SELECT")), reverse=True)
    for rank, (ms, sql, parameters) in enumerate(top[:3], start=1):
        found[f"dashboard #{rank} ({ms:.1f} ms): {' '.join(sql.split())[:80]}"] = explain(
            db, sql, parameters
        )
    return found


def measure(configs: int, executions: int) -> dict[str, Any]:
    """Every figure on a fresh database of ``configs`` and ``executions``."""
    with fresh_postgres() as db:
        now = utcnow()
        started = time.perf_counter()
        ids = seed(db, configs, executions, now)
        result: dict[str, Any] = {"seed_seconds": round(_ms(started) / 1000, 1)}
        result["alerts"] = alert_passes(db, ids, now)
        result["prune"] = prune_passes(db, now)
        figures, sql = dashboard(db.url, ids[configs // 2])
        result.update(figures)
        found = plans(db, now, sql, ids)
    print(f"--- query plans at {configs} configs, {executions} executions", file=sys.stderr)
    for name, lines in found.items():
        print(f"\n[{name}]\n" + "\n".join(lines), file=sys.stderr)
    result["plans"] = {name: lines[0].strip() for name, lines in found.items()}
    return result


def scale() -> dict[str, Any]:
    """The benchmark's JSON object."""
    os.environ.setdefault("STREAMLIT_LOGGER_LEVEL", "error")
    small, large = measure(*SMALL), measure(*LARGE)

    def ratio(*path: str) -> float:
        a: Any = large
        b: Any = small
        for key in path:
            a, b = a[key], b[key]
        return round(a / b, 2)

    ratios = {
        "alert_pass": ratio("alerts", "incremental_pass_ms", "p50"),
        "console_warm": ratio("console_warm_ms", "p50"),
        "inspector_warm": ratio("inspector_warm_ms", "p50"),
    }
    prune_ms = large["prune"]["pass_ms"]["p50"]
    return {
        "benchmark": "scale",
        "small": {"configs": SMALL[0], "executions": SMALL[1], **small},
        "large": {"configs": LARGE[0], "executions": LARGE[1], **large},
        "ratios_large_to_small_p50": ratios,
        "targets": {"ratio_max": RATIO_TARGET, "prune_pass_ms_max": PRUNE_TARGET_MS},
        "within_target": all(r <= RATIO_TARGET for r in ratios.values())
        and prune_ms <= PRUNE_TARGET_MS,
    }


BENCHMARKS = {"scale": scale}
