"""Alert delivery to a real local webhook receiver that fails before it accepts."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from grove_jobs.alerts import rules, store
from grove_jobs.alerts.delivery import WebhookError, deliver, post_webhook
from grove_jobs.alerts.rules import Finding
from grove_jobs.clock import utcnow
from grove_jobs.notifications.tables import NotificationRow
from grove_jobs.settings import Settings
from tests.factories import create, synthetic_config
from tests.webhook import Receiver, serve

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def flaky_receiver() -> Iterator[Receiver]:
    with serve(failures=2) as server:
        yield server


@pytest.fixture
def broken_receiver() -> Iterator[Receiver]:
    with serve(failures=1000) as server:
        yield server


def _opened(db, at=T0, *, deliverable=True):
    create(db, synthetic_config("hooked"))
    finding = Finding(rules.CONSECUTIVE_FAILURES, "3 runs in a row failed", None, {"failures": 3})
    message = store.open_incident(db, "hooked", finding, at, deliverable=deliverable)
    assert message is not None
    return message


def _notification(db, notification_id: int) -> NotificationRow:
    with db.read() as session:
        row = session.scalar(select(NotificationRow).where(NotificationRow.id == notification_id))
        session.expunge_all()
    return row


def test_webhook_is_retried_until_the_receiver_accepts(db, flaky_receiver):
    message = _opened(db)
    settings = Settings(webhook_url=flaky_receiver.url)
    assert deliver(db, settings, message, backoff=0.01) is True
    assert len(flaky_receiver.bodies) == 3  # two 500s, then accepted
    assert all(body == flaky_receiver.bodies[0] for body in flaky_receiver.bodies)
    body = flaky_receiver.bodies[0]
    assert (body["event"], body["incident"]["configId"], body["incident"]["rule"]) == (
        "opened",
        "hooked",
        "consecutive_failures",
    )
    row = _notification(db, message.notification_id)
    assert row.sent_at is not None and row.send_error is None


def test_webhook_gives_up_after_a_few_attempts_and_records_why(db, broken_receiver):
    message = _opened(db)
    settings = Settings(webhook_url=broken_receiver.url)
    assert deliver(db, settings, message, backoff=0.01) is False
    assert len(broken_receiver.bodies) == 4
    row = _notification(db, message.notification_id)
    assert row.sent_at is None
    assert "HTTP 500" in row.send_error
    # Not lost: it is tried again in a minute.
    assert row.delivery_attempts == 1
    assert timedelta(seconds=55) < row.next_attempt_at - utcnow() <= timedelta(minutes=1)


def test_a_failed_notification_is_sent_again_once_its_next_attempt_is_due(db):
    now = utcnow()
    message = _opened(db, now)
    with serve(failures=1000) as down:
        assert deliver(db, Settings(webhook_url=down.url), message, backoff=0.01) is False
    due = _notification(db, message.notification_id).next_attempt_at
    assert store.claim_redeliveries(db, at=due - timedelta(seconds=1)) == []
    (again,) = store.claim_redeliveries(db, at=due)
    assert (again.notification_id, again.attempt, again.event) == (
        message.notification_id,
        2,
        "opened",
    )
    assert again.payload == message.payload
    # Leased: another sidecar's pass meanwhile does not send it twice.
    assert store.claim_redeliveries(db, at=due) == []
    with serve() as up:
        assert deliver(db, Settings(webhook_url=up.url), again) is True
        assert [body["incident"]["rule"] for body in up.bodies] == ["consecutive_failures"]
    row = _notification(db, message.notification_id)
    assert (row.sent_at is not None, row.send_error, row.next_attempt_at) == (True, None, None)
    assert store.claim_redeliveries(db, at=due + timedelta(days=1)) == []


def test_a_sidecar_that_died_sending_leaves_it_to_another_after_the_lease(db):
    now = utcnow()
    message = _opened(db, now)  # written, never delivered: its writer is gone
    assert store.claim_redeliveries(db, at=now + store.DELIVERY_LEASE / 2) == []
    (taken,) = store.claim_redeliveries(db, at=now + store.DELIVERY_LEASE)
    assert (taken.notification_id, taken.attempt) == (message.notification_id, 2)


def test_delivery_gives_up_after_the_last_attempt_and_old_ones_are_left_alone(db):
    now = utcnow()
    message = _opened(db, now)
    assert store.mark_sent(db, message, at=now, error="webhook: HTTP 500") is not None
    # Stale: a day-old notification is history, not news, even if it was never delivered.
    stale = now + store.MAX_DELIVERY_AGE + timedelta(seconds=1)
    assert store.claim_redeliveries(db, at=stale) == []
    last = replace(message, attempt=store.MAX_DELIVERIES)
    assert store.mark_sent(db, last, at=now, error="webhook: HTTP 500") is None
    assert _notification(db, message.notification_id).next_attempt_at is None
    assert store.redelivery_delay(1) == timedelta(minutes=1)
    assert store.redelivery_delay(8) == timedelta(minutes=60)  # capped at an hour


def test_with_no_channel_the_outbox_row_is_the_alert(db):
    message = _opened(db, utcnow(), deliverable=False)
    row = _notification(db, message.notification_id)
    assert (row.delivery_attempts, row.next_attempt_at, row.sent_at) == (0, None, None)
    assert store.claim_redeliveries(db, at=utcnow() + timedelta(hours=2)) == []


def test_client_errors_are_not_retried(flaky_receiver):
    missing = flaky_receiver.url.replace("/hook", "/missing")
    with pytest.raises(WebhookError) as raised:
        post_webhook(missing, {"event": "opened"}, backoff=0.01)
    assert raised.value.status == 404
    assert len(flaky_receiver.bodies) == 1  # a 404 will not heal by retrying
