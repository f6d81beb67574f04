"""The claim's view of pauses: which waiting runs may start right now."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, or_, select
from sqlalchemy.orm import Session

from grove_jobs.db.tables import JobConfigRow, JobExecutionRow
from grove_jobs.pauses.blackout import Blackouts, pause_intervals, window_intervals
from grove_jobs.pauses.tables import MaintenanceWindowRow, PauseRow

E = JobExecutionRow
# Runs a person asked for: they start during a pause unless it holds manual runs too.
# "retry" is an operator's Retry (a new queued run), not an automatic retry (status retrying).
MANUAL_TRIGGERS = ("manual", "api", "retry")


def may_hold(at: Any) -> ColumnElement[bool]:
    """True when a pause may be in force at ``at`` (a datetime or a SQL expression such as
    ``now()``) or any maintenance window exists: a cheap test that lets the claim skip
    computing blackouts on the usual poll, when there are none."""
    paused = exists().where(
        PauseRow.started_at <= at,
        or_(PauseRow.ended_at.is_(None), PauseRow.ended_at > at),
        or_(PauseRow.until.is_(None), PauseRow.until > at),
    )
    return or_(paused, exists().where(MaintenanceWindowRow.id.is_not(None)))


def startable(
    session: Session, at: datetime, *, possibly_held: bool | None = None
) -> ColumnElement[bool] | None:
    """A condition on executions: true for the runs no pause or window holds back at ``at``;
    None when nothing holds any run back (the usual case: no condition to add).

    While paused only queued manual runs qualify (none with ``hold_manual``); during a window
    the same holds for the configs it covers. Running runs are never affected.
    ``possibly_held`` is :func:`may_hold` when the caller read it already.
    """
    if possibly_held is None:
        possibly_held = bool(session.scalar(select(may_hold(at))))
    if not possibly_held:
        return None
    manual = and_(E.status == "queued", E.trigger.in_(MANUAL_TRIGGERS))
    # A pause overrides every window, so the windows are not even computed then.
    pause = Blackouts(tuple(pause_intervals(session, at, at))).pause_at(at)
    if pause is not None:
        return false() if pause.hold_manual else manual
    windows = Blackouts(tuple(window_intervals(session, at, at))).windows_at(at)
    if not windows:
        return None
    if any(w.tag is None for w in windows):
        return manual
    tags = {w.tag for w in windows}
    covered = [
        config_id
        for config_id, meta in session.execute(select(JobConfigRow.id, JobConfigRow.meta))
        if tags & set((meta or {}).get("tags") or [])
    ]
    return or_(manual, E.config_id.not_in(covered)) if covered else None
