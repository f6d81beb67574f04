"""Delivering alert notifications on every channel that applies: the signed JSON webhook,
mail (``GROVE_ALERT_EMAIL_TO`` and the config's owners) and the config's named apprise
targets. Texts are rendered for people at send time (``message.compose``).

Webhook transient failures (connection errors, timeouts, 5xx, 429) are retried with exponential
backoff a few times; the whole attempt is bounded, and its outcome is recorded on the outbox
row (``sent_at`` or ``send_error``), which stays as the durable record either way.
"""

from __future__ import annotations

import json
import logging
import smtplib
import time
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

from grove_jobs.alerts import signing, targets
from grove_jobs.alerts.message import compose, link
from grove_jobs.alerts.store import Message, mark_sent, mark_unroutable
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
    secret: str | None = None,
    attempts: int = WEBHOOK_ATTEMPTS,
    backoff: float = 0.5,
    timeout: float = WEBHOOK_TIMEOUT_SECONDS,
) -> int:
    """POST ``payload`` as JSON, signed with ``secret`` (each attempt afresh, so its timestamp
    is current); returns the number of attempts it took."""
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
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "grove-jobs-alerts"}
        if secret:
            headers[signing.HEADER] = signing.signature(secret, int(time.time()), body)
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            exc.close()  # it holds the response's socket
            raise WebhookError(exc.code, str(exc.reason)) from exc

    send()
    return calls


def channels(settings: Settings, message: Message) -> list[str]:
    """The channels this notification goes to: ``webhook``, ``mail:<address>``,
    ``target:<name>``."""
    found = ["webhook"] if settings.webhook_url else []
    if settings.smtp_host:
        recipients = [settings.alert_email_to, *message.owners]
        found += [f"mail:{r}" for r in dict.fromkeys(recipients) if r]
    found += [f"target:{name}" for name in message.targets]
    return found


def deliver(db: Database, settings: Settings, message: Message, *, backoff: float = 0.5) -> bool:
    """Send one alert notification on every channel that applies and has not taken it yet;
    True when all succeeded (or none applies: the outbox row is then the alert)."""
    pending = [c for c in channels(settings, message) if c not in message.delivered]
    if not pending:
        if not message.delivered:
            mark_unroutable(db, message)
        return True
    title, text = compose(message.payload, settings.dashboard_url)
    body = {**message.payload, "title": title, "text": text}
    incident = message.payload.get("incident", {})
    url = link(settings.dashboard_url, incident.get("configId", ""), incident.get("executionId"))
    if url:
        body["url"] = url
    named = _alert_urls(settings)
    errors: list[str] = []
    delivered: list[str] = []
    for channel in pending:
        kind, _, name = channel.partition(":")
        try:
            if kind == "webhook":
                secret = settings.webhook_secret
                post_webhook(
                    settings.webhook_url or "",
                    body,
                    secret=secret.get_secret_value() if secret else None,
                    backoff=backoff,
                )
            elif kind == "mail":
                send_mail(settings, name, title, text)
            elif name not in named:
                raise targets.AlertTargetError(f"target {name!r} is not in {targets.VARIABLE}")
            else:
                resolved = message.event == "resolved"
                targets.notify(name, named[name], title, text, resolved=resolved)
            delivered.append(channel)
        except (WebhookError, urllib.error.URLError, OSError) as exc:
            errors.append(f"{channel}: {exc}")
        except smtplib.SMTPException as exc:
            errors.append(f"{channel}: {type(exc).__name__}: {exc}")
        except targets.AlertTargetError as exc:
            errors.append(str(exc))
    error = "; ".join(errors)[:2000] or None
    retry_at = mark_sent(db, message, at=utcnow(), error=error, delivered=tuple(delivered))
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


def _alert_urls(settings: Settings) -> dict[str, str]:
    if settings.alert_urls is None:
        return {}
    return targets.parse_alert_urls(settings.alert_urls.get_secret_value())
