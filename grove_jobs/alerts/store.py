"""The incident store: open and resolve incidents exactly once, and the alert outbox.

Opening is an INSERT that a partial unique index (one open incident per config and rule)
turns into a no-op when another sidecar got there first; resolving is a guarded UPDATE
(``WHERE resolved_at IS NULL``). Only the sidecar whose statement changed a row writes the
notification, so each incident notifies once when it opens and once when it resolves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from grove_jobs.alerts.message import compose
from grove_jobs.alerts.rules import Finding, OpenIncident
from grove_jobs.alerts.tables import OPEN_SQL, AlertIncidentRow
from grove_jobs.clock import iso_z
from grove_jobs.db.engine import Database
from grove_jobs.db.tables import JobConfigRow, JobExecutionRow
from grove_jobs.notifications.tables import NotificationRow

E = JobExecutionRow
I = AlertIncidentRow  # noqa: E741
RECIPIENT = "alerts"
ROUTE = "route"  # key of the delivery route inside the outbox row's event_refs
KIND = "alert"
# Delivery: the sidecar that writes (or re-claims) a notification holds it this long; failed
# deliveries are tried again after 1, 2, 4 … minutes (at most an hour apart), up to
# MAX_DELIVERIES times, for notifications at most MAX_DELIVERY_AGE old.
DELIVERY_LEASE = timedelta(minutes=10)
MAX_DELIVERIES = 10
MAX_DELIVERY_AGE = timedelta(days=1)


@dataclass(frozen=True)
class Message:
    """A notification written to the outbox, to deliver by webhook and mail."""

    notification_id: int
    event: str  # opened | resolved
    subject: str
    body: str
    payload: dict[str, Any]  # the webhook body
    attempt: int = 1  # which delivery attempt this is
    # Who else hears of it: the config's owners (mail) and named targets, fixed when written.
    owners: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()
    delivered: tuple[str, ...] = ()  # channels that took it already: a retry skips them


def redelivery_delay(attempt: int) -> timedelta | None:
    """How long after failed delivery ``attempt`` to try again; None once it is the last."""
    if attempt >= MAX_DELIVERIES:
        return None
    return timedelta(minutes=min(2 ** (attempt - 1), 60))


def open_incidents(db: Database, config_id: str | None = None) -> list[AlertIncidentRow]:
    """Open incidents, oldest first; of one config when ``config_id`` is given."""
    return list_incidents(db, config_id=config_id, limit=None)[::-1]


def list_incidents(
    db: Database, *, config_id: str | None = None, state: str = "open", limit: int | None = 100
) -> list[AlertIncidentRow]:
    """Incidents newest first: ``open``, ``resolved`` or ``all``; of one config if given."""
    stmt = select(I).order_by(I.id.desc()).limit(limit)
    if state == "open":
        stmt = stmt.where(I.resolved_at.is_(None))
    elif state == "resolved":
        stmt = stmt.where(I.resolved_at.is_not(None))
    if config_id is not None:
        stmt = stmt.where(I.config_id == config_id)
    with db.read() as session:
        rows = list(session.scalars(stmt))
        session.expunge_all()
    return rows


def open_by_config(db: Database) -> dict[str, list[OpenIncident]]:
    """Open incidents grouped by config, as the rules see them."""
    grouped: dict[str, list[OpenIncident]] = {}
    for row in open_incidents(db):
        grouped.setdefault(row.config_id, []).append(
            OpenIncident(row.id, row.rule, row.details, row.opened_at, row.execution_id)
        )
    return grouped


def open_incident(
    db: Database, config_id: str, finding: Finding, at: datetime, *, deliverable: bool = True
) -> Message | None:
    """Open an incident unless one of this rule is open already; returns its notification
    when this call opened it (to send when ``deliverable``: a channel is configured)."""
    with db.write() as session:
        module = postgresql if session.bind.dialect.name == "postgresql" else sqlite
        details = {"summary": finding.summary, **finding.details}
        if finding.execution_id is not None:
            # Read here, not in the evaluation window: tracebacks are large, openings are rare.
            error = session.scalar(select(E.error).where(E.id == finding.execution_id))
            lines = (error or "").strip().splitlines()
            if lines:
                details["lastError"] = lines[-1][:300]
        stmt = (
            module.insert(I.__table__)
            .values(
                config_id=config_id,
                rule=finding.rule,
                opened_at=at,
                last_notified_at=at,
                details=details,
                execution_id=finding.execution_id,
            )
            .on_conflict_do_nothing(
                index_elements=["config_id", "rule"], index_where=text(OPEN_SQL)
            )
            .returning(I.__table__.c.id)
        )
        incident_id = session.execute(stmt).scalar()
        if incident_id is None:
            return None
        payload = _payload("opened", incident_id, config_id, finding.rule, at, finding.summary)
        payload["incident"].update(executionId=finding.execution_id, details=details)
        return _outbox(session, config_id, finding.execution_id, payload, at, deliverable)


def resolve_incident(
    db: Database,
    config_id: str,
    incident: OpenIncident,
    at: datetime,
    *,
    deliverable: bool = True,
) -> Message | None:
    """Resolve an open incident; returns its notification when this call resolved it."""
    with db.write() as session:
        result = session.execute(
            update(I)
            .where(I.id == incident.id, I.resolved_at.is_(None))
            .values(resolved_at=at, last_notified_at=at)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            return None
        rule = incident.rule.replace("_", " ")
        summary = f"resolved: {incident.details.get('summary', rule)}"
        payload = _payload("resolved", incident.id, config_id, incident.rule, at, summary)
        payload["incident"].update(
            openedAt=iso_z(incident.opened_at, timespec="seconds"),
            executionId=incident.execution_id,
        )
        return _outbox(session, config_id, None, payload, at, deliverable)


def _payload(event, incident_id, config_id, rule, at, summary) -> dict[str, Any]:
    return {
        "event": event,
        "at": iso_z(at, timespec="seconds"),
        "incident": {"id": incident_id, "configId": config_id, "rule": rule, "summary": summary},
    }


def _route(session: Session, config_id: str) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """The config's display name, owners and alert targets, as saved now."""
    payload = session.scalar(select(JobConfigRow.payload).where(JobConfigRow.id == config_id))
    payload = payload or {}
    targets = (payload.get("alerts") or {}).get("targets") or []
    name = payload.get("displayName") or config_id
    return str(name), tuple(payload.get("owners") or ()), tuple(targets)


def _outbox(session: Session, config_id, execution_id, payload, at, deliverable) -> Message:
    name, owners, targets = _route(session, config_id)
    payload["incident"].setdefault("openedAt", payload["at"])
    payload["incident"]["jobName"] = name
    subject, body = compose(payload)
    refs = {**payload, ROUTE: {"owners": list(owners), "targets": list(targets)}}
    notification_id = session.execute(
        insert(NotificationRow)
        .values(
            kind=KIND,
            source=config_id,
            recipient=RECIPIENT,
            subject=subject[:300],
            body=body,
            event_refs=refs,
            created_at=at,
            execution_id=execution_id,
            # Its writer sends it right away; should that sidecar die first, another one
            # takes it over when the lease ends. With no channel the row itself is the alert.
            delivery_attempts=1 if deliverable else 0,
            next_attempt_at=at + DELIVERY_LEASE if deliverable else None,
        )
        .returning(NotificationRow.id)
    ).scalar_one()
    return Message(
        notification_id, payload["event"], subject, body, payload, owners=owners, targets=targets
    )


def claim_redeliveries(db: Database, *, at: datetime, limit: int = 20) -> list[Message]:
    """Alert notifications whose next delivery attempt is due, leased to the caller (on
    PostgreSQL, rows another sidecar is claiming are skipped)."""
    N = NotificationRow
    with db.write() as session:
        stmt = (
            select(N)
            .where(
                N.kind == KIND,
                N.sent_at.is_(None),
                N.next_attempt_at.is_not(None),
                N.next_attempt_at <= at,
                N.created_at >= at - MAX_DELIVERY_AGE,
            )
            .order_by(N.next_attempt_at, N.id)
            .limit(limit)
        )
        if session.bind.dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        rows = list(session.scalars(stmt))
        messages = []
        for row in rows:
            row.delivery_attempts += 1
            row.next_attempt_at = at + DELIVERY_LEASE
            payload = dict(row.event_refs or {})
            route = payload.pop(ROUTE, None) or {}
            messages.append(
                Message(
                    row.id,
                    str(payload.get("event", "")),
                    row.subject,
                    row.body,
                    payload,
                    attempt=row.delivery_attempts,
                    owners=tuple(route.get("owners") or ()),
                    targets=tuple(route.get("targets") or ()),
                    delivered=tuple(route.get("delivered") or ()),
                )
            )
    return messages


def mark_sent(
    db: Database,
    message: Message,
    *,
    at: datetime,
    error: str | None,
    delivered: tuple[str, ...] = (),
) -> datetime | None:
    """Record how a delivery attempt went (``delivered``: the channels that took it, so a
    retry skips them); returns when the next one is due (None: sent, or given up after
    MAX_DELIVERIES)."""
    delay = redelivery_delay(message.attempt) if error else None
    next_attempt = at + delay if delay is not None else None
    route = {
        "owners": list(message.owners),
        "targets": list(message.targets),
        "delivered": sorted(set(message.delivered) | set(delivered)),
    }
    with db.write() as session:
        session.execute(
            update(NotificationRow)
            .where(NotificationRow.id == message.notification_id)
            .values(
                sent_at=None if error else at,
                send_error=error,
                next_attempt_at=next_attempt,
                event_refs={**message.payload, ROUTE: route},
            )
        )
    return next_attempt


def mark_unroutable(db: Database, message: Message) -> None:
    """No channel applies to this notification: the outbox row is the alert; stop leasing it."""
    with db.write() as session:
        session.execute(
            update(NotificationRow)
            .where(NotificationRow.id == message.notification_id)
            .values(next_attempt_at=None)
        )
