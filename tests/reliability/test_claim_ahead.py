"""Claiming ahead: while runs are short, a claim also takes the runs the busy slots will start
next, so one transaction serves two rounds; runs held too long go back to the queue unspent."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import insert, select

from grove_jobs.clock import utcnow
from grove_jobs.db.tables import JobExecutionRow
from grove_jobs.engine import leases
from grove_jobs.settings import Settings
from scheduler.claiming import AHEAD_HOLD_SECONDS
from scheduler.loop import Sidecar
from scheduler.pool import WorkerPool
from tests.factories import create, queued_rows, synthetic_config
from tests.reliability.conftest import wait_for

pytestmark = pytest.mark.slow
TERMINAL = {"success", "partial", "failed", "timed_out", "cancelled", "skipped"}


def _queue(db, config_id: str, count: int) -> list[int]:
    with db.write() as session:
        rows = session.execute(
            insert(JobExecutionRow).returning(JobExecutionRow.id),
            queued_rows([config_id] * count, utcnow()),
        )
        return sorted(rows.scalars())


def _runs(db) -> list[JobExecutionRow]:
    with db.read() as session:
        return list(session.scalars(select(JobExecutionRow).order_by(JobExecutionRow.id)))


def _largest_claim(runs: list[JobExecutionRow]) -> int:
    # A claim stamps every run it takes with the same started_at, its transaction's instant.
    return max(Counter(run.started_at for run in runs).values())


def test_short_runs_are_claimed_ahead_and_each_runs_once(db, start_sidecar):
    create(db, synthetic_config("quick", max_concurrent=16))
    ids = _queue(db, "quick", 120)
    start_sidecar(GROVE_WORKERS="2")
    for execution_id in ids:
        wait_for(db, execution_id, TERMINAL, timeout=60)
    runs = _runs(db)
    assert {(run.status, run.attempt, run.error) for run in runs} == {("success", 1, None)}
    assert _largest_claim(runs) > 2  # more than the idle slots: claimed ahead


def test_a_sidecar_told_not_to_claims_no_more_than_its_slots(db, start_sidecar):
    create(db, synthetic_config("quick", max_concurrent=16))
    ids = _queue(db, "quick", 60)
    start_sidecar(GROVE_WORKERS="2", GROVE_CLAIM_AHEAD="false")
    for execution_id in ids:
        wait_for(db, execution_id, TERMINAL, timeout=60)
    runs = _runs(db)
    assert {run.status for run in runs} == {"success"}
    assert _largest_claim(runs) <= 2


def test_long_runs_are_never_claimed_ahead(db, start_sidecar):
    create(db, synthetic_config("slow", items=1, duration=0.2, max_concurrent=16))
    ids = _queue(db, "slow", 8)
    start_sidecar(GROVE_WORKERS="2")
    for execution_id in ids:
        wait_for(db, execution_id, TERMINAL, timeout=60)
    runs = _runs(db)
    assert {run.status for run in runs} == {"success"}
    assert _largest_claim(runs) <= 2


@pytest.fixture
def sidecar(db):
    """A sidecar object on the test's database with one real worker; its dispatcher is
    driven step by step by the test."""
    settings = Settings(database_url=db.url, workers=1)  # type: ignore[arg-type]
    sidecar = Sidecar(settings, db)
    sidecar.pool = WorkerPool(1, db.url)
    yield sidecar
    sidecar.pool.close()


def _claim_after_a_short_run(sidecar) -> list[int]:
    sidecar._slowest_run = 0.001  # the last round's runs took a millisecond
    sidecar._flush_and_claim([], [], {})
    return [run.execution_id for run, _, _ in sidecar._ahead]


def test_a_run_claimed_ahead_starts_when_its_slot_frees(db, sidecar):
    create(db, synthetic_config("quick", max_concurrent=4))
    first, second, _ = _queue(db, "quick", 3)
    # One idle slot and one more round: two runs, the second held for the slot.
    assert _claim_after_a_short_run(sidecar) == [second]
    assert [run.status for run in _runs(db)] == ["running", "running", "queued"]
    (slot,) = sidecar.pool.slots
    assert slot.run.execution_id == first
    outcomes: list = []
    while slot.run is not None:
        assert slot.conn.poll(10), "the worker did not answer"
        sidecar._read_messages(slot, outcomes, [], {})
    sidecar._start_ahead()
    assert slot.run.execution_id == second and not sidecar._ahead
    assert [o.status for o in outcomes] == ["success"]


def test_runs_held_ahead_too_long_go_back_to_the_queue_unspent(db, sidecar):
    create(db, synthetic_config("quick", max_concurrent=4))
    first, second = _queue(db, "quick", 2)
    with db.read() as session:
        place = session.scalar(
            select(JobExecutionRow.run_after).where(JobExecutionRow.id == second)
        )
    assert _claim_after_a_short_run(sidecar) == [second]
    # The slot is still busy when the hold runs out (as if the sidecar had been paused since
    # the claim): the held run is handed back, not started.
    run, claimed_at, claim = sidecar._ahead[0]
    sidecar._ahead[0] = (run, claimed_at - AHEAD_HOLD_SECONDS, claim)
    sidecar._start_ahead()
    assert not sidecar._ahead and sidecar.pool.slots[0].run.execution_id == first
    held = _runs(db)[1]
    assert (held.status, held.attempt, held.worker_id, held.started_at, held.error) == (
        "queued",
        0,
        None,
        None,
        None,
    )
    assert held.run_after == place  # its place in the queue is kept


def test_release_unstarted_restores_a_retry_and_leaves_others_runs_alone(db):
    create(db, synthetic_config("quick", max_concurrent=4))
    mine, theirs = _queue(db, "quick", 2)
    with db.write() as session:
        for eid, worker in ((mine, "me"), (theirs, "them")):
            row = session.get(JobExecutionRow, eid)
            row.status, row.attempt, row.worker_id, row.started_at = "running", 2, worker, utcnow()
    assert leases.release_unstarted(db, worker_id="me", claimed=[(mine, 2), (theirs, 2)]) == 1
    released, untouched = _runs(db)
    assert (released.status, released.attempt, released.worker_id) == ("retrying", 1, None)
    assert released.started_at is not None  # the previous attempt's start stays
    assert (untouched.status, untouched.attempt, untouched.worker_id) == ("running", 2, "them")


def test_stopping_gives_runs_claimed_ahead_back_at_once(db, sidecar):
    create(db, synthetic_config("quick", max_concurrent=4))
    first, second = _queue(db, "quick", 2)
    assert _claim_after_a_short_run(sidecar) == [second]
    sidecar.stop()
    sidecar._dispatch()  # the dispatcher's own loop: it drains the busy slot, then returns
    first_run, held = _runs(db)
    assert (first_run.id, first_run.status) == (first, "success")
    assert (held.status, held.attempt, held.worker_id) == ("queued", 0, None)
