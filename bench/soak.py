"""``make soak``: three sidecars on PostgreSQL, 500 synthetic configs, faults, then a check.

During the run: one sidecar is SIGKILLed (with its workers) and started again, one sidecar's
main process is paused (SIGSTOP) past its lease, one is cut off from the database (its role
set NOLOGIN) past its lease, PostgreSQL is restarted once, and random connections are
terminated a few times. Afterwards no new ticks are
fired, the system settles, and :mod:`bench.soak_check` judges the history. Prints ONE JSON
object; exits non-zero when any invariant is violated.

    python -m bench.soak --minutes 10
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select, text, update

from bench import soak_faults
from bench.common import fresh_postgres, start_scheduler, stop_scheduler
from bench.soak_check import ConfigSpec, ExecRow, LogRow, check
from grove_jobs.alerts.tables import AlertIncidentRow
from grove_jobs.clock import utcnow
from grove_jobs.configs.store import create_config
from grove_jobs.db.engine import Database
from grove_jobs.db.tables import (
    ExecutionLogRow,
    JobConfigRow,
    JobExecutionRow,
    SchedulerNodeRow,
)
from grove_jobs.schema.grove_object import parse_grove_object
from grove_jobs.schema.job_config import RetryPolicy
from tests.factories import synthetic_config

SIDECAR_LEASE = 6  # seconds: a killed sidecar's runs are rescued this soon
SIDECAR_ENV = {
    "GROVE_TICK_INTERVAL_SECONDS": "1",
    "GROVE_HEARTBEAT_INTERVAL_SECONDS": "1",
    "GROVE_LEASE_SECONDS": str(SIDECAR_LEASE),
    "GROVE_SHUTDOWN_GRACE_SECONDS": "5",
    "GROVE_ALERT_INTERVAL_SECONDS": "5",
    "PYTHONUNBUFFERED": "1",
}
# Paused or cut off this long, a sidecar's runs are rescued by the others (as in the report
# that asked for fencing: a 6 s lease, a 16 s pause).
LEASE_FAULT_SECONDS = 16
SETTLE_SECONDS = 300  # long-running configs take up to 150 s to finish their last run
FAULT_RECOVERY = timedelta(seconds=5)  # after a fault ends, connections are re-established
# A retry due this shortly before a fault was still within its tolerance when the fault hit.
FAULT_LEAD = timedelta(seconds=1)
BOOT_SETTLE_SECONDS = 3.0
WARMUP = timedelta(minutes=1)


class Sidecar:
    """A ``grove-jobs scheduler`` process in its own process group, logging to a file."""

    def __init__(self, url: str, log: Path, workers: int):
        self.url, self.log, self.workers = url, log, workers
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log.open("a") as out:  # the child keeps its own copy of the descriptor
            env = {**SIDECAR_ENV, "GROVE_WORKERS": str(self.workers)}
            self.process = start_scheduler(self.url, env, out)

    def wait_registered(self, db: Database, timeout: float = 120.0) -> None:
        """Block until this sidecar has registered its node (its worker pool is up)."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"sidecar exited early; see {self.log}")
            with db.read() as session:
                found = session.scalar(
                    select(func.count()).where(SchedulerNodeRow.pid == self.process.pid)
                )
            if found:
                return
            time.sleep(0.2)
        raise TimeoutError(f"sidecar did not register within {timeout}s; see {self.log}")

    def kill(self) -> None:
        """SIGKILL the sidecar and its workers: a machine dying mid-run."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None:
            stop_scheduler(self.process)


def synthetic_configs(count: int, rng: random.Random) -> list[dict]:
    """The mix: mostly quick successes, failures that succeed on a retry, hangs that hit
    their timeout, and a few long runs that keep maxConcurrent busy; most fire every minute."""
    configs = []
    for n in range(count):
        roll = rng.random()
        cron = "* * * * *" if rng.random() < 0.9 else "*/2 * * * *"
        options: dict = {
            "max_concurrent": rng.randint(1, 3),
            "items": rng.randint(1, 3),
            "duration": rng.choice([0, 0.1, 0.3]),
            "max_attempts": 3,
            "initial_delay": 2,
            "max_delay": 900,  # the model's default
            "timeout": 30,
        }
        if roll < 0.20:  # fails its first 1-2 attempts, then succeeds
            kind = "flaky"
            options["fail_first"] = rng.randint(1, 2)
            # Delays of several seconds: retries come due after the top-of-the-minute burst
            # has drained (on a small machine too), so their start measures the policy, not
            # the queue.
            options["backoff"] = rng.choice(["fixed", "exponential"])
            options.update(initial_delay=rng.randint(5, 8), max_delay=15)
        elif roll < 0.25:  # hangs until the hard timeout, on every attempt
            kind = "hang"
            options.update(hang=True, items=0, duration=0, timeout=rng.randint(2, 4))
            options.update(max_attempts=2, initial_delay=5)
        elif roll < 0.26:  # outlives a minute: several runs in flight, up to maxConcurrent
            kind = "long"
            cap = rng.randint(2, 3)
            cron = "* * * * *"
            options.update(max_concurrent=cap, items=5, duration=60 * cap - 25, timeout=60 * cap)
        else:
            kind = "ok"
        configs.append(
            synthetic_config(
                f"soak-{kind}-{n:03d}", cron=cron, enabled=True, batch_size=10, **options
            )
        )
    return configs


def kill_connections(db: Database, rng: random.Random, count: int = 5) -> int:
    """pg_terminate_backend on a few random connections to the soak database."""
    with db.engine.connect() as connection:
        killed = connection.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM ("
                " SELECT pid FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                " ORDER BY random() LIMIT :n) AS victims"
            ),
            {"n": count},
        ).scalar_one()
        connection.commit()
    return int(killed)


def restart_postgres() -> None:
    """Restart the local cluster (the version from /etc/postgresql)."""
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
        check=True,
        capture_output=True,
        timeout=120,
    )


def _wait_for_db(db: Database, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with db.read() as session:
                session.execute(text("SELECT 1"))
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _settle(db: Database, timeout: float) -> float:
    """Stop new ticks, then wait until nothing is queued, running or retrying."""
    with db.write() as session:
        session.execute(update(JobConfigRow.__table__).values(next_run_at=None))
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        with db.read() as session:
            active = session.scalar(
                select(func.count()).where(
                    JobExecutionRow.status.in_(["queued", "running", "retrying"])
                )
            )
        if not active:
            break
        time.sleep(2)
    return time.monotonic() - started


def _history(db: Database) -> tuple[list[ConfigSpec], list[ExecRow], list[LogRow]]:
    E, L = JobExecutionRow, ExecutionLogRow
    with db.read() as session:
        configs = [
            ConfigSpec(
                row.id,
                row.payload["schedule"]["cronExpression"],
                row.payload["schedule"]["timezone"],
                row.payload["limits"]["maxConcurrent"],
                RetryPolicy.model_validate(row.payload["retry"]),
            )
            for row in session.execute(select(JobConfigRow.id, JobConfigRow.payload))
        ]
        execs = [
            ExecRow(*row)
            for row in session.execute(
                select(
                    E.id,
                    E.config_id,
                    E.trigger,
                    E.status,
                    E.attempt,
                    E.scheduled_for,
                    E.started_at,
                    E.completed_at,
                )
            )
        ]
        logs = [
            LogRow(*row)
            for row in session.execute(select(L.execution_id, L.attempt, L.at, L.message))
        ]
    return configs, execs, logs


def soak(
    minutes: float, configs: int, sidecars: int, workers: int, seed: int, keep_db: bool = False
) -> dict:
    """Run the soak on a fresh database; returns the checker's JSON plus the fault log."""
    rng = random.Random(seed)
    faults: list[tuple[datetime, datetime]] = []
    events: list[dict] = []
    logdir = Path(tempfile.mkdtemp(prefix="grove-soak-"))
    with fresh_postgres(keep=keep_db) as db:
        created_at = utcnow()
        for data in synthetic_configs(configs, rng):
            create_config(db, parse_grove_object(data), actor="soak", source="cli", at=created_at)
        roles = ExitStack()  # the sidecars' own login roles, dropped after them
        urls = roles.enter_context(soak_faults.sidecar_roles(db, sidecars))
        procs = [Sidecar(urls[n], logdir / f"sidecar-{n}.log", workers) for n in range(sidecars)]
        try:
            for proc in procs:
                proc.start()
            for proc in procs:
                proc.wait_registered(db)
            time.sleep(BOOT_SETTLE_SECONDS)  # the clock starts once every sidecar is up
            start = utcnow()
            # Warm-up: the first minute after boot (first forks, pools, caches, the first
            # burst) is checked for every invariant but not for retry timing or lag.
            warmed = start + WARMUP
            faults.append((start, warmed))
            events.append({"at": start.isoformat(), "fault": f"warm-up until {warmed.isoformat()}"})
            duration = minutes * 60

            def at_fraction(fraction: float, action: Callable[[], None]) -> None:
                # Faults are spread over the time after the warm-up (all of it if too short).
                base = (
                    warmed.timestamp()
                    if duration > 2 * WARMUP.total_seconds()
                    else start.timestamp()
                )
                span = start.timestamp() + duration - base
                pause = base + fraction * span - time.time()
                if pause > 0:
                    time.sleep(pause)
                action()

            def kill_sidecar() -> None:
                begun = utcnow()
                procs[-1].kill()
                events.append({"at": begun.isoformat(), "fault": "sidecar SIGKILL"})
                time.sleep(5)
                procs[-1].start()
                procs[-1].wait_registered(db)
                events.append({"at": utcnow().isoformat(), "fault": "sidecar restarted"})
                # Its runs are rescued after the lease, and a booting sidecar competes for CPU.
                lease = timedelta(seconds=SIDECAR_LEASE)
                faults.append((begun - FAULT_LEAD, utcnow() + lease + FAULT_RECOVERY))

            def connections() -> None:
                begun = utcnow()
                killed = kill_connections(db, rng)
                faults.append((begun - FAULT_LEAD, utcnow() + FAULT_RECOVERY))
                events.append({"at": begun.isoformat(), "fault": f"killed {killed} connections"})

            def postgres() -> None:
                begun = utcnow()
                restart_postgres()
                db.engine.dispose()
                _wait_for_db(db)
                faults.append((begun - FAULT_LEAD, utcnow() + FAULT_RECOVERY))
                took = (utcnow() - begun).total_seconds()
                events.append({"at": begun.isoformat(), "fault": f"postgres restart ({took:.1f}s)"})

            def lease_fault(name: str, hit: Callable[[], object]) -> None:
                begun = utcnow()
                detail = hit()
                events.append({"at": begun.isoformat(), "fault": f"{name} {detail or ''}".strip()})
                # Its runs are rescued a lease after it stopped renewing; then it catches up.
                lease = timedelta(seconds=SIDECAR_LEASE)
                faults.append((begun - FAULT_LEAD, utcnow() + lease + FAULT_RECOVERY))

            def pause() -> None:
                victim = procs[0].process
                assert victim is not None
                lease_fault(
                    f"sidecar SIGSTOP for {LEASE_FAULT_SECONDS}s",
                    lambda: soak_faults.pause(victim.pid, LEASE_FAULT_SECONDS),
                )

            def partition() -> None:
                url = procs[1 % len(procs)].url

                def cut() -> str:
                    killed = soak_faults.partition(db, url, LEASE_FAULT_SECONDS)
                    return f"(terminated {killed} sessions)"

                lease_fault(f"sidecar cut off (role NOLOGIN) for {LEASE_FAULT_SECONDS}s", cut)

            plan = [(0.15, connections), (0.25, kill_sidecar), (0.35, pause)]
            plan += [(0.45, connections), (0.55, postgres), (0.65, partition)]
            plan += [(0.75, connections), (0.85, connections)]
            for fraction, action in plan:
                at_fraction(fraction, action)
            at_fraction(1.0, lambda: None)
            end = utcnow()
            settle_seconds = _settle(db, SETTLE_SECONDS)
            history = _history(db)
            with db.read() as session:
                alerts = session.scalar(select(func.count()).select_from(AlertIncidentRow))
        finally:
            for proc in procs:
                proc.stop()
            roles.close()
    # The fire window ends a little before ``end``: a tick due in the last seconds may have
    # been cut off by the settle (no new ticks), which is the harness, not the scheduler.
    result = check(
        *history, start=start, end=end - timedelta(seconds=5), faults=faults, steady_from=warmed
    )
    return {
        "minutes": minutes,
        "configs": configs,
        "sidecars": sidecars,
        "workersPerSidecar": workers,
        **result,
        "alertIncidents": alerts,
        "settleSeconds": round(settle_seconds, 1),
        "faults": events,
        "sidecarLogs": str(logdir),
        **({"database": db.url} if keep_db else {}),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--configs", type=int, default=500)
    parser.add_argument("--sidecars", type=int, default=3)
    # Enough slots that hangs and long runs never starve the top-of-the-minute burst: a retry
    # that waits for a free worker measures capacity, not the retry policy.
    parser.add_argument("--workers", type=int, default=24, help="worker processes per sidecar")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument(
        "--keep-db", action="store_true", help="leave the soak database in place to inspect"
    )
    args = parser.parse_args(argv)
    result = soak(
        args.minutes, args.configs, args.sidecars, args.workers, args.seed, keep_db=args.keep_db
    )
    print(json.dumps(result, indent=2, default=str))
    return 1 if result["violations"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
