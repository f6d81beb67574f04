"""/healthz and /metrics: database reachability, last tick, schedule lag, Prometheus text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from grove_jobs.clock import utcnow
from grove_jobs.db.engine import Database
from grove_jobs.db.tables import JobConfigRow, SchedulerNodeRow
from grove_jobs.engine.enqueue import cancel_execution, run_now
from scheduler.api.app import create_app
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
    cluster = _parse(ApiClient(app).get("/metrics/cluster").text)
    assert cluster["grove_last_tick_timestamp_seconds"] == (NOW - timedelta(seconds=3)).timestamp()


def test_unreachable_database_is_503() -> None:
    db = Database("postgresql+psycopg://nobody@127.0.0.1:1/none")
    app = create_app(db, api_settings(db))
    try:
        response = ApiClient(app).get("/healthz")
        assert response.status_code == 503
        assert response.json()["database"] == "unreachable"
        metrics = ApiClient(app).get("/metrics/cluster")
        assert metrics.status_code == 200
        assert _parse(metrics.text) == {"grove_database_up": 0}
    finally:
        db.dispose()


def _parse(text: str) -> dict[str, float]:
    """Samples by ``name{labels}``, read with prometheus_client's own parser."""
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return samples


def test_cluster_metrics_are_database_wide_gauges(db: Database) -> None:
    app = _app(db, FakeSidecar(NOW - timedelta(seconds=2), 7.5))
    _overdue(db, 10)
    first = run_now(db, "mock-health-check", requested_by="t", request_id="1")
    run_now(db, "mock-health-check", requested_by="t", request_id="2")
    cancel_execution(db, first.id, requested_by="t")
    response = ApiClient(app).get("/metrics/cluster")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    samples = _parse(response.text)
    assert samples["grove_database_up"] == 1
    assert samples['grove_runs{status="queued"}'] == 1
    assert samples['grove_runs{status="cancelled"}'] == 1
    assert samples['grove_runs{status="success"}'] == 0
    assert samples["grove_queue_depth"] == 1
    assert samples["grove_cluster_schedule_lag_seconds"] == 10
    # Per-config series are opt-in (GROVE_METRICS_PER_CONFIG=1): unbounded cardinality.
    assert not any(name.startswith("grove_config_runs") for name in samples)
    for family in text_string_to_metric_families(response.text):
        assert family.type == "gauge", family.name


def test_per_config_series_are_opt_in(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    app = _app(db)
    run_now(db, "mock-health-check", requested_by="t", request_id="1")
    monkeypatch.setenv("GROVE_METRICS_PER_CONFIG", "1")
    samples = _parse(ApiClient(app).get("/metrics/cluster").text)
    assert samples['grove_config_runs{config_id="mock-health-check",status="queued"}'] == 1


def test_process_metrics_come_from_the_library(db: Database) -> None:
    response = ApiClient(_app(db)).get("/metrics")
    assert response.status_code == 200
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    assert families["grove_attempt_duration_seconds"].type == "histogram"
    assert families["grove_claim_latency_seconds"].type == "histogram"
    assert families["grove_tick_duration_seconds"].type == "histogram"
    assert "process_cpu_seconds" in families or "python_info" in families
    # The database-wide gauges are not repeated by every process.
    assert "grove_runs" not in families and "grove_queue_depth" not in families
