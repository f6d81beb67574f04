"""Leases by the database's clock, and heartbeats that know which runs they renewed."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from grove_jobs.clock import utcnow
from grove_jobs.db.dialect import database_now
from grove_jobs.db.tables import JobExecutionRow
from grove_jobs.engine import dispatch, leases
from grove_jobs.engine.enqueue import run_now
from grove_jobs.executions.queries import get_execution
from tests.factories import create, synthetic_config


def test_the_database_clock_is_an_aware_utc_instant_close_to_now(db):
    with db.read() as session:
        now = database_now(session)
    assert now.utcoffset() == timedelta(0)
    assert abs((now - utcnow()).total_seconds()) < 60  # same machine: the clocks agree


def test_a_claim_and_its_heartbeats_are_stamped_by_the_database(db):
    create(db, synthetic_config("a"))
    execution = run_now(db, "a", requested_by="t")
    (run,) = dispatch.claim(db, worker_id="w", limit=1)
    with db.read() as session:
        after = database_now(session)
    claimed = get_execution(db, execution.id)
    assert claimed.heartbeat_at <= after
    assert leases.heartbeat(db, worker_id="w", running=[(run.execution_id, 1)]) == {
        (run.execution_id, 1)
    }
    assert get_execution(db, execution.id).heartbeat_at >= claimed.heartbeat_at


def test_rescue_judges_a_lease_by_the_database_clock_not_the_callers(db):
    create(db, synthetic_config("a", max_attempts=2, initial_delay=0))
    create(db, synthetic_config("b", max_attempts=2, initial_delay=0))
    stale = run_now(db, "a", requested_by="t")
    fresh = run_now(db, "b", requested_by="t")
    dispatch.claim(db, worker_id="w", limit=2)
    with db.read() as session:
        now = database_now(session)
    with db.write() as session:  # one lease ran out 31 s ago by the database's clock
        session.execute(
            update(JobExecutionRow)
            .where(JobExecutionRow.id == stale.id)
            .values(heartbeat_at=now - timedelta(seconds=31))
        )
    assert leases.rescue(db, lease_seconds=30) == [stale.id]
    assert get_execution(db, fresh.id).status == "running"


def test_a_heartbeat_leaves_out_runs_taken_over_by_another_sidecar(db):
    create(db, synthetic_config("a", max_attempts=3, initial_delay=0))
    create(db, synthetic_config("b"))
    taken = run_now(db, "a", requested_by="t")
    kept = run_now(db, "b", requested_by="t")
    runs = dispatch.claim(db, worker_id="paused", limit=2)
    later = utcnow() + timedelta(minutes=5)
    assert leases.rescue(db, lease_seconds=30, at=later) == [taken.id, kept.id]
    # The other sidecar claims attempt 2 of "a"; "b" waits for its next attempt.
    (again,) = dispatch.claim(db, worker_id="other", limit=1, at=later)
    assert (again.execution_id, again.attempt) == (taken.id, 2)
    running = [(run.execution_id, run.attempt) for run in runs]
    assert leases.heartbeat(db, worker_id="paused", running=running) == set()
    assert leases.heartbeat(db, worker_id="other", running=[(taken.id, 2)]) == {(taken.id, 2)}
