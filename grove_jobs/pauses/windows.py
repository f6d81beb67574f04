"""Maintenance windows: named, one-off (start, end) or recurring (cron + duration + timezone),
for every config or those with one tag. During a window its configs behave as paused."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from grove_jobs import schedule as cron
from grove_jobs.auth.admin_audit import AdminSource, record_admin
from grove_jobs.clock import iso_z, utcnow
from grove_jobs.db.engine import Database
from grove_jobs.exceptions import AlreadyExists, FieldError, NotFound, ValidationFailed
from grove_jobs.pauses.blackout import Blackouts, load_blackouts
from grove_jobs.pauses.tables import MaintenanceWindowRow

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.:-]{0,99}$")
MAX_DURATION_MINUTES = 7 * 24 * 60


@dataclass(frozen=True)
class WindowSpec:
    """What ``add_window`` needs; exactly one of (starts_at, ends_at) or (cron, duration)."""

    name: str
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    cron_expression: str | None = None
    duration_minutes: int | None = None
    timezone: str = "UTC"
    tag: str | None = None


@dataclass(frozen=True)
class Window:
    """A stored maintenance window."""

    id: int
    spec: WindowSpec
    created_by: str
    created_at: datetime

    def describe(self) -> str:
        """``2026-12-01 02:00 → 04:00 UTC`` or ``0 2 * * SUN for 90 min (Europe/Paris)``."""
        s = self.spec
        if s.cron_expression:
            return f"{s.cron_expression} for {s.duration_minutes} min ({s.timezone})"
        return f"{iso_z(s.starts_at)} → {iso_z(s.ends_at)}"

    def to_json(self) -> dict[str, Any]:
        s = self.spec
        return {
            "id": self.id,
            "name": s.name,
            "start": iso_z(s.starts_at),
            "end": iso_z(s.ends_at),
            "cronExpression": s.cron_expression,
            "durationMinutes": s.duration_minutes,
            "timezone": s.timezone,
            "tag": s.tag,
            "createdBy": self.created_by,
            "createdAt": iso_z(self.created_at),
        }


def _validate(spec: WindowSpec) -> WindowSpec:
    errors: list[FieldError] = []
    name = (spec.name or "").strip()
    if not _NAME.match(name):
        errors.append(FieldError("name", "use 1-100 letters, digits, spaces and _ . : -"))
    expression, timezone = spec.cron_expression, spec.timezone or "UTC"
    one_off = spec.starts_at is not None or spec.ends_at is not None
    if expression and one_off:
        errors.append(FieldError("cron", "give either --start/--end or --cron, not both"))
    elif expression:
        try:
            expression = cron.validate_cron(expression)
        except ValueError as exc:
            errors.append(FieldError("cron", str(exc)))
        minutes = spec.duration_minutes
        if minutes is None or not 1 <= minutes <= MAX_DURATION_MINUTES:
            errors.append(
                FieldError("duration", f"give 1 to {MAX_DURATION_MINUTES} minutes for --cron")
            )
        try:
            timezone = cron.validate_timezone(timezone)
        except ValueError as exc:
            errors.append(FieldError("timezone", str(exc)))
    else:
        for label, value in (("start", spec.starts_at), ("end", spec.ends_at)):
            if value is None:
                errors.append(FieldError(label, "required for a one-off window (or use --cron)"))
            elif value.tzinfo is None:
                errors.append(FieldError(label, f"{value.isoformat()} needs a timezone"))
        if not errors and spec.ends_at <= spec.starts_at:  # type: ignore[operator]
            errors.append(FieldError("end", "must be after start"))
    tag = (spec.tag or "").strip() or None
    if tag is not None and len(tag) > 64:
        errors.append(FieldError("tag", "at most 64 characters"))
    if errors:
        raise ValidationFailed(errors)
    return WindowSpec(
        name,
        spec.starts_at,
        spec.ends_at,
        expression,
        spec.duration_minutes if expression else None,
        timezone,
        tag,
    )


def _record(row: MaintenanceWindowRow) -> Window:
    spec = WindowSpec(
        row.name,
        row.starts_at,
        row.ends_at,
        row.cron_expression,
        row.duration_minutes,
        row.timezone,
        row.tag,
    )
    return Window(row.id, spec, row.created_by, row.created_at)


def add_window(
    db: Database, spec: WindowSpec, *, by: str, source: AdminSource, at: datetime | None = None
) -> Window:
    """Store a window (names are unique); audited."""
    spec = _validate(spec)
    row = MaintenanceWindowRow(
        name=spec.name,
        starts_at=spec.starts_at,
        ends_at=spec.ends_at,
        cron_expression=spec.cron_expression,
        duration_minutes=spec.duration_minutes,
        timezone=spec.timezone,
        tag=spec.tag,
        created_by=by,
        created_at=at or utcnow(),
    )
    try:
        with db.write() as session:
            session.add(row)
            session.flush()
            window = _record(row)
            record_admin(
                session,
                actor=by,
                source=source,
                action="window.add",
                target=spec.name,
                detail=window.to_json(),
            )
            return window
    except IntegrityError as exc:
        raise AlreadyExists("maintenance window", spec.name) from exc


def list_windows(db: Database) -> list[Window]:
    """Every window, by name."""
    with db.read() as session:
        rows = session.scalars(select(MaintenanceWindowRow).order_by(MaintenanceWindowRow.name))
        return [_record(r) for r in rows]


def remove_window(db: Database, name_or_id: str, *, by: str, source: AdminSource) -> Window:
    """Delete a window by name or id. Runs it already skipped stay skipped."""
    with db.write() as session:
        stmt = select(MaintenanceWindowRow)
        if name_or_id.isdigit():
            stmt = stmt.where(MaintenanceWindowRow.id == int(name_or_id))
        else:
            stmt = stmt.where(MaintenanceWindowRow.name == name_or_id)
        row = session.scalars(stmt).first()
        if row is None:
            raise NotFound("maintenance window", name_or_id)
        window = _record(row)
        session.delete(row)
        record_admin(
            session, actor=by, source=source, action="window.remove", target=window.spec.name
        )
        return window


def blackouts_between(db: Database, start: datetime, end: datetime) -> Blackouts:
    """The pauses and window occurrences overlapping ``[start, end]``, as the tick sees them
    (for pages that show what a pause or window will skip, such as Upcoming)."""
    with db.read() as session:
        return load_blackouts(session, start, end)
