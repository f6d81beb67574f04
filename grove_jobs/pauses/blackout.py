"""Blackouts: the pause and maintenance intervals over a span of time, as the tick, the claim
and the dashboard see them.

Loaded once per tick or claim from the database, so every sidecar sharing a database honours
the same intervals, and a tick that runs long after a fire time still knows whether a pause or
window covered it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Literal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from grove_jobs import schedule as cron
from grove_jobs.pauses.tables import MaintenanceWindowRow, PauseRow

MAX_OCCURRENCES = 10_000  # per window and span: a minutely window over a week, with room


@dataclass(frozen=True)
class Interval:
    """One pause or one window occurrence: ``[start, end)``; ``end`` None means open-ended."""

    kind: Literal["pause", "maintenance"]
    name: str  # the pause's reason or the window's name
    start: datetime
    end: datetime | None
    tag: str | None = None  # windows only: None covers every config
    hold_manual: bool = False

    @property
    def reason(self) -> str:
        """What a skipped run records as its error."""
        return f"{'paused' if self.kind == 'pause' else 'maintenance'}: {self.name}"

    def covers(self, at: datetime, tags: frozenset[str] | None = None) -> bool:
        """Whether ``at`` lies inside and (for a tagged window) the config has the tag."""
        if at < self.start or (self.end is not None and at >= self.end):
            return False
        return self.tag is None or (tags is not None and self.tag in tags)


@dataclass(frozen=True)
class Blackouts:
    """Every interval overlapping some span, pauses first."""

    intervals: tuple[Interval, ...]

    def __bool__(self) -> bool:
        return bool(self.intervals)

    def blocking(self, at: datetime, tags: frozenset[str] | None = None) -> Interval | None:
        """The first interval covering ``at`` for a config with ``tags``."""
        return next((i for i in self.intervals if i.covers(at, tags)), None)

    def pause_at(self, at: datetime) -> Interval | None:
        """The global pause in force at ``at``."""
        return next((i for i in self.intervals if i.kind == "pause" and i.covers(at)), None)

    def windows_at(self, at: datetime) -> list[Interval]:
        """Maintenance window occurrences in force at ``at`` (any tag)."""
        return [
            i
            for i in self.intervals
            if i.kind == "maintenance" and i.start <= at and (i.end is None or at < i.end)
        ]


def pause_end(row: PauseRow) -> datetime | None:
    """Where a pause's interval ends: its resume or its ``until``, whichever is first."""
    ends = [e for e in (row.ended_at, row.until) if e is not None]
    return min(ends) if ends else None


def window_occurrences(
    row: MaintenanceWindowRow, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """The occurrences of a window that overlap ``[start, end]``."""
    if row.cron_expression is None:
        if row.starts_at is None or row.ends_at is None:
            return []
        overlaps = row.starts_at <= end and row.ends_at > start
        return [(row.starts_at, row.ends_at)] if overlaps else []
    minutes = row.duration_minutes or 0
    length = timedelta(minutes=minutes)
    if end - start < _MINUTE:
        # The claim asks about one instant on every poll: fire times are whole minutes, so
        # the answer for the minute is computed once per window and minute.
        minute = start.replace(second=0, microsecond=0)
        fires = list(_starts_near(row.cron_expression, row.timezone, minutes, minute))
    else:
        fires = _starts(row.cron_expression, row.timezone, length, start, end)
    return [(f, f + length) for f in fires if f + length > start and f <= end]


_MINUTE = timedelta(minutes=1)


def _starts(expression: str, timezone: str, length: timedelta, start: datetime, end: datetime):
    # An occurrence that began up to one duration before ``start`` is still in force there;
    # fires_between excludes its lower bound, hence the extra second.
    low = start - length - timedelta(seconds=1)
    return cron.fires_between(expression, timezone, low, end, limit=MAX_OCCURRENCES)


@lru_cache(maxsize=4096)
def _starts_near(
    expression: str, timezone: str, minutes: int, minute: datetime
) -> tuple[datetime, ...]:
    """Occurrence starts that can be in force during ``minute`` (a whole UTC minute)."""
    length = timedelta(minutes=minutes)
    return tuple(_starts(expression, timezone, length, minute, minute + _MINUTE))


def pause_intervals(session: Session, start: datetime, end: datetime) -> list[Interval]:
    """The global pauses overlapping ``[start, end]``."""
    rows = session.scalars(
        select(PauseRow)
        .where(
            PauseRow.started_at <= end,
            or_(PauseRow.ended_at.is_(None), PauseRow.ended_at > start),
        )
        .order_by(PauseRow.started_at)
    ).all()
    intervals = []
    for row in rows:
        stop = pause_end(row)
        if stop is None or stop > start:
            intervals.append(
                Interval("pause", row.reason, row.started_at, stop, None, row.hold_manual)
            )
    return intervals


def window_intervals(session: Session, start: datetime, end: datetime) -> list[Interval]:
    """The maintenance window occurrences overlapping ``[start, end]``."""
    windows = session.scalars(select(MaintenanceWindowRow).order_by(MaintenanceWindowRow.name))
    return [
        Interval("maintenance", window.name, s, e, window.tag)
        for window in windows
        for s, e in window_occurrences(window, start, end)
    ]


def load_blackouts(session: Session, start: datetime, end: datetime) -> Blackouts:
    """The pauses and window occurrences overlapping ``[start, end]``, pauses first."""
    return Blackouts(
        (*pause_intervals(session, start, end), *window_intervals(session, start, end))
    )
