"""ACME's job types, tested with grove-jobs' test kit (no database, no sidecar)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from grove_jobs.testing import run_job

TICK = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)


def test_export_processes_the_days_before_its_tick() -> None:
    outcome = run_job("acme-export", {"bucket": "reports", "days": 2}, scheduled_for=TICK)
    assert outcome.status == "success"
    assert outcome.result.data["days"] == ["2026-03-08", "2026-03-09"]
    assert "exported 2026-03-09 to reports" in outcome.messages
    assert outcome.progress[-1] == (2, 2)


def test_export_interval_follows_the_cron() -> None:
    outcome = run_job("acme-export", {"bucket": "reports"}, scheduled_for=TICK, cron="0 2 * * *")
    assert outcome.status == "success"


def test_bad_parameters_are_refused_by_the_model() -> None:
    with pytest.raises(ValidationError, match="bucket"):
        run_job("acme-export", {"bucket": "x"})


def test_a_missing_bucket_is_a_permanent_error() -> None:
    outcome = run_job("acme-export", {"bucket": "missing-eu"}, catch=True)
    assert outcome.status == "failed" and outcome.error_kind == "permanent"
    assert "does not exist" in outcome.error


def test_exceptions_propagate_without_catch() -> None:
    with pytest.raises(Exception, match="does not exist"):
        run_job("acme-export", {"bucket": "missing-eu"})


def test_cancellation_stops_the_export() -> None:
    cancel = threading.Event()
    cancel.set()
    outcome = run_job("acme-export", {"bucket": "reports", "days": 3}, cancel=cancel)
    assert outcome.status == "cancelled" and outcome.logs == []


def test_reconcile_takes_its_defaults_and_enums() -> None:
    outcome = run_job("acme-reconcile", {"regions": ["eu", "apac"]}, batch_size=10)
    assert outcome.status == "success"
    assert outcome.result.items_processed == 20
    assert "apac: 10 rows reconciled (strict)" in outcome.messages
