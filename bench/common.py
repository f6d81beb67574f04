"""Shared benchmark plumbing: throwaway PostgreSQL databases and real sidecar processes."""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sysconfig
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from grove_jobs.db import migrate
from grove_jobs.db.engine import Database
from grove_jobs.settings import normalize_database_url

ROOT = Path(__file__).resolve().parents[1]
ADMIN_URL = normalize_database_url(
    os.environ.get(
        "GROVE_BENCH_DATABASE_URL",
        os.environ.get("GROVE_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"),
    )
)


def grove_jobs_script() -> str:
    """The installed ``grove-jobs`` console script of this interpreter's environment.

    The benchmarks run the CLI the way operators do, so they keep working wherever the command
    lives inside the package."""
    return str(Path(sysconfig.get_path("scripts")) / "grove-jobs")


def libpq_dsn(url: str) -> str:
    """A SQLAlchemy URL as a plain ``postgresql://`` DSN for psycopg and other libpq clients."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def fresh_database() -> Iterator[str]:
    """An empty throwaway PostgreSQL database (no grove-jobs schema); yields its URL."""
    name = f"grove_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@contextmanager
def fresh_postgres(*, keep: bool = False) -> Iterator[Database]:
    """A migrated, throwaway PostgreSQL database (left in place with ``keep``, to inspect)."""
    name = f"grove_bench_{uuid.uuid4().hex[:10]}"
    # pre_ping: the soak restarts PostgreSQL, and the final DROP must not use a dead connection.
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(url)
    db = Database(url)
    try:
        yield db
    finally:
        db.dispose()
        if not keep:
            with admin.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def start_scheduler(url: str, env: dict[str, str], out=subprocess.DEVNULL) -> subprocess.Popen:
    """``grove-jobs scheduler`` on ``url`` in its own process group (so that killing the group
    takes its workers too), with ``env`` over the bench defaults and its output to ``out``."""
    environment = {
        **os.environ,
        "GROVE_DATABASE_URL": url,
        "GROVE_API_ENABLED": "false",
        "GROVE_LOG_LEVEL": "WARNING",
        **env,
    }
    return subprocess.Popen(
        [grove_jobs_script(), "scheduler"],
        cwd=ROOT,
        env=environment,
        stdout=out,
        stderr=subprocess.STDOUT if out is not subprocess.DEVNULL else subprocess.DEVNULL,
        start_new_session=True,
    )


def stop_scheduler(process: subprocess.Popen, timeout: float = 30.0) -> None:
    """SIGTERM (it hands its runs back), then SIGKILL the group if it does not exit."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


@contextmanager
def sidecar(url: str, **env: str) -> Iterator[subprocess.Popen]:
    """A real ``grove-jobs scheduler``; yields once it has started."""
    process = start_scheduler(url, env)
    try:
        time.sleep(2.0)  # workers started; the benchmarks measure from their own instants
        yield process
    finally:
        stop_scheduler(process)


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def summary_ms(values: list[float]) -> dict[str, float]:
    """p50, p99 and mean, rounded for printing."""
    return {
        "p50": round(percentile(values, 0.5), 2),
        "p99": round(percentile(values, 0.99), 2),
        "mean": round(statistics.fmean(values), 2),
    }


def percentiles_ms(values: list[float]) -> dict[str, float]:
    """``{"p50", "p99", "n"}``: with few samples p99 is the worst one, and ``n`` says so."""
    return {
        "p50": round(percentile(values, 0.5), 2),
        "p99": round(percentile(values, 0.99), 2),
        "n": len(values),
    }
