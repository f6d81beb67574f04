"""The admin audit log: every token, role, pause and maintenance change, who made it and how."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from grove_jobs.auth.tables import AdminAuditRow
from grove_jobs.clock import iso_z, utcnow
from grove_jobs.db.engine import Database

AdminSource = Literal["cli", "api", "dashboard"]


@dataclass(frozen=True)
class AdminEvent:
    """One recorded admin action."""

    id: int
    at: datetime
    actor: str
    source: str
    action: str
    target: str
    detail: dict[str, Any] | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": iso_z(self.at),
            "actor": self.actor,
            "source": self.source,
            "action": self.action,
            "target": self.target,
            "detail": self.detail,
        }


def record_admin(
    session: Session,
    *,
    actor: str,
    source: AdminSource,
    action: str,
    target: str,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    """Add an audit entry in the caller's transaction, so the change and its record commit
    together (or not at all)."""
    session.add(
        AdminAuditRow(
            at=at or utcnow(),
            actor=actor,
            source=source,
            action=action,
            target=target[:400],
            detail=detail,
        )
    )


def audit_admin(db: Database, **fields: Any) -> None:
    """``record_admin`` in a transaction of its own (for changes made through other modules)."""
    with db.write() as session:
        record_admin(session, **fields)


def list_admin_events(db: Database, *, limit: int = 200) -> list[AdminEvent]:
    """The newest admin actions first."""
    stmt = select(AdminAuditRow).order_by(AdminAuditRow.at.desc(), AdminAuditRow.id.desc())
    with db.read() as session:
        return [
            AdminEvent(r.id, r.at, r.actor, r.source, r.action, r.target, r.detail)
            for r in session.scalars(stmt.limit(limit))
        ]
