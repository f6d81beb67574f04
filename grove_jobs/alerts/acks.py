"""Acknowledging an incident: someone is on it. It records who and when, nothing more: the
incident still resolves by itself and still notifies when it does."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from grove_jobs.alerts.tables import AlertIncidentRow
from grove_jobs.clock import utcnow
from grove_jobs.db.engine import Database
from grove_jobs.exceptions import GroveError, NotFound

I = AlertIncidentRow  # noqa: E741


@dataclass(frozen=True)
class Acknowledgement:
    """Who acknowledged an incident, and when (the first acknowledgement stands)."""

    incident_id: int
    at: datetime
    by: str


def acknowledge_incident(
    db: Database, incident_id: int, *, actor: str, at: datetime | None = None
) -> Acknowledgement:
    """Mark an open incident acknowledged by ``actor``; a resolved one is refused."""
    at = at or utcnow()
    with db.write() as session:
        row = session.get(I, incident_id)
        if row is None:
            raise NotFound("alert incident", incident_id)
        if row.resolved_at is not None:
            raise GroveError(f"alert incident {incident_id} is resolved; nothing to acknowledge")
        # Guarded: of two operators clicking at once, the first one is recorded.
        session.execute(
            update(I)
            .where(I.id == incident_id, I.acknowledged_at.is_(None))
            .values(acknowledged_at=at, acknowledged_by=actor)
            .execution_options(synchronize_session=False)
        )
        fresh = session.execute(
            select(I.acknowledged_at, I.acknowledged_by).where(I.id == incident_id)
        ).one()
    return Acknowledgement(incident_id, fresh.acknowledged_at, fresh.acknowledged_by)
