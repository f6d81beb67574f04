"""Delivering alert notifications: a JSON POST to the webhook and a mail, when configured.

Transient failures (connection errors, timeouts, 5xx, 429) are retried with exponential
backoff a few times; the whole attempt is bounded, and its outcome is recorded on the outbox
row (``sent_at`` or ``send_error``), which stays as the durable record either way.
"""

from __future__ import annotations

import json
import logging
import smtplib
import urllib.error
import urllib.request
from dataclasses import dataclass

from tenacity import (
    retry,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
)

from grove_jobs.alerts.store import Message, mark_sent
from grove_jobs.clock import utcnow
from grove_jobs.db.engine import Database
from grove_jobs.notifications.mail import send_mail
from grove_jobs.settings import Settings

log = logging.getLogger("grove_jobs.alerts")
WEBHOOK_TIMEOUT_SECONDS = 5.0
WEBHOOK_ATTEMPTS = 4
WEBHOOK_BUDGET_SECONDS = 30.0


@dataclass(frozen=True)
class WebhookError(Exception):
    """The webhook answered with an error status."""

    status: int
    reason: str

    def __str__(self) -> str:
        return f"webhook answered HTTP {self.status} {self.reason}"


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, WebhookError):
        return exc.status >= 500 or exc.status == 429
    return isinstance(exc, urllib.error.URLError | ConnectionError | TimeoutError)


def post_webhook(
    url: str,
    payload: dict,
    *,
    attempts: int = WEBHOOK_ATTEMPTS,
    backoff: float = 0.5,
    timeout: float = WEBHOOK_TIMEOUT_SECONDS,
) -> int:
    """POST ``payload`` as JSON; returns the number of attempts it took."""
    calls = 0

    @retry(
        retry=retry_if_exception(_transient),
        stop=stop_after_attempt(attempts) | stop_after_delay(WEBHOOK_BUDGET_SECONDS),
        wait=wait_exponential(multiplier=backoff, max=8),
        reraise=True,
    )
    def send() -> None:
        nonlocal calls
        calls += 1
        request = urllib.request.Request(
            url,
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json", "User-Agent": "grove-jobs-alerts"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            exc.close()  # it holds the response's socket
            raise WebhookError(exc.code, str(exc.reason)) from exc

    send()
    return calls


def deliver(db: Database, settings: Settings, message: Message, *, backoff: float = 0.5) -> bool:
    """Send one alert notification on every configured channel; True when all succeeded (or
    none is configured: the outbox row is then the alert)."""
    errors: list[str] = []
    channels = 0
    if settings.webhook_url:
        channels += 1
        try:
            post_webhook(settings.webhook_url, message.payload, backoff=backoff)
        except (WebhookError, urllib.error.URLError, OSError) as exc:
            errors.append(f"webhook: {exc}")
    if settings.smtp_host and settings.alert_email_to:
        channels += 1
        try:
            send_mail(settings, settings.alert_email_to, message.subject, message.body)
        except (smtplib.SMTPException, OSError) as exc:
            errors.append(f"smtp: {type(exc).__name__}: {exc}")
    if channels:
        error = "; ".join(errors)[:2000] or None
        retry_at = mark_sent(db, message, at=utcnow(), error=error)
        if error:
            then = f"trying again at {retry_at:%H:%M:%S}" if retry_at else "giving up"
            log.error(
                "alert %d not delivered (attempt %d): %s; %s",
                message.notification_id,
                message.attempt,
                error,
                then,
            )
    return not errors
