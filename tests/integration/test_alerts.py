"""Alert incidents on SQLite and PostgreSQL: each fires once and resolves once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from grove_jobs.alerts import rules, store
from grove_jobs.alerts.evaluate import evaluate_alerts
from grove_jobs.alerts.incremental import IncrementalEvaluator
from grove_jobs.alerts.rules import Finding
from grove_jobs.alerts.tables import AlertIncidentRow
from grove_jobs.db.tables import JobConfigRow
from grove_jobs.engine import dispatch
from grove_jobs.engine.dispatch import Outcome
from grove_jobs.engine.enqueue import run_now
from grove_jobs.notifications.tables import NotificationRow
from tests.factories import create, synthetic_config

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["full", "incremental"])
def evaluate(request, db):
    """An alert pass at an instant: every pass full, or the sidecar's incremental passes (the
    first one full), which must reach the same incidents."""
    if request.param == "full":
        return lambda at: evaluate_alerts(db, at=at)
    return IncrementalEvaluator(db).run


def _run(db, config_id: str, status: str, at: datetime, seconds: float = 1.0) -> None:
    """One Run Now execution that ends with ``status`` ``seconds`` after ``at``."""
    run_now(db, config_id, requested_by="t", at=at)
    (run,) = dispatch.claim(db, worker_id="w", limit=1, at=at)
    outcome = Outcome(run.execution_id, run.attempt, status, max_attempts=1, error="boom\nlast")
    end = at + timedelta(seconds=seconds)
    assert dispatch.complete(db, [outcome], [], {}, worker_id="w", at=end) == 1


def _outbox(db) -> list[NotificationRow]:
    with db.read() as session:
        rows = list(session.scalars(select(NotificationRow).order_by(NotificationRow.id)))
        session.expunge_all()
    return rows


def _config(db, config_id: str, **alerts) -> None:
    data = synthetic_config(config_id)
    data["payload"]["alerts"] = alerts
    create(db, data, at=T0)


def test_consecutive_failures_fire_once_and_resolve_once(db, evaluate):
    _config(db, "flaky", consecutiveFailures=2, slowRunFactor=0)
    _run(db, "flaky", "failed", T0)
    assert evaluate(T0 + timedelta(minutes=1)).messages == []
    _run(db, "flaky", "timed_out", T0 + timedelta(minutes=2))
    opened = evaluate(T0 + timedelta(minutes=3))
    assert (opened.opened, opened.resolved) == (1, 0)
    # Still failing: the incident is open, nothing new is sent.
    _run(db, "flaky", "failed", T0 + timedelta(minutes=4))
    assert evaluate(T0 + timedelta(minutes=5)).messages == []
    (incident,) = store.open_incidents(db, "flaky")
    assert incident.rule == rules.CONSECUTIVE_FAILURES
    assert incident.details["lastError"] == "last"
    _run(db, "flaky", "success", T0 + timedelta(minutes=6))
    closed = evaluate(T0 + timedelta(minutes=7))
    assert (closed.opened, closed.resolved) == (0, 1)
    assert evaluate(T0 + timedelta(minutes=8)).messages == []
    assert store.open_incidents(db) == []
    outbox = _outbox(db)
    assert [(n.kind, n.recipient, n.event_refs["event"]) for n in outbox] == [
        ("alert", "alerts", "opened"),
        ("alert", "alerts", "resolved"),
    ]
    # Written for people: the job, what happened, since when, the last error.
    assert outbox[0].subject == "flaky is failing"
    assert outbox[0].body.splitlines() == [
        "flaky is failing: 2 runs in a row failed (threshold 2).",
        "Since: 2026-03-01 12:00:01 UTC",  # when the first failure of the streak ended
        "Last error: last",
    ]
    assert outbox[1].subject == "Resolved: flaky is failing"
    assert outbox[1].body.splitlines() == [
        "flaky is back to normal.",
        "It is failing from 2026-03-01 12:03:00 UTC to 2026-03-01 12:07:00 UTC (4 min 00 s).",
    ]
    # A new streak is a new incident.
    for minute in (9, 10):
        _run(db, "flaky", "failed", T0 + timedelta(minutes=minute))
    assert evaluate(T0 + timedelta(minutes=11)).opened == 1
    with db.read() as session:
        assert len(session.scalars(select(AlertIncidentRow)).all()) == 2


def test_a_second_opener_is_a_no_op(db):
    # Two sidecars evaluating at once: the partial unique index lets exactly one open it.
    _config(db, "twice")
    finding = Finding(rules.CONSECUTIVE_FAILURES, "3 runs in a row failed")
    assert store.open_incident(db, "twice", finding, T0) is not None
    assert store.open_incident(db, "twice", finding, T0) is None
    (incident,) = store.open_by_config(db)["twice"]
    assert store.resolve_incident(db, "twice", incident, T0) is not None
    assert store.resolve_incident(db, "twice", incident, T0) is None
    assert len(_outbox(db)) == 2


def test_slow_run_fires_while_it_runs_and_resolves_after_a_success(db, evaluate):
    _config(db, "slow", consecutiveFailures=0, slowRunFactor=3)
    for minute in range(5):
        _run(db, "slow", "success", T0 + timedelta(minutes=minute), seconds=10)
    start = T0 + timedelta(minutes=10)
    run_now(db, "slow", requested_by="t", at=start)
    (run,) = dispatch.claim(db, worker_id="w", limit=1, at=start)
    assert evaluate(start + timedelta(seconds=29)).messages == []
    assert evaluate(start + timedelta(seconds=31)).opened == 1
    assert evaluate(start + timedelta(seconds=60)).messages == []
    done = Outcome(run.execution_id, run.attempt, "success", max_attempts=1)
    dispatch.complete(db, [done], [], {}, worker_id="w", at=start + timedelta(seconds=70))
    assert evaluate(start + timedelta(seconds=75)).resolved == 1
    assert evaluate(start + timedelta(seconds=80)).messages == []


def test_missed_schedule_fires_when_no_sidecar_ticks(db, evaluate):
    data = synthetic_config("nightly", cron="0 2 * * *", enabled=True)
    data["payload"]["alerts"] = {"missedScheduleGraceSeconds": 600}
    create(db, data, at=T0)
    with db.read() as session:
        due = session.scalar(select(JobConfigRow.next_run_at).where(JobConfigRow.id == "nightly"))
    assert evaluate(due + timedelta(seconds=599)).messages == []
    assert evaluate(due + timedelta(seconds=601)).opened == 1
    assert evaluate(due + timedelta(seconds=900)).messages == []
    # A sidecar comes back and the schedule moves on: a success resolves it.
    with db.write() as session:
        session.execute(
            update(JobConfigRow)
            .where(JobConfigRow.id == "nightly")
            .values(next_run_at=due + timedelta(days=1))
        )
    _run(db, "nightly", "success", due + timedelta(seconds=950))
    assert evaluate(due + timedelta(seconds=1000)).resolved == 1
