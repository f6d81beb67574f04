"""/api/alerts: open incidents by default, resolved or all on request, per job."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from grove_jobs.alerts import store as alert_store
from grove_jobs.alerts.rules import CONSECUTIVE_FAILURES, MISSED_SCHEDULE, Finding, OpenIncident
from grove_jobs.db.engine import Database
from tests.integration.test_api_support import ApiClient, make_token, seeded_app

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
JOB = "mock-health-check"


def _incidents(db: Database) -> None:
    """One resolved missed-schedule incident, then an open consecutive-failures one."""
    missed = Finding(MISSED_SCHEDULE, "no run within 60s of 11:00")
    assert alert_store.open_incident(db, JOB, missed, T0) is not None
    (row,) = alert_store.open_incidents(db, JOB)
    incident = OpenIncident(row.id, row.rule, row.details, row.opened_at, row.execution_id)
    alert_store.resolve_incident(db, JOB, incident, T0 + timedelta(minutes=1))
    failing = Finding(CONSECUTIVE_FAILURES, "3 runs in a row failed", execution_id=7)
    assert alert_store.open_incident(db, JOB, failing, T0 + timedelta(minutes=2)) is not None


def test_open_incidents_by_default_then_resolved_and_all(db: Database) -> None:
    client = ApiClient(seeded_app(db), make_token(db, "read"))
    _incidents(db)
    response = client.get("/api/alerts")
    assert response.status_code == 200
    (open_one,) = response.json()["items"]
    assert open_one["configId"] == JOB
    assert (open_one["rule"], open_one["ruleLabel"]) == (CONSECUTIVE_FAILURES, "Failing repeatedly")
    assert open_one["summary"] == "3 runs in a row failed"
    assert (open_one["openedAt"], open_one["resolvedAt"]) == ("2026-11-28T12:02:00Z", None)
    assert open_one["executionId"] == 7
    (resolved,) = client.get("/api/alerts", params={"state": "resolved"}).json()["items"]
    assert (resolved["rule"], resolved["resolvedAt"]) == (MISSED_SCHEDULE, "2026-11-28T12:01:00Z")
    every = client.get("/api/alerts", params={"state": "all", "job": JOB}).json()["items"]
    assert [a["rule"] for a in every] == [CONSECUTIVE_FAILURES, MISSED_SCHEDULE]  # newest first
    assert len(client.get("/api/alerts", params={"state": "all", "limit": 1}).json()["items"]) == 1


def test_bad_filters_are_refused_by_field(db: Database) -> None:
    client = ApiClient(seeded_app(db), make_token(db, "read"))
    assert client.get("/api/alerts", params={"job": "no-such-job"}).status_code == 404
    response = client.get("/api/alerts", params={"state": "closed"})
    assert response.status_code == 422
    assert [e["path"] for e in response.json()["detail"]] == ["query.state"]
    assert client.get("/api/alerts", params={"limit": 0}).status_code == 422
