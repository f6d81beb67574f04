"""Dashboard rerun times, server side: ``python -m bench.dashboard`` prints one JSON object.

- the console with 1,000 job configs (every one with a last run, 24 cards drawn);
- the inspector of a config with 100,000 executions, on each of its tabs.

A rerun is one ``AppTest.run()`` of ``dashboard/app.py``: the whole script (router, reads,
every element) plus AppTest's own parsing of the output, so the figures overstate what a real
server spends. "warm" reruns hit the read cache (what a click or a keystroke costs); "uncached"
reruns clear it first (the first rerun after a write, or after the TTL). Target: <= 300 ms.

SQLite always (a temporary file); PostgreSQL too when ``GROVE_BENCH_DATABASE_URL`` is set (a
throwaway database is created next to the one it names).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text

from bench.seed import seed_configs, seed_executions
from grove_jobs.clock import utcnow
from grove_jobs.db import migrate
from grove_jobs.db.engine import Database
from grove_jobs.db.tables import ExecutionLogRow, JobExecutionRow

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "dashboard" / "app.py"
CONFIGS = 1_000
EXECUTIONS = 100_000
HEAVY = "bench-heavy"
RUNS = 15
TARGET_MS = 300


def populate(db: Database) -> None:
    """1,000 configs, a last run for each, 100,000 runs of the heavy one (the shared seeder)."""
    now = utcnow()
    ids = seed_configs(db, CONFIGS, now, first=HEAVY)
    minute = timedelta(minutes=1)
    seed_executions(db, [HEAVY], EXECUTIONS, newest=now - 10 * minute, cadence=minute)
    seed_executions(db, ids[1:], len(ids) - 1, newest=now, cadence=minute, manual_every=5)
    with db.write() as session:
        newest = (
            session.query(JobExecutionRow.id)
            .filter_by(config_id=HEAVY)
            .order_by(JobExecutionRow.id.desc())
            .first()
        )
        assert newest is not None
        session.execute(
            insert(ExecutionLogRow),
            [
                {
                    "execution_id": newest.id,
                    "attempt": 1,
                    "at": now,
                    "level": "info",
                    "message": f"processed batch {n}",
                }
                for n in range(30)
            ],
        )


def _times(run: Callable[[], Any], before: Callable[[], None] | None = None) -> dict[str, float]:
    samples = []
    for _ in range(RUNS):
        if before is not None:
            before()
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    ordered = sorted(samples)
    return {
        "median": round(statistics.median(samples), 1),
        "p90": round(ordered[int(0.9 * (len(ordered) - 1))], 1),
        "min": round(ordered[0], 1),
    }


def measure(url: str) -> dict[str, Any]:
    """Rerun times of the console and of each inspector tab against ``url``."""
    from streamlit.testing.v1 import AppTest

    from dashboard import context, data

    os.environ["GROVE_DATABASE_URL"] = url
    # Timed as the local admin of make run, whose pages carry every write control.
    os.environ.setdefault("GROVE_ANONYMOUS_ROLE", "admin")
    context.reset()
    data.clear()
    at = AppTest.from_file(str(APP), default_timeout=120).run()  # imports, first queries
    if at.exception:
        raise RuntimeError(f"console failed: {at.exception}")

    def rerun() -> None:
        at.run()
        if at.exception:
            raise RuntimeError(f"rerun failed: {at.exception}")

    result: dict[str, Any] = {
        "console_1000_configs": {"warm_ms": _times(rerun), "uncached_ms": _times(rerun, data.clear)}
    }
    at.query_params["config"] = HEAVY
    at.switch_page("views/inspector.py").run()
    inspector: dict[str, Any] = {}
    for tab in ("Configuration", "Execution Status", "History of changes"):
        at.query_params["tab"] = tab
        rerun()
        inspector[tab] = {"warm_ms": _times(rerun), "uncached_ms": _times(rerun, data.clear)}
    result["inspector_100k_executions"] = inspector
    context.reset()
    data.clear()
    return result


@contextmanager
def sqlite_database() -> Iterator[Database]:
    with tempfile.TemporaryDirectory(prefix="grove-bench-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'grove.db'}"
        migrate.upgrade(url)
        db = Database(url)
        try:
            yield db
        finally:
            db.dispose()


def history_plan(db: Database) -> str:
    """The query plan of the history page query (it must walk the (config_id, id) index)."""
    stmt = (
        select(JobExecutionRow.id)
        .where(JobExecutionRow.config_id == HEAVY)
        .order_by(JobExecutionRow.id.desc())
        .limit(16)
    )
    sql = str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True}))
    prefix = "EXPLAIN QUERY PLAN " if db.is_sqlite else "EXPLAIN "
    with db.read() as session:
        rows = session.execute(text(prefix + sql)).all()
    return " | ".join(str(row[-1]) for row in rows)


def run_backend(database: Callable[[], Any]) -> dict[str, Any]:
    with database() as db:
        started = time.perf_counter()
        populate(db)
        setup = time.perf_counter() - started
        if not db.is_sqlite:
            with db.write() as session:
                session.execute(text("ANALYZE"))
        result = measure(db.url)
        result["populate_seconds"] = round(setup, 1)
        result["history_query_plan"] = history_plan(db)
        return result


def main() -> None:
    """Print the benchmark as one JSON object."""
    # Streamlit's bare-mode warnings go to its logger; keep stdout for the JSON.
    os.environ.setdefault("STREAMLIT_LOGGER_LEVEL", "error")
    output: dict[str, Any] = {
        "benchmark": "dashboard",
        "target_ms": TARGET_MS,
        "runs_per_figure": RUNS,
        "configs": CONFIGS,
        "executions_of_inspected_config": EXECUTIONS,
        "sqlite": run_backend(sqlite_database),
    }
    if os.environ.get("GROVE_BENCH_DATABASE_URL"):
        from bench.common import fresh_postgres

        output["postgresql"] = run_backend(fresh_postgres)
    figures = [
        output[backend]["console_1000_configs"]["warm_ms"]["median"]
        for backend in ("sqlite", "postgresql")
        if backend in output
    ] + [
        tab["warm_ms"]["median"]
        for backend in ("sqlite", "postgresql")
        if backend in output
        for tab in output[backend]["inspector_100k_executions"].values()
    ]
    output["within_target"] = all(f <= TARGET_MS for f in figures)
    json.dump(output, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
