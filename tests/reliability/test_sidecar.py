"""The real sidecar process: runs, retries, timeouts, cancels, crashes and restarts."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.engine import make_url

from grove_jobs.clock import utcnow
from grove_jobs.db.tables import ExecutionLogRow, JobConfigRow, JobExecutionRow
from grove_jobs.engine import dispatch
from grove_jobs.engine.enqueue import cancel_execution, run_now
from grove_jobs.executions.queries import get_execution
from tests.factories import create, synthetic_config
from tests.reliability.conftest import ROOT, wait_for

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-m", "grove_jobs.cli"]
# Scenarios that exist on one backend only: SQLite allows one sidecar; several sidecars and
# killed server connections are PostgreSQL's.
ONLY_SQLITE = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
ONLY_POSTGRES = pytest.mark.parametrize(
    "backend", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
TERMINAL = {"success", "partial", "failed", "timed_out", "cancelled", "skipped"}


def _logs(db, execution_id):
    with db.read() as session:
        return list(
            session.scalars(
                select(ExecutionLogRow)
                .where(ExecutionLogRow.execution_id == execution_id)
                .order_by(ExecutionLogRow.id)
            )
        )


def test_run_now_runs_and_records_everything(db, start_sidecar):
    create(db, synthetic_config("quick", items=5))
    start_sidecar()
    execution = run_now(db, "quick", requested_by="test")
    done = wait_for(db, execution.id, TERMINAL, timeout=10)
    assert (done.status, done.attempt, done.items_processed, done.items_total) == (
        "success",
        1,
        5,
        5,
    )
    assert done.payload_snapshot["parameters"]["items"] == 5
    assert [line.message for line in _logs(db, execution.id)] == [
        "processing 5 items",
        "processed 5 items",
    ]


def test_hang_is_stopped_at_its_timeout_and_the_slot_is_reused(db, start_sidecar):
    create(db, synthetic_config("hang", hang=True, timeout=2))
    create(db, synthetic_config("after", items=1))
    sidecar = start_sidecar(GROVE_WORKERS="1")
    hung = run_now(db, "hang", requested_by="test")
    done = wait_for(db, hung.id, TERMINAL, timeout=15)
    assert done.status == "timed_out"
    assert 1.9 <= done.duration_seconds <= 4.0
    follow_up = run_now(db, "after", requested_by="test")
    assert wait_for(db, follow_up.id, TERMINAL, timeout=15).status == "success"
    # The replacement worker started quietly (it re-runs the main module by design).
    assert "Warning" not in sidecar.output()


@pytest.mark.parametrize("hang", [False, True], ids=["cooperative", "ignores-cancel"])
def test_cancel_stops_a_running_run_within_two_seconds(db, start_sidecar, hang):
    create(db, synthetic_config("long", items=100, duration=60, hang=hang, timeout=120))
    start_sidecar()
    execution = run_now(db, "long", requested_by="test")
    wait_for(db, execution.id, {"running"}, timeout=10)
    time.sleep(0.3)
    asked = time.monotonic()
    cancel_execution(db, execution.id, requested_by="test")
    done = wait_for(db, execution.id, TERMINAL, timeout=10)
    assert done.status == "cancelled"
    assert time.monotonic() - asked < 2.0


def test_flaky_job_succeeds_on_attempt_three_after_its_delays(db, start_sidecar):
    create(db, synthetic_config("flaky", fail_first=2, max_attempts=3, initial_delay=1, items=2))
    start_sidecar()
    execution = run_now(db, "flaky", requested_by="test")
    done = wait_for(db, execution.id, TERMINAL, timeout=20)
    assert (done.status, done.attempt) == ("success", 3)
    failures = [m for m in _logs(db, execution.id) if m.message.startswith("SyntheticFailure")]
    assert [line.attempt for line in failures] == [1, 2]
    assert (failures[1].at - failures[0].at).total_seconds() >= 1.0


def test_a_retry_starts_at_its_not_before_not_at_the_next_poll(db, start_sidecar):
    create(db, synthetic_config("flaky", fail_first=1, max_attempts=2, initial_delay=2, items=1))
    # A poll interval far longer than the delay: only waking for the retry starts it on time.
    start_sidecar(GROVE_POLL_INTERVAL_SECONDS="30")
    execution = run_now(db, "flaky", requested_by="test")
    done = wait_for(db, execution.id, TERMINAL, timeout=20)
    assert (done.status, done.attempt) == ("success", 2)
    scheduled = next(m for m in _logs(db, execution.id) if m.message.startswith("retry scheduled"))
    assert 2.0 <= (done.started_at - scheduled.at).total_seconds() < 5.0


@ONLY_POSTGRES
def test_a_retry_scheduled_by_another_sidecar_wakes_an_idle_one(db, start_sidecar):
    create(db, synthetic_config("flaky", fail_first=1, max_attempts=2, initial_delay=2, items=1))
    execution = run_now(db, "flaky", requested_by="test")
    # "Elsewhere", a busy sidecar, runs attempt 1 ...
    (run,) = dispatch.claim(db, worker_id="elsewhere", limit=1, at=utcnow())
    start_sidecar(GROVE_POLL_INTERVAL_SECONDS="30", GROVE_LEASE_SECONDS="60")
    time.sleep(1.0)  # the new sidecar has looked and found nothing to do
    # ... and records its failure: the retry is due in 2 s, and the NOTIFY that comes with it
    # tells the idle sidecar, which would otherwise look again only in 30 s.
    failed = dispatch.Outcome(
        run.execution_id, 1, "failed", max_attempts=2, retry=run.retry, error="boom"
    )
    ended = utcnow()
    assert dispatch.complete(db, [failed], [], {}, worker_id="elsewhere", at=ended) == 1
    done = wait_for(db, execution.id, TERMINAL, timeout=20)
    assert (done.status, done.attempt) == ("success", 2)
    assert 2.0 <= (done.started_at - ended).total_seconds() < 5.0


def test_a_retry_survives_a_sidecar_restart(db, start_sidecar):
    create(db, synthetic_config("retry", fail_first=1, max_attempts=2, initial_delay=3))
    first = start_sidecar()
    execution = run_now(db, "retry", requested_by="test")
    waiting = wait_for(db, execution.id, {"retrying"}, timeout=10)
    assert first.terminate() == 0
    start_sidecar()
    done = wait_for(db, execution.id, TERMINAL, timeout=20)
    assert (done.status, done.attempt) == ("success", 2)
    assert done.started_at >= waiting.run_after


def test_sigkill_mid_run_is_rescued_exactly_once(db, start_sidecar):
    create(db, synthetic_config("victim", items=10, duration=3, max_attempts=2, initial_delay=0))
    doomed = start_sidecar()
    execution = run_now(db, "victim", requested_by="test")
    wait_for(db, execution.id, {"running"}, timeout=10)
    doomed.kill()
    start_sidecar()
    done = wait_for(db, execution.id, TERMINAL, timeout=30)
    assert (done.status, done.attempt) == ("success", 2)
    rescues = [m for m in _logs(db, execution.id) if "stopped heartbeating" in m.message]
    assert len(rescues) == 1


def test_sigterm_hands_unfinished_runs_back(db, start_sidecar):
    create(db, synthetic_config("slow", items=20, duration=8, max_attempts=1))
    first = start_sidecar(GROVE_SHUTDOWN_GRACE_SECONDS="0.5")
    execution = run_now(db, "slow", requested_by="test")
    wait_for(db, execution.id, {"running"}, timeout=10)
    assert first.terminate() == 0
    handed = get_execution(db, execution.id)
    assert (handed.status, handed.attempt) == ("retrying", 0)
    assert "handed back" in handed.error


@ONLY_SQLITE
def test_a_second_sidecar_on_sqlite_refuses_to_start(start_sidecar, db):
    start_sidecar()
    result = subprocess.run(
        [*CLI, "--database-url", db.url, "scheduler"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert "already runs on the SQLite database" in result.stderr


# --------------------------------------------------------------------------- PostgreSQL only


@ONLY_POSTGRES
def test_three_sidecars_share_the_work_without_duplicates(db, start_sidecar):
    for n in range(20):
        # A yearly cron: only the tick this test makes due below can fire during the test
        # (an every-minute cron could also fire on a minute boundary mid-setup and overlap).
        create(db, synthetic_config(f"tick-{n}", cron="0 0 1 1 *", enabled=True, grace=600))
    for n in range(5):
        create(db, synthetic_config(f"busy-{n}", items=3, duration=0.8, max_concurrent=2))
    for _ in range(3):
        start_sidecar(GROVE_WORKERS="3")
    due = utcnow() - timedelta(seconds=1)
    with db.write() as session:  # every scheduled config is due right now, for all sidecars
        session.execute(
            update(JobConfigRow).where(JobConfigRow.id.like("tick-%")).values(next_run_at=due)
        )
    ids = [
        run_now(db, f"busy-{n % 5}", requested_by="test", request_id=f"r{n}").id for n in range(40)
    ]
    for execution_id in ids:
        wait_for(db, execution_id, TERMINAL, timeout=60)
    with db.read() as session:
        rows = list(session.scalars(select(JobExecutionRow)))
    scheduled = [r for r in rows if r.config_id.startswith("tick-") and r.scheduled_for == due]
    assert len(scheduled) == 20  # one per config for that tick, whoever fired it
    deadline = time.monotonic() + 30
    while any(r.status not in TERMINAL for r in scheduled) and time.monotonic() < deadline:
        time.sleep(0.2)
        with db.read() as session:
            scheduled = list(
                session.scalars(select(JobExecutionRow).where(JobExecutionRow.scheduled_for == due))
            )
    assert {r.status for r in scheduled} == {"success"}
    busy = [r for r in rows if r.config_id.startswith("busy-")]
    assert {r.status for r in busy} == {"success"}
    assert {r.attempt for r in busy} == {1}  # nobody ran anything twice
    for n in range(5):
        intervals = [(r.started_at, r.completed_at) for r in busy if r.config_id == f"busy-{n}"]
        assert _max_overlap(intervals) <= 2


# started_at and completed_at are stamped just before their transactions, so a run admitted
# the moment another one's completion commits can appear to start a few milliseconds before
# that completion. Intervals are trimmed by this much so only real overlaps count; the claim
# itself is checked exactly in tests/integration/test_engine.py.
STAMP_SKEW = timedelta(seconds=0.25)


def _max_overlap(intervals) -> int:
    trimmed = [(s + STAMP_SKEW, e) for s, e in intervals]
    assert all(s < e for s, e in trimmed), "runs must outlast the stamp skew to be judged"
    events = sorted([(e, -1) for _, e in trimmed] + [(s, 1) for s, _ in trimmed])
    current = peak = 0
    for _, delta in events:
        current += delta
        peak = max(peak, current)
    return peak


@ONLY_POSTGRES
def test_killed_connections_mid_run_lose_and_double_nothing(db, start_sidecar):
    create(db, synthetic_config("survivor", items=20, duration=3))
    sidecar = start_sidecar()
    execution = run_now(db, "survivor", requested_by="test")
    wait_for(db, execution.id, {"running"}, timeout=10)
    name = make_url(db.url).database

    def kill_connections() -> None:
        with db.engine.connect() as connection:
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
            connection.commit()

    for _ in range(3):
        kill_connections()
        time.sleep(0.5)
    done = wait_for(db, execution.id, TERMINAL, timeout=30)
    assert (done.status, done.attempt, done.items_processed) == ("success", 1, 20)
    after = run_now(db, "survivor", requested_by="test")
    assert wait_for(db, after.id, TERMINAL, timeout=20).status == "success"
    assert sidecar.process.poll() is None


def test_run_wait_cli_succeeds_within_a_second(db, start_sidecar):
    create(db, synthetic_config("cli-quick", items=3))
    start_sidecar()
    started = time.monotonic()
    result = subprocess.run(
        [*CLI, "--database-url", db.url, "run", "cli-quick", "--wait", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert '"status": "success"' in result.stdout
    print(f"run --wait took {elapsed:.2f}s including interpreter start")
