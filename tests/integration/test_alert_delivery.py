"""Alert delivery to a real local webhook receiver that fails before it accepts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from grove_jobs.alerts import rules, store
from grove_jobs.alerts.delivery import WebhookError, deliver, post_webhook
from grove_jobs.alerts.rules import Finding
from grove_jobs.domain.tables import NotificationRow
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


def _opened(db):
    create(db, synthetic_config("hooked"))
    finding = Finding(rules.CONSECUTIVE_FAILURES, "3 runs in a row failed", None, {"failures": 3})
    message = store.open_incident(db, "hooked", finding, T0)
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


def test_client_errors_are_not_retried(flaky_receiver):
    missing = flaky_receiver.url.replace("/hook", "/missing")
    with pytest.raises(WebhookError) as raised:
        post_webhook(missing, {"event": "opened"}, backoff=0.01)
    assert raised.value.status == 404
    assert len(flaky_receiver.bodies) == 1  # a 404 will not heal by retrying
