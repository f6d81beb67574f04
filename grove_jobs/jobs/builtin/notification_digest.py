"""``notification-digest``: one message per recipient summarising what happened since this
config's previous digest: failed or timed-out runs, and what extensions add (the content
domain adds advancement events) through :func:`digest_section`.

Messages go to the ``notifications`` outbox in one transaction. When SMTP is configured
(``GROVE_SMTP_HOST``) each is sent with smtplib and marked sent; otherwise they stay in the
outbox, visible, for an operator or another channel to pick up.
"""

from __future__ import annotations

import re
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import Field, field_validator
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from grove_jobs.clock import iso_z, utcnow
from grove_jobs.db.engine import Database
from grove_jobs.db.tables import JobExecutionRow
from grove_jobs.engine.context import JobContext, JobResult
from grove_jobs.jobs.database import database_for, settings_for
from grove_jobs.jobs.registry import job_type
from grove_jobs.notifications.mail import send_mail
from grove_jobs.notifications.tables import NotificationRow
from grove_jobs.schema.base import CamelModel, unique_items
from grove_jobs.settings import Settings

FAILURE_STATUSES = ("failed", "timed_out")
# The first digest of a config has no predecessor; it covers this much history.
FIRST_DIGEST_LOOKBACK = timedelta(hours=24)
MAX_LINES = 100  # per section of the body; the subject and counts cover the rest
KIND = "digest"
_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class DigestSection:
    """One event type a digest can report: how to collect its items and write them."""

    event_type: str  # what configs list in eventTypes
    heading: str  # "Failed runs"
    noun: str  # "failed run": the subject says "2 failed runs"
    result_key: str  # count in the run's result data
    refs_key: str  # ids in the notification's event_refs
    collect: Callable[[Session, datetime, datetime], list[dict[str, Any]]]  # items with "id"
    line: Callable[[dict[str, Any]], str]
    order: int = 50  # sections appear in this order in subject and body


SECTIONS: dict[str, DigestSection] = {}


def digest_section(section: DigestSection) -> DigestSection:
    """Make ``section`` an event type of ``notification-digest`` (extensions call this)."""
    SECTIONS[section.event_type] = section
    return section


Name = Annotated[str, Field(min_length=1, max_length=200)]


class NotificationDigestParameters(CamelModel):
    """Send a digest of recent events to recipients."""

    event_types: list[Name] = Field(min_length=1, max_length=50)
    recipient_ids: list[Name] = Field(min_length=1, max_length=500)

    _check_unique = field_validator("event_types", "recipient_ids")(unique_items)


@job_type(
    "notification-digest",
    parameters=NotificationDigestParameters,
    title="Notification Digest",
    description="Digests failed or timed-out runs (and extension events such as advancements) "
    "since the previous digest into the notification outbox, sent by SMTP when configured.",
    defaults={"eventTypes": ["advancement", "failure"], "recipientIds": ["ops"]},
)
def run(params: NotificationDigestParameters, ctx: JobContext) -> JobResult:
    """Write (and, with SMTP configured, send) one digest per recipient."""
    db = database_for(ctx)
    settings = settings_for(ctx)
    at = utcnow()
    unknown = [t for t in params.event_types if t not in SECTIONS]
    if unknown:
        ctx.log.warn(f"ignoring unknown event types {unknown}; known: {', '.join(SECTIONS)}")
    since = _previous_digest(db, ctx.config_id) or at - FIRST_DIGEST_LOOKBACK
    sections = sorted(SECTIONS.values(), key=lambda section: section.order)
    with db.read() as session:
        found = {
            section.event_type: section.collect(session, since, at)
            if section.event_type in params.event_types
            else []
            for section in sections
        }
    window = {
        "windowStart": iso_z(since, timespec="seconds"),
        "windowEnd": iso_z(at, timespec="seconds"),
    }
    counts = {section.result_key: len(found[section.event_type]) for section in sections}
    ctx.log.info(
        f"since {iso_z(since, timespec='seconds')}: "
        + ", ".join(f"{len(found[s.event_type])} {_plural(s.noun, 2)}" for s in sections)
    )
    if not any(found.values()):
        ctx.log.info("nothing to report; no digest written")
        return JobResult(
            items_processed=0, items_total=0, data={**window, **counts, "notifications": []}
        )

    ctx.check()  # last point to stop before anything is written
    subject = _subject(sections, found)
    body = _body(since, at, sections, found)
    refs = {
        **window,
        "eventTypes": list(params.event_types),
        **{s.refs_key: [item["id"] for item in found[s.event_type]] for s in sections},
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
            **counts,
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


def _plural(noun: str, count: int) -> str:
    return noun if count == 1 else f"{noun}s"


def _subject(sections: list[DigestSection], found: dict[str, list]) -> str:
    parts = [
        f"{len(items)} {_plural(s.noun, len(items))}"
        for s in sections
        if (items := found[s.event_type])
    ]
    return "grove-jobs digest: " + ", ".join(parts)


def _body(since: datetime, at: datetime, sections: list[DigestSection], found) -> str:
    start, end = iso_z(since, timespec="seconds"), iso_z(at, timespec="seconds")
    lines = [
        f"What happened between {start} and {end}.",
        "",
    ]
    for section in sections:
        items = found[section.event_type]
        if not items:
            continue
        lines.append(f"{section.heading} ({len(items)}):")
        lines.extend(f"  - {section.line(item)}" for item in items[:MAX_LINES])
        if len(items) > MAX_LINES:
            lines.append(f"  ... and {len(items) - MAX_LINES} more")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _collect_failures(session: Session, since: datetime, at: datetime) -> list[dict[str, Any]]:
    E = JobExecutionRow
    rows = session.execute(
        select(E.id, E.config_id, E.status, E.completed_at, E.error)
        .where(E.status.in_(FAILURE_STATUSES), E.completed_at > since, E.completed_at <= at)
        .order_by(E.completed_at, E.id)
    )
    return [
        {
            "id": r.id,
            "configId": r.config_id,
            "status": r.status,
            "at": r.completed_at,
            "error": r.error,
        }
        for r in rows
    ]


def _failure_line(item: dict[str, Any]) -> str:
    error = (item["error"] or "").strip().splitlines()
    reason = f": {error[-1][:200]}" if error else ""
    where = f"execution {item['id']} of {item['configId']} {item['status']}"
    return f"{where} at {iso_z(item['at'], timespec='seconds')}{reason}"


digest_section(
    DigestSection(
        event_type="failure",
        heading="Failed runs",
        noun="failed run",
        result_key="failures",
        refs_key="executionIds",
        collect=_collect_failures,
        line=_failure_line,
        order=90,
    )
)


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
