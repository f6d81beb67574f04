"""/healthz and /metrics: database reachability, last tick, schedule lag, Prometheus text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from fastapi import FastAPI
from sqlalchemy import update

from grove_jobs.clock import utcnow
from grove_jobs.db.engine import Database
from grove_jobs.db.tables import JobConfigRow, SchedulerNodeRow
from grove_jobs.engine.enqueue import cancel_execution, run_now
from scheduler.api.app import create_app
from scheduler.api.endpoints.ops import _sample
from tests.integration.test_api_support import (
    ApiClient,
    api_settings,
    mock_config,
    store,
)

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=utcnow().tzinfo)


@dataclass
class FakeSidecar:
    last_tick_at: datetime | None
    last_tick_ms: float | None = 4.2


def _app(db: Database, sidecar: FakeSidecar | None = None) -> FastAPI:
    store(db, mock_config())
    app = create_app(db, api_settings(db), sidecar)
    app.state.grove.clock = lambda: NOW
    return app


def _overdue(db: Database, seconds: float) -> None:
    with db.write() as session:
        session.execute(update(JobConfigRow).values(next_run_at=NOW - timedelta(seconds=seconds)))


def test_healthz_reports_lag_of_the_most_overdue_schedule(db: Database) -> None:
    app = _app(db, FakeSidecar(NOW - timedelta(seconds=1)))
    _overdue(db, 42.5)
    response = ApiClient(app).get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["scheduleLagSeconds"] == 42.5
    assert body["lastTickAgeSeconds"] == 1.0
    assert body["lastTickAt"] == "2026-11-28T11:59:59Z"


def test_no_overdue_schedule_means_zero_lag(db: Database) -> None:
    app = _app(db)
    with db.write() as session:
        session.execute(update(JobConfigRow).values(next_run_at=NOW + timedelta(minutes=3)))
    assert ApiClient(app).get("/healthz").json()["scheduleLagSeconds"] == 0


@pytest.mark.parametrize("tick", [None, NOW - timedelta(minutes=5)])
def test_a_stalled_or_unstarted_sidecar_is_503(db: Database, tick: datetime | None) -> None:
    response = ApiClient(_app(db, FakeSidecar(tick))).get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["problems"]


def test_api_alone_reads_the_tick_from_the_node_table(db: Database) -> None:
    app = _app(db)
    with db.write() as session:
        session.add(
            SchedulerNodeRow(
                id="n1",
                hostname="h",
                pid=1,
                started_at=NOW,
                heartbeat_at=NOW,
                last_tick_at=NOW - timedelta(seconds=3),
                last_tick_ms=12.0,
            )
        )
    response = ApiClient(app).get("/healthz")
    assert response.status_code == 200
    assert response.json()["lastTickAgeSeconds"] == 3.0
    assert "grove_tick_duration_seconds 0.012" in ApiClient(app).get("/metrics").text


def test_unreachable_database_is_503() -> None:
    db = Database("postgresql+psycopg://nobody@127.0.0.1:1/none")
    app = create_app(db, api_settings(db))
    try:
        response = ApiClient(app).get("/healthz")
        assert response.status_code == 503
        assert response.json()["database"] == "unreachable"
        metrics = ApiClient(app).get("/metrics")
        assert metrics.status_code == 200
        assert "grove_database_up 0" in metrics.text
    finally:
        db.dispose()


def _parse(text: str) -> dict[str, float]:
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def test_metrics_exposition(db: Database) -> None:
    app = _app(db, FakeSidecar(NOW - timedelta(seconds=2), 7.5))
    _overdue(db, 10)
    first = run_now(db, "mock-health-check", requested_by="t", request_id="1")
    run_now(db, "mock-health-check", requested_by="t", request_id="2")
    cancel_execution(db, first.id, requested_by="t")
    response = ApiClient(app).get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = _parse(response.text)
    assert samples['grove_executions{status="queued"}'] == 1
    assert samples['grove_executions{status="cancelled"}'] == 1
    assert samples['grove_executions{status="success"}'] == 0
    assert samples["grove_queue_depth"] == 1
    assert samples["grove_schedule_lag_seconds"] == 10
    assert samples["grove_tick_duration_seconds"] == 0.0075
    assert samples["grove_last_tick_timestamp_seconds"] == (NOW - timedelta(seconds=2)).timestamp()
    assert samples['grove_job_executions{job="mock-health-check",status="queued"}'] == 1
    for family in ("grove_executions", "grove_queue_depth", "grove_job_executions"):
        assert f"# TYPE {family} gauge" in response.text


def test_label_values_are_escaped() -> None:
    assert _sample("m", 1, {"job": 'a"b\\c\nd'}) == 'm{job="a\\"b\\\\c\\nd"} 1'
    assert _sample("m", 0.25) == "m 0.25"
