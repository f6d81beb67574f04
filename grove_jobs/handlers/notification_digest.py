"""``notification-digest``: one message per recipient summarising what happened since this
config's previous digest: advancement events and failed or timed-out runs.

Messages go to the ``notifications`` outbox in one transaction. When SMTP is configured
(``GROVE_SMTP_HOST``) each is sent with smtplib and marked sent; otherwise they stay in the
outbox, visible, for an operator or another channel to pick up.
"""

from __future__ import annotations

import re
import smtplib
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy import func, insert, select, update
from tenacity import (
    retry,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from grove_jobs.clock import utcnow
from grove_jobs.db.engine import Database
from grove_jobs.db.tables import JobExecutionRow
from grove_jobs.domain.database import database_for, settings_for
from grove_jobs.domain.repositories import advancement_events
from grove_jobs.domain.tables import DocumentRow, NotificationRow
from grove_jobs.engine.context import JobContext, JobResult
from grove_jobs.schema.parameters import NotificationDigestParameters
from grove_jobs.settings import Settings

EVENT_TYPES = ("advancement", "failure")
FAILURE_STATUSES = ("failed", "timed_out")
# The first digest of a config has no predecessor; it covers this much history.
FIRST_DIGEST_LOOKBACK = timedelta(hours=24)
MAX_LINES = 100  # per section of the body; the subject and counts cover the rest
SMTP_TIMEOUT_SECONDS = 10
KIND = "digest"
_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def run(params: NotificationDigestParameters, ctx: JobContext) -> JobResult:
    """Write (and, with SMTP configured, send) one digest per recipient."""
    db = database_for(ctx)
    settings = settings_for(ctx)
    at = utcnow()
    unknown = [t for t in params.event_types if t not in EVENT_TYPES]
    if unknown:
        ctx.log.warn(f"ignoring unknown event types {unknown}; known: {', '.join(EVENT_TYPES)}")
    since = _previous_digest(db, ctx.config_id) or at - FIRST_DIGEST_LOOKBACK
    advancements, failures = _collect(db, params, since, at)
    window = {"windowStart": _iso(since), "windowEnd": _iso(at)}
    ctx.log.info(
        f"since {_iso(since)}: {len(advancements)} advancements, {len(failures)} failed runs"
    )
    if not advancements and not failures:
        ctx.log.info("nothing to report; no digest written")
        return JobResult(
            items_processed=0,
            items_total=0,
            data={**window, "advancements": 0, "failures": 0, "notifications": []},
        )

    ctx.check()  # last point to stop before anything is written
    subject = _subject(advancements, failures)
    body = _body(since, at, advancements, failures)
    refs = {
        **window,
        "eventTypes": list(params.event_types),
        "advancementEventIds": [a["id"] for a in advancements],
        "executionIds": [f["id"] for f in failures],
    }
    with db.write() as session:
        ids = [
            session.execute(
                insert(NotificationRow)
                .values(
                    kind=KIND,
                    source=ctx.config_id,
                    recipient=recipient,
                    subject=subject,
                    body=body,
                    event_refs=refs,
                    created_at=at,
                    execution_id=ctx.execution_id,
                )
                .returning(NotificationRow.id)
            ).scalar_one()
            for recipient in params.recipient_ids
        ]
    ctx.log.info(f"wrote {len(ids)} digests to the outbox: {subject}")
    sent, failed = _send_all(db, ctx, settings, list(zip(ids, params.recipient_ids, strict=True)))
    return JobResult(
        items_processed=len(ids),
        items_total=len(ids),
        items_failed=len(failed),
        status="partial" if failed else "success",
        data={
            **window,
            "advancements": len(advancements),
            "failures": len(failures),
            "subject": subject,
            "notifications": [
                {"id": nid, "recipient": rcpt, "sent": nid in sent}
                for nid, rcpt in zip(ids, params.recipient_ids, strict=True)
            ],
            "smtp": bool(settings.smtp_host),
        },
    )


def _previous_digest(db: Database, config_id: str) -> datetime | None:
    with db.read() as session:
        return session.scalar(
            select(func.max(NotificationRow.created_at)).where(
                NotificationRow.kind == KIND, NotificationRow.source == config_id
            )
        )


def _collect(
    db: Database, params: NotificationDigestParameters, since: datetime, at: datetime
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    advancements: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    with db.read() as session:
        if "advancement" in params.event_types:
            events = advancement_events(session, since=since, until=at)
            titles = _titles(session, {e.document_id for e in events})
            advancements = [
                {
                    "id": e.id,
                    "documentId": e.document_id,
                    "title": titles.get(e.document_id, ""),
                    "fromTier": e.from_tier,
                    "toTier": e.to_tier,
                    "ruleId": e.rule_id,
                    "at": e.at,
                }
                for e in events
            ]
        if "failure" in params.event_types:
            E = JobExecutionRow
            rows = session.execute(
                select(E.id, E.config_id, E.status, E.completed_at, E.error)
                .where(E.status.in_(FAILURE_STATUSES), E.completed_at > since, E.completed_at <= at)
                .order_by(E.completed_at, E.id)
            )
            failures = [
                {
                    "id": r.id,
                    "configId": r.config_id,
                    "status": r.status,
                    "at": r.completed_at,
                    "error": r.error,
                }
                for r in rows
            ]
    return advancements, failures


def _titles(session, document_ids: set[str]) -> dict[str, str]:
    if not document_ids:
        return {}
    ids = sorted(document_ids)
    titles: dict[str, str] = {}
    for start in range(0, len(ids), 1000):
        stmt = select(DocumentRow.id, DocumentRow.title).where(
            DocumentRow.id.in_(ids[start : start + 1000])
        )
        titles.update((row.id, row.title) for row in session.execute(stmt))
    return titles


def _subject(advancements: list, failures: list) -> str:
    parts = []
    if advancements:
        parts.append(f"{len(advancements)} advancement{'s' if len(advancements) != 1 else ''}")
    if failures:
        parts.append(f"{len(failures)} failed run{'s' if len(failures) != 1 else ''}")
    return "grove-jobs digest: " + ", ".join(parts)


def _body(since: datetime, at: datetime, advancements: list, failures: list) -> str:
    lines = [f"What happened between {_iso(since)} and {_iso(at)}.", ""]
    if advancements:
        lines.append(f"Advancements ({len(advancements)}):")
        for a in advancements[:MAX_LINES]:
            lines.append(
                f"  - {a['documentId']} {a['title']!r}: {a['fromTier']} -> {a['toTier']} "
                f"by rule {a['ruleId']} at {_iso(a['at'])}"
            )
        if len(advancements) > MAX_LINES:
            lines.append(f"  ... and {len(advancements) - MAX_LINES} more")
        lines.append("")
    if failures:
        lines.append(f"Failed runs ({len(failures)}):")
        for f in failures[:MAX_LINES]:
            error = (f["error"] or "").strip().splitlines()
            reason = f": {error[-1][:200]}" if error else ""
            lines.append(
                f"  - execution {f['id']} of {f['configId']} {f['status']} "
                f"at {_iso(f['at'])}{reason}"
            )
        if len(failures) > MAX_LINES:
            lines.append(f"  ... and {len(failures) - MAX_LINES} more")
    return "\n".join(lines).rstrip() + "\n"


def _send_all(
    db: Database, ctx: JobContext, settings: Settings, messages: list[tuple[int, str]]
) -> tuple[set[int], set[int]]:
    """Send each outbox row when SMTP is configured; returns (sent ids, failed ids)."""
    sent: set[int] = set()
    failed: set[int] = set()
    if not settings.smtp_host:
        ctx.log.info("SMTP is not configured (GROVE_SMTP_HOST); digests stay in the outbox")
        return sent, failed
    with db.read() as session:
        rows = {
            r.id: r
            for r in session.scalars(
                select(NotificationRow).where(NotificationRow.id.in_([m[0] for m in messages]))
            )
        }
    for notification_id, recipient in messages:
        ctx.check()
        row = rows[notification_id]
        if not _ADDRESS.match(recipient):
            error = "recipient is not an email address; left in the outbox"
            ctx.log.warn(f"not sending to {recipient!r}: {error}")
            _mark(db, notification_id, error=error)
            failed.add(notification_id)
            continue
        try:
            send_mail(settings, recipient, row.subject, row.body)
        except (smtplib.SMTPException, OSError) as exc:
            ctx.log.error(f"sending to {recipient} failed: {type(exc).__name__}: {exc}")
            _mark(db, notification_id, error=f"{type(exc).__name__}: {exc}"[:2000])
            failed.add(notification_id)
            continue
        _mark(db, notification_id, sent_at=utcnow())
        sent.add(notification_id)
        ctx.log.info(f"sent digest to {recipient} via {settings.smtp_host}:{settings.smtp_port}")
    return sent, failed


def _mark(
    db: Database, notification_id: int, *, sent_at: datetime | None = None, error: str | None = None
) -> None:
    with db.write() as session:
        session.execute(
            update(NotificationRow)
            .where(NotificationRow.id == notification_id)
            .values(sent_at=sent_at, send_error=error)
        )


@retry(
    retry=retry_if_exception_type(
        (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, ConnectionError, TimeoutError)
    ),
    stop=stop_after_attempt(3),
    wait=wait_exponential(multiplier=0.2, max=2),
    reraise=True,
)
def send_mail(settings: Settings, recipient: str, subject: str, body: str) -> None:
    """Send one plain-text message through the configured SMTP server (transient connection
    errors are retried; a refused recipient is not)."""
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = recipient
    message["Subject"] = subject
    message.set_content(body)
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_SECONDS) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user:
            password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
            smtp.login(settings.smtp_user, password)
        smtp.send_message(message)


def _iso(value: datetime) -> str:
    return value.isoformat(timespec="seconds").replace("+00:00", "Z")
