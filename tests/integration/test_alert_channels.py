"""Alerts reaching people: named apprise targets (json://, form://, mailto://, Slack), owners'
mail, the signed generic webhook and human texts, each against a real local receiver."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import parse_qs

import apprise.plugins.slack
import pytest
from pydantic import ValidationError
from sqlalchemy import select

from grove_jobs.alerts import rules, signing, store
from grove_jobs.alerts.delivery import deliver
from grove_jobs.alerts.evaluate import Courier
from grove_jobs.alerts.rules import Finding
from grove_jobs.alerts.targets import AlertTargetError, parse_alert_urls
from grove_jobs.clock import utcnow
from grove_jobs.notifications.tables import NotificationRow
from grove_jobs.schema.job_config import JobConfigPayload
from grove_jobs.settings import Settings
from tests import smtp, webhook
from tests.factories import create, synthetic_config

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SECRET = "s3cret"
DASHBOARD = "https://grove.example.com"
SLACK_TOKENS = "T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7"


@pytest.fixture
def receiver() -> Iterator[webhook.Receiver]:
    with webhook.serve() as server:
        yield server


@pytest.fixture
def mail() -> Iterator[smtp.MailServer]:
    with smtp.serve() as server:
        yield server


@pytest.fixture
def slack(receiver: webhook.Receiver, monkeypatch: pytest.MonkeyPatch) -> webhook.Receiver:
    """Slack's own plugin, its endpoint pointed at the local receiver."""
    endpoint = f"http://127.0.0.1:{receiver.server_address[1]}/services"
    monkeypatch.setattr(apprise.plugins.slack.NotifySlack, "webhook_url", endpoint)
    return receiver


def _opened(db, *, targets=(), owners=(), name="Nightly export", at=T0):
    data = synthetic_config("nightly")
    data["payload"].update(displayName=name, owners=list(owners))
    data["payload"]["alerts"] = {"targets": list(targets)}
    create(db, data)
    finding = Finding(rules.CONSECUTIVE_FAILURES, "3 runs in a row failed", 42, {"failures": 3})
    message = store.open_incident(db, "nightly", finding, at)
    assert message is not None
    return message


def _row(db, notification_id: int) -> NotificationRow:
    with db.read() as session:
        row = session.scalar(select(NotificationRow).where(NotificationRow.id == notification_id))
        session.expunge_all()
    return row


def _port(server) -> int:
    return server.server_address[1]


def test_named_targets_get_a_human_message_with_a_link(db, receiver, mail, slack):
    port = _port(receiver)
    urls = ",".join(
        [
            f"team-json=json://127.0.0.1:{port}/json",
            f"team-form=form://127.0.0.1:{port}/form",
            f"team-mail=mailto://127.0.0.1:{mail.port}?from=grove@example.com"
            "&to=ops@example.com,oncall@example.com&mode=insecure",
            f"team-slack=slack://{SLACK_TOKENS}",
            f"unused=json://127.0.0.1:{port}/unused",
        ]
    )
    settings = Settings(alert_urls=urls, dashboard_url=DASHBOARD + "/")
    message = _opened(db, targets=["team-json", "team-form", "team-mail", "team-slack"])
    assert deliver(db, settings, message) is True
    by_path = {r.path.split("/")[1]: r for r in receiver.requests}
    assert sorted(by_path) == ["form", "json", "services"]  # never the unnamed entry
    link = f"{DASHBOARD}/runs?run=42"
    expected = (
        "Nightly export (nightly) is failing: 3 runs in a row failed.\n"
        "Since: 2026-03-01 12:00:00 UTC\n"
        f"Open: {link}"
    )
    posted = json.loads(by_path["json"].raw)
    assert (posted["title"], posted["message"], posted["type"]) == (
        "Nightly export is failing",
        expected,
        "failure",
    )
    form = parse_qs(by_path["form"].raw.decode())
    assert form["title"] == ["Nightly export is failing"] and form["message"] == [expected]
    attachment = json.loads(by_path["services"].raw)["attachments"][0]
    assert attachment["title"] == "Nightly export is failing"
    assert link.replace("&", "&amp;") in attachment["text"]  # Slack's own escaping
    assert sorted(r for rs in mail.recipients for r in rs) == [
        "oncall@example.com",
        "ops@example.com",
    ]
    for sent in mail.messages:
        assert sent["Subject"] == "Nightly export is failing"
        assert link in sent.get_body().get_content()
    row = _row(db, message.notification_id)
    assert row.sent_at is not None and row.send_error is None


def test_owners_are_mailed_through_smtp(db, mail):
    settings = Settings(smtp_host="127.0.0.1", smtp_port=mail.port, alert_email_to="ops@x.org")
    message = _opened(db, owners=["ana@example.com", "bo@example.com"])
    assert deliver(db, settings, message) is True
    assert sorted(r[0] for r in mail.recipients) == [
        "ana@example.com",
        "bo@example.com",
        "ops@x.org",
    ]
    assert {m["Subject"] for m in mail.messages} == {"Nightly export is failing"}


def test_a_failing_target_is_retried_alone(db, mail):
    with webhook.serve(failures=1000) as down:
        urls = f"down=json://127.0.0.1:{_port(down)}/x"
        settings = Settings(alert_urls=urls, smtp_host="127.0.0.1", smtp_port=mail.port)
        message = _opened(db, targets=["down", "missing"], owners=["ana@example.com"], at=utcnow())
        assert deliver(db, settings, message) is False
        assert len(mail.messages) == 1 and len(down.requests) == 1
        row = _row(db, message.notification_id)
        assert row.sent_at is None
        assert "target 'down' did not accept" in row.send_error
        assert "target 'missing' is not in GROVE_ALERT_URLS" in row.send_error
        (again,) = store.claim_redeliveries(db, at=row.next_attempt_at)
        assert again.delivered == ("mail:ana@example.com",)
        down.failures = 0
        deliver(db, settings, again)
        assert len(mail.messages) == 1  # the owner is not mailed twice
        assert len(down.requests) == 2


def test_the_webhook_is_signed_and_a_receiver_rejects_stale_or_forged_ones(db, receiver):
    settings = Settings(webhook_url=receiver.url, webhook_secret=SECRET, dashboard_url=DASHBOARD)
    message = _opened(db)
    before = int(time.time())
    assert deliver(db, settings, message) is True
    (request,) = receiver.requests
    header = request.headers[signing.HEADER]
    timestamp = int(header.split(",")[0].removeprefix("t="))
    assert before <= timestamp <= time.time()
    assert signing.verify(SECRET, header, request.raw, now=time.time())
    assert not signing.verify(SECRET, header, request.raw, now=timestamp + 301)  # replayed later
    assert not signing.verify("other", header, request.raw, now=time.time())
    assert not signing.verify(SECRET, header, request.raw + b" ", now=time.time())
    body = json.loads(request.raw)
    assert body["event"] == "opened" and body["incident"]["jobName"] == "Nightly export"
    assert body["title"] == "Nightly export is failing"
    assert body["url"] == f"{DASHBOARD}/runs?run=42"
    assert "route" not in body  # owners' addresses stay inside


def test_bad_alert_urls_are_refused_naming_the_variable_and_entry(caplog):
    for text, words in [
        ("slack", "entry 1 must be name=apprise-url"),
        ("Team=json://h/x", "entry 1 must be name=apprise-url"),
        ("a=json://h/x,a=json://h/y", "entry 'a' appears twice"),
        ("a=not a url", "entry 'a': the URL must look like scheme://"),
    ]:
        with pytest.raises(ValidationError) as caught:
            Settings(alert_urls=text)
        (error,) = caught.value.errors()
        assert error["loc"] == ("alert_urls",) and words in error["msg"]
        assert "json://" not in str(caught.value)  # never echoes a URL: it may hold a token
    # commas inside an apprise URL belong to it
    assert parse_alert_urls("m=mailto://h?to=a@x.org,b@x.org, j=json://h/x") == {
        "m": "mailto://h?to=a@x.org,b@x.org",
        "j": "json://h/x",
    }
    with pytest.raises(AlertTargetError, match=r"GROVE_ALERT_URLS.*'typo'"):
        Courier(None, Settings(alert_urls="typo=nosuchscheme://x"))  # type: ignore[arg-type]
    assert "nosuchscheme://x" not in caplog.text


def test_configs_name_targets_and_never_hold_urls():
    base = synthetic_config("x")["payload"]
    assert JobConfigPayload.model_validate(base).alerts.targets == []  # old configs load as-is
    assert JobConfigPayload.model_validate(base).owners == []
    for field, value, words in [
        ("alerts", {"targets": ["slack://T/A/B"]}, "looks like a URL"),
        ("alerts", {"targets": ["Team Slack"]}, "target name"),
        ("owners", ["not-an-email"], "is not an email address"),
    ]:
        with pytest.raises(ValidationError) as caught:
            JobConfigPayload.model_validate({**base, field: value})
        (error,) = caught.value.errors()
        assert error["loc"][0] == field and words in error["msg"]
