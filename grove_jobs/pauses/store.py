"""The global pause: ``pause``, ``resume`` and ``pause_status`` (what ``grove-jobs status``,
``GET /api/status`` and the dashboard banner show). Every change is audited."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from grove_jobs.auth.admin_audit import AdminSource, record_admin
from grove_jobs.clock import iso_z, utcnow
from grove_jobs.db.engine import Database
from grove_jobs.exceptions import FieldError, ValidationFailed
from grove_jobs.pauses.blackout import Interval, load_blackouts, pause_end
from grove_jobs.pauses.tables import PauseRow

MAX_REASON = 500


@dataclass(frozen=True)
class PauseStatus:
    """The scheduler's state at one instant."""

    paused: bool
    reason: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    by: str | None = None
    hold_manual: bool = False
    active_windows: list[Interval] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The documented shape of ``grove-jobs status --json`` and ``GET /api/status``."""
        return {
            "paused": self.paused,
            "reason": self.reason,
            "since": iso_z(self.since),
            "until": iso_z(self.until),
            "by": self.by,
            "holdManual": self.hold_manual,
            "activeWindows": [
                {"name": w.name, "start": iso_z(w.start), "end": iso_z(w.end), "tag": w.tag}
                for w in self.active_windows
            ],
        }


def _check(reason: str, until: datetime | None, at: datetime) -> str:
    errors = []
    text = (reason or "").strip()
    if not text:
        errors.append(FieldError("reason", "a reason is required (it is recorded on every skip)"))
    elif len(text) > MAX_REASON or any(ord(c) < 32 for c in text):
        errors.append(FieldError("reason", f"use one line of at most {MAX_REASON} characters"))
    if until is not None and (until.tzinfo is None or until <= at):
        problem = "needs a timezone" if until.tzinfo is None else "must be in the future"
        errors.append(FieldError("until", f"{until.isoformat()} {problem}"))
    if errors:
        raise ValidationFailed(errors)
    return text


def _active(session, at: datetime) -> PauseRow | None:
    rows = session.scalars(
        select(PauseRow)
        .where(PauseRow.ended_at.is_(None), PauseRow.started_at <= at)
        .order_by(PauseRow.started_at.desc())
    ).all()
    return next((r for r in rows if (end := pause_end(r)) is None or end > at), None)


def pause(
    db: Database,
    *,
    reason: str,
    by: str,
    source: AdminSource,
    until: datetime | None = None,
    hold_manual: bool = False,
    at: datetime | None = None,
) -> PauseStatus:
    """Pause every schedule from ``at`` (now). Pausing while paused ends the current pause
    and starts the new one, so each recorded interval keeps the reason it was skipped for."""
    at = at or utcnow()
    text = _check(reason, until, at)
    with db.write() as session:
        current = _active(session, at)
        if current is not None:
            current.ended_at, current.ended_by = at, by
        session.add(
            PauseRow(
                reason=text, started_at=at, until=until, started_by=by, hold_manual=hold_manual
            )
        )
        detail = {"reason": text, "until": iso_z(until), "holdManual": hold_manual}
        record_admin(
            session, actor=by, source=source, action="pause", target="scheduler", detail=detail
        )
    return pause_status(db, at=at)


def resume(db: Database, *, by: str, source: AdminSource, at: datetime | None = None) -> bool:
    """End the global pause; False (and nothing recorded) when none is in force."""
    at = at or utcnow()
    with db.write() as session:
        current = _active(session, at)
        if current is None:
            return False
        current.ended_at, current.ended_by = at, by
        record_admin(
            session,
            actor=by,
            source=source,
            action="resume",
            target="scheduler",
            detail={"reason": current.reason},
        )
    return True


def pause_status(db: Database, *, at: datetime | None = None) -> PauseStatus:
    """Whether the scheduler is paused at ``at`` (now), and which windows are in force."""
    at = at or utcnow()
    with db.read() as session:
        current = _active(session, at)
        windows = load_blackouts(session, at, at).windows_at(at)
    if current is None:
        return PauseStatus(False, active_windows=windows)
    return PauseStatus(
        True,
        reason=current.reason,
        since=current.started_at,
        until=current.until,
        by=current.started_by,
        hold_manual=current.hold_manual,
        active_windows=windows,
    )
