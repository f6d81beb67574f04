"""Incremental alert passes on SQLite and PostgreSQL: a pass looks only at configs whose rules
can have changed, and still notices what time alone makes overdue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from grove_jobs.alerts import rules
from grove_jobs.alerts.incremental import IncrementalEvaluator
from grove_jobs.configs.store import update_config
from grove_jobs.db.tables import JobConfigRow
from grove_jobs.schema.grove_object import parse_grove_object
from tests.factories import create, past_execution, synthetic_config

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


def _quiet(db, config_id: str, *, at=T0, **alerts) -> dict:
    data = synthetic_config(config_id)  # not enabled: no schedule to miss
    data["payload"]["alerts"] = {"consecutiveFailures": 2, "slowRunFactor": 0, **alerts}
    create(db, data, at=at)
    return data


def test_a_pass_looks_only_at_configs_with_news(db):
    for n in range(6):
        _quiet(db, f"c{n}")
    evaluator = IncrementalEvaluator(db)
    assert evaluator.run(T0 + 2 * MIN).configs == 6  # the first pass is full
    assert evaluator.run(T0 + 4 * MIN).configs == 0
    news = T0 + 3.5 * MIN
    past_execution(db, "c1", "failed", news)
    past_execution(db, "c2", "success", news)
    past_execution(db, "c3", "running", news)
    assert evaluator.run(T0 + 5 * MIN).configs == 3  # two finished, one running
    assert evaluator.run(T0 + 7 * MIN).configs == 1  # older than the overlap: c3 runs on
    past_execution(db, "c1", "failed", T0 + 7.5 * MIN)
    opened = evaluator.run(T0 + 8 * MIN)
    assert (opened.opened, opened.configs) == (1, 2)
    # An open incident is looked at on every pass, until it resolves.
    assert evaluator.run(T0 + 11 * MIN).configs == 2
    past_execution(db, "c1", "success", T0 + 12 * MIN)
    assert evaluator.run(T0 + 13 * MIN).resolved == 1


def test_a_saved_config_is_looked_at_again(db):
    data = _quiet(db, "edited")
    past_execution(db, "edited", "failed", T0)
    evaluator = IncrementalEvaluator(db)
    assert evaluator.run(T0 + 5 * MIN).opened == 0  # threshold 2, one failure
    data["payload"]["alerts"]["consecutiveFailures"] = 1
    saved = T0 + 9 * MIN
    update_config(
        db, parse_grove_object(data), expected_version=None, actor="t", source="cli", at=saved
    )
    assert evaluator.run(T0 + 10 * MIN).opened == 1


def test_time_alone_makes_a_missed_schedule_fire(db):
    data = synthetic_config("nightly", cron="0 2 * * *", enabled=True)
    data["payload"]["alerts"] = {"missedScheduleGraceSeconds": 600}
    create(db, data, at=T0)
    with db.read() as session:
        due = session.scalar(select(JobConfigRow.next_run_at).where(JobConfigRow.id == "nightly"))
    evaluator = IncrementalEvaluator(db, full_pass_every=timedelta(days=30))
    assert evaluator.run(T0 + 2 * MIN).configs == 1
    assert evaluator.run(due).configs == 0  # nothing new, nothing due yet
    assert evaluator.run(due + timedelta(seconds=599)).configs == 0
    fired = evaluator.run(due + timedelta(seconds=601))
    assert (fired.configs, fired.opened) == (1, 1)
    assert [m.payload["incident"]["rule"] for m in fired.messages] == [rules.MISSED_SCHEDULE]


def test_a_full_pass_comes_round_again(db):
    _quiet(db, "a")
    _quiet(db, "b")
    evaluator = IncrementalEvaluator(db, full_pass_every=timedelta(minutes=10))
    assert evaluator.run(T0 + 2 * MIN).configs == 2
    assert evaluator.run(T0 + 5 * MIN).configs == 0
    assert evaluator.run(T0 + 12 * MIN).configs == 2
    assert evaluator.run(T0 + 5 * MIN).configs == 2  # the clock went back: start over
