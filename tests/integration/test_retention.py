"""History retention on SQLite and PostgreSQL: counts, ages and the rows never to delete."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from grove_jobs.db.tables import ExecutionLogRow, JobExecutionRow
from grove_jobs.engine.prune import prune
from tests.factories import create, past_execution, synthetic_config

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def _config(db, config_id, keep_last=1000, keep_days=90):
    data = synthetic_config(config_id)
    data["payload"]["retention"] = {"keepLast": keep_last, "keepDays": keep_days}
    create(db, data)


def _runs(db, config_id, ages_days, status="success"):
    """Insert executions queued ``age`` days before NOW, oldest first; returns their ids."""
    return [
        past_execution(db, config_id, status, NOW - timedelta(days=age), logs=1, scheduled=True)
        for age in sorted(ages_days, reverse=True)
    ]


def _left(db, config_id):
    with db.read() as session:
        return list(
            session.scalars(
                select(JobExecutionRow.id)
                .where(JobExecutionRow.config_id == config_id)
                .order_by(JobExecutionRow.id)
            )
        )


def test_keep_last_n(db):
    _config(db, "n", keep_last=3)
    ids = _runs(db, "n", [5, 4, 3, 2, 1])
    assert prune(db, at=NOW).deleted == 2
    assert _left(db, "n") == ids[-3:]
    with db.read() as session:  # their log lines went with them
        assert session.scalar(select(func.count()).select_from(ExecutionLogRow)) == 3


def test_keep_days(db):
    _config(db, "d", keep_days=7)
    ids = _runs(db, "d", [30, 10, 8, 6, 1])
    prune(db, at=NOW)
    assert _left(db, "d") == ids[-2:]


def test_the_newest_run_is_kept_however_old(db):
    _config(db, "weekly", keep_days=1)
    ids = _runs(db, "weekly", [400, 300, 200])
    prune(db, at=NOW)
    assert _left(db, "weekly") == ids[-1:]


def test_active_runs_are_never_deleted(db):
    _config(db, "busy", keep_last=1, keep_days=1)
    old_running = _runs(db, "busy", [50], status="running")
    old_retrying = _runs(db, "busy", [40], status="retrying")
    done = _runs(db, "busy", [30, 20])
    prune(db, at=NOW)
    assert _left(db, "busy") == old_running + old_retrying + done[-1:]


def test_pruning_is_batched_and_resumes(db):
    _config(db, "many", keep_last=1)
    ids = _runs(db, "many", list(range(25, 0, -1)))
    first = prune(db, at=NOW, batch_size=5, max_batches=2)
    assert first.deleted == 10
    assert prune(db, at=NOW, batch_size=5, max_batches=10).deleted == 14
    assert _left(db, "many") == ids[-1:]


def test_configs_within_retention_are_untouched(db):
    _config(db, "fine")
    ids = _runs(db, "fine", [3, 2, 1])
    assert prune(db, at=NOW).deleted == 0
    assert _left(db, "fine") == ids
