"""Backfill, permanent errors and live-before-backfill claiming: the engine's rules on SQLite
and PostgreSQL, with an injected clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from grove_jobs.db.tables import ExecutionLogRow, JobConfigRow, JobExecutionRow, SchedulerNodeRow
from grove_jobs.engine import dispatch
from grove_jobs.engine.backfill import backfill
from grove_jobs.engine.dispatch import Outcome
from grove_jobs.engine.enqueue import retry_execution, run_now
from grove_jobs.engine.tick import tick
from grove_jobs.engine.unclaimable import fail_unclaimable
from grove_jobs.exceptions import ValidationFailed
from grove_jobs.executions.queries import get_execution
from tests.factories import create, synthetic_config
from tests.integration.test_engine import _executions

T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
DAILY = "0 2 * * *"


def _daily(db, config_id="daily", **kw):
    create(db, synthetic_config(config_id, cron=DAILY, **kw), at=T0)


def test_one_run_per_fire_time_in_the_half_open_range(db):
    _daily(db)
    result = backfill(db, "daily", "2026-03-01", "2026-03-04T02:00:00Z", requested_by="t", at=T0)
    assert [t.day for t in result.fire_times] == [1, 2, 3]  # the 4th at 02:00 is excluded
    rows = _executions(db, "daily")
    assert [(r.trigger, r.status, r.scheduled_for.day) for r in rows] == [
        ("backfill", "queued", 1),
        ("backfill", "queued", 2),
        ("backfill", "queued", 3),
    ]
    assert result.created == [r.id for r in rows] and result.existing == []


def test_running_it_twice_or_over_real_ticks_adds_nothing(db):
    _daily(db, enabled=True)
    tick(db, at=datetime(2026, 3, 11, 2, 0, tzinfo=UTC))  # a real tick for the 11th
    first = backfill(db, "daily", "2026-03-10", "2026-03-12", requested_by="t", at=T0)
    again = backfill(db, "daily", "2026-03-10", "2026-03-12", requested_by="t", at=T0)
    assert len(first.created) == 1 and len(first.existing) == 1
    assert again.created == [] and sorted(again.existing) == sorted(first.created + first.existing)
    assert len(_executions(db, "daily")) == 2


def test_a_skipped_tick_is_run(db):
    _daily(db, enabled=True, misfire="skip", grace=60)
    # No sidecar for two days: the missed ticks are recorded skipped.
    tick(db, at=datetime(2026, 3, 12, 3, 0, tzinfo=UTC))
    skipped = [r for r in _executions(db, "daily") if r.status == "skipped"]
    assert skipped
    result = backfill(db, "daily", "2026-03-11", "2026-03-12", requested_by="ops", at=T0)
    assert result.created == [skipped[0].id]
    row = get_execution(db, skipped[0].id)
    assert (row.status, row.trigger, row.error) == ("queued", "backfill", None)
    with db.read() as session:
        note = session.scalar(
            select(ExecutionLogRow.message).where(ExecutionLogRow.execution_id == row.id)
        )
    assert "re-run by a backfill of ops" in note


def test_dates_are_local_midnight_in_the_configs_zone(db):
    _daily(db, timezone="America/New_York")
    result = backfill(db, "daily", "2026-03-07", "2026-03-09", dry_run=True, requested_by="t")
    # 02:00 New York on the 7th (EST) and the 8th, a spring-forward day: 02:00 does not exist,
    # so that tick fires at the first instant after the gap (03:00 EDT = 07:00 UTC).
    assert result.fire_times == [
        datetime(2026, 3, 7, 7, 0, tzinfo=UTC),
        datetime(2026, 3, 8, 7, 0, tzinfo=UTC),
    ]
    assert _executions(db, "daily") == []  # dry run


@pytest.mark.parametrize(
    ("start", "end", "path"),
    [
        ("yesterday", "2026-03-02", "from"),
        ("2026-03-01T00:00:00", "2026-03-02", "from"),  # no offset
        ("2026-03-05", "2026-03-01", "to"),
        ("2020-01-01", "2026-01-01", "max"),  # more than 1,000 fire times
    ],
)
def test_bad_ranges_are_refused_by_field_and_write_nothing(db, start, end, path):
    _daily(db)
    with pytest.raises(ValidationFailed) as caught:
        backfill(db, "daily", start, end, requested_by="t", at=T0)
    assert [e.path for e in caught.value.errors] == [path]
    assert _executions(db, "daily") == []


def _claim(db, at, limit=4, job_types=None):
    return dispatch.claim(db, worker_id="w", limit=limit, at=at, job_types=job_types)


def test_live_runs_are_claimed_before_backfill_runs_and_never_wait_for_them(db):
    _daily(db, max_concurrent=1)
    backfill(db, "daily", "2026-03-01", "2026-03-08", requested_by="t", at=T0)
    first = _claim(db, T0 + timedelta(seconds=1), limit=1)
    assert first[0].trigger == "backfill" and first[0].scheduled_for.day == 1  # oldest first
    # A backfill run holds the only slot; a Run Now still starts...
    live = run_now(db, "daily", requested_by="t", at=T0 + timedelta(seconds=2))
    claimed = _claim(db, T0 + timedelta(seconds=3))
    assert [r.execution_id for r in claimed] == [live.id]
    # ...but the next backfill run waits for its turn.
    assert _claim(db, T0 + timedelta(seconds=4)) == []


def test_backfill_runs_fill_the_slots_a_live_backlog_at_its_limit_leaves(db):
    _daily(db, max_concurrent=2)
    backfill(db, "daily", "2026-03-01", "2026-03-03", requested_by="t", at=T0)
    create(db, synthetic_config("busy", max_concurrent=1), at=T0)
    for n in range(10):  # more live runs than the claim wants, all of one config at its limit
        run_now(db, "busy", requested_by="t", request_id=f"r{n}", at=T0)
    claimed = _claim(db, T0 + timedelta(seconds=1))
    assert sorted(r.trigger for r in claimed) == ["backfill", "backfill", "manual"]


def test_backfill_runs_do_not_make_a_live_tick_skip(db):
    _daily(db, enabled=True, max_concurrent=1)
    backfill(db, "daily", "2026-03-01", "2026-03-05", requested_by="t", at=T0)
    result = tick(db, at=datetime(2026, 3, 11, 2, 0, tzinfo=UTC))
    assert (result.queued, result.skipped) == (1, 0)


def test_permanent_failure_is_not_retried(db):
    create(db, synthetic_config("p", max_attempts=3), at=T0)
    run = run_now(db, "p", requested_by="t", at=T0)
    (claimed,) = _claim(db, T0)
    outcome = Outcome(
        run.id, claimed.attempt, "failed", error="boom", max_attempts=3, error_kind="permanent"
    )
    dispatch.complete(db, [outcome], [], {}, worker_id="w", at=T0)
    row = get_execution(db, run.id)
    assert (row.status, row.attempt, row.error_kind) == ("failed", 1, "permanent")


def test_a_retry_keeps_the_runs_logical_time(db):
    _daily(db)
    (eid,) = backfill(db, "daily", "2026-03-01", "2026-03-02", requested_by="t", at=T0).created
    with db.write() as session:
        session.execute(
            update(JobExecutionRow).where(JobExecutionRow.id == eid).values(status="failed")
        )
    again = retry_execution(db, eid, requested_by="t", at=T0)
    assert again.trigger == "retry"
    assert again.scheduled_for == datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
    (claimed,) = _claim(db, T0)
    assert claimed.scheduled_for == again.scheduled_for and claimed.cron_expression == DAILY


def test_claims_take_only_the_types_a_sidecar_has(db):
    create(db, synthetic_config("s"), at=T0)
    run = run_now(db, "s", requested_by="t", at=T0)
    assert _claim(db, T0, job_types={"health-check"}) == []
    assert [r.execution_id for r in _claim(db, T0, job_types={"synthetic"})] == [run.id]


def test_runs_no_live_sidecar_can_take_fail_after_the_lease(db):
    create(db, synthetic_config("s"), at=T0)
    run = run_now(db, "s", requested_by="t", at=T0)
    with db.write() as session:
        session.add(
            SchedulerNodeRow(
                id="other",
                hostname="h",
                pid=1,
                started_at=T0,
                heartbeat_at=T0,
                job_types=["health-check"],
            )
        )
    assert fail_unclaimable(db, lease_seconds=30, at=T0 + timedelta(seconds=10)) == []
    assert fail_unclaimable(db, lease_seconds=30, at=T0 + timedelta(seconds=29)) == []
    with db.write() as session:  # the node heartbeats on; the run has waited a lease
        session.execute(update(SchedulerNodeRow).values(heartbeat_at=T0 + timedelta(seconds=40)))
    assert fail_unclaimable(db, lease_seconds=30, at=T0 + timedelta(seconds=45)) == [run.id]
    failed = get_execution(db, run.id)
    assert failed.status == "failed" and "'synthetic'" in failed.error
    with db.read() as session:
        assert session.get(JobConfigRow, "s") is not None  # the config itself stays
