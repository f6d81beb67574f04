"""The Runs page's queries, bulk actions and alert acknowledgement on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from grove_jobs.alerts.acks import acknowledge_incident
from grove_jobs.alerts.rules import Finding, OpenIncident
from grove_jobs.alerts.store import open_incident, open_incidents, resolve_incident
from grove_jobs.alerts.tables import AlertIncidentRow
from grove_jobs.db.tables import ExecutionLogRow
from grove_jobs.exceptions import GroveError
from grove_jobs.executions.bulk import cancel_runs, retry_runs
from grove_jobs.executions.queries import get_execution
from grove_jobs.executions.runs import RunFilter, list_runs
from tests.factories import create, past_execution, synthetic_config

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def history(db):
    """Two jobs of different types with runs an hour apart, oldest first; returns the ids."""
    create(db, synthetic_config("alpha"))
    beta = synthetic_config("beta")
    beta["payload"]["jobType"] = "health-check"
    beta["payload"]["parameters"] = {"jobType": "health-check", "checks": ["database"]}
    create(db, beta)
    ids = {}
    for hours in range(30, 0, -1):
        config = "alpha" if hours % 2 else "beta"
        status = "failed" if hours % 5 == 0 else "success"
        ids[hours] = past_execution(db, config, status, NOW - timedelta(hours=hours))
    return ids


def test_newest_first_keyset_pages_cover_every_run_once(db, history) -> None:
    seen, before = [], None
    while True:
        page = list_runs(db, RunFilter(), limit=7, before_id=before)
        seen += [run.id for run in page.items]
        if page.next_before_id is None:
            break
        before = page.next_before_id
    assert seen == sorted(history.values(), reverse=True)
    assert page.count == 30 and not page.capped


def test_filters_combine(db, history) -> None:
    window = RunFilter(since=NOW - timedelta(hours=10, minutes=30))
    assert [r.id for r in list_runs(db, window).items] == [history[h] for h in range(1, 11)]
    failed_alpha = RunFilter(statuses=("failed",), config_ids=("alpha",))
    newest_first = [history[5], history[15], history[25]]
    assert [r.id for r in list_runs(db, failed_alpha).items] == newest_first
    health = RunFilter(job_types=("health-check",), since=NOW - timedelta(hours=4, minutes=30))
    assert [r.job_config_id for r in list_runs(db, health).items] == ["beta", "beta"]
    assert list_runs(db, RunFilter(text=f"#{history[3]}")).count == 1
    assert list_runs(db, RunFilter(text="ALPHA")).count == 15
    assert list_runs(db, RunFilter(text="50%_")).count == 0  # LIKE wildcards are literal
    future = RunFilter(since=NOW + timedelta(hours=1))
    assert list_runs(db, future).items == []
    assert list_runs(db, RunFilter(job_types=("command",))).count == 0


def test_bulk_retry_and_cancel_recheck_each_run_and_audit_it(db, history) -> None:
    failed, succeeded = history[5], history[4]
    queued = past_execution(db, "alpha", "queued", NOW)
    retried = retry_runs(db, [failed, queued], actor="ops@example.com", request_prefix="t1")
    assert set(retried.done) == {failed} and set(retried.refused) == {queued}
    again = retry_runs(db, [failed], actor="ops@example.com", request_prefix="t1")
    assert again.done == retried.done  # the same click retries once
    cancelled = cancel_runs(db, [queued, succeeded], actor="ops@example.com")
    assert cancelled.done == {queued: "cancelled"} and set(cancelled.refused) == {succeeded}
    assert get_execution(db, succeeded).status == "success"
    with db.read() as session:
        lines = session.scalars(
            select(ExecutionLogRow.message).where(ExecutionLogRow.execution_id == failed)
        ).all()
    assert any("retried by ops@example.com (bulk action)" in line for line in lines)


def test_acknowledging_records_who_and_silences_nothing(db, history) -> None:
    finding = Finding("consecutive_failures", "3 failed", execution_id=history[5])
    open_incident(db, "alpha", finding, NOW, deliverable=False)
    [incident] = open_incidents(db, "alpha")
    ack = acknowledge_incident(db, incident.id, actor="ana@example.com", at=NOW)
    later = acknowledge_incident(db, incident.id, actor="bo@example.com")
    assert (later.by, later.at) == ("ana@example.com", NOW) == (ack.by, ack.at)
    opened = OpenIncident(incident.id, incident.rule, incident.details, incident.opened_at, None)
    assert resolve_incident(db, "alpha", opened, NOW, deliverable=False) is not None
    with pytest.raises(GroveError, match="resolved"):
        acknowledge_incident(db, incident.id, actor="ana@example.com")
    with db.read() as session:
        assert session.get(AlertIncidentRow, incident.id).acknowledged_by == "ana@example.com"
