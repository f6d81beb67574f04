"""A real sidecar evaluates alert rules and POSTs to a webhook that fails before it accepts."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from grove_jobs.alerts import store
from grove_jobs.alerts.rules import CONSECUTIVE_FAILURES, Finding
from grove_jobs.clock import utcnow
from grove_jobs.engine.enqueue import run_now
from tests.factories import create, synthetic_config
from tests.reliability.conftest import wait_for
from tests.webhook import serve

pytestmark = pytest.mark.slow
TERMINAL = {"success", "failed"}


def _wait_for_bodies(receiver, count: int, timeout: float = 20.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while len(receiver.bodies) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"webhook got {receiver.bodies}")
        time.sleep(0.1)
    return receiver.bodies


def test_sidecar_opens_then_resolves_an_incident_with_one_webhook_each(db, start_sidecar):
    data = synthetic_config("alerting", fail_first=1, max_attempts=1)
    data["payload"]["alerts"] = {"consecutiveFailures": 1}
    create(db, data)
    with serve(failures=1) as receiver:
        start_sidecar(GROVE_WEBHOOK_URL=receiver.url, GROVE_ALERT_INTERVAL_SECONDS="0.5")
        failed = run_now(db, "alerting", requested_by="t")
        assert wait_for(db, failed.id, TERMINAL).status == "failed"
        # One failed POST (500), retried: two requests, one "opened" event.
        bodies = _wait_for_bodies(receiver, 2)
        assert [b["event"] for b in bodies] == ["opened", "opened"]
        (incident,) = store.open_incidents(db, "alerting")
        # A run that succeeds resolves it.
        ok = run_now(
            db,
            "alerting",
            requested_by="t",
            request_id="second",
            parameter_overrides={"failFirstAttempts": 0},
        )
        assert ok.id != failed.id
        wait_for(db, ok.id, TERMINAL)
        bodies = _wait_for_bodies(receiver, 3)
        assert bodies[2]["event"] == "resolved"
        assert bodies[2]["incident"]["id"] == incident.id
        time.sleep(1.5)  # a few more passes: nothing more is sent
        assert len(receiver.bodies) == 3
        assert store.open_incidents(db) == []


def test_sidecar_sends_a_notification_whose_sender_died(db, start_sidecar):
    create(db, synthetic_config("orphaned"))
    # Written by a sidecar that died before sending it: its lease has run out.
    written = utcnow() - store.DELIVERY_LEASE - timedelta(seconds=1)
    finding = Finding(CONSECUTIVE_FAILURES, "3 runs in a row failed")
    message = store.open_incident(db, "orphaned", finding, written)
    assert message is not None
    with serve() as receiver:
        start_sidecar(GROVE_WEBHOOK_URL=receiver.url, GROVE_ALERT_INTERVAL_SECONDS="0.5")
        (body,) = _wait_for_bodies(receiver, 1)
        assert (body["event"], body["incident"]["configId"]) == ("opened", "orphaned")
        time.sleep(1.5)  # a few more passes: sent once
        assert len(receiver.bodies) == 1
