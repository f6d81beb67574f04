"""What runs next: every enabled config's fire times over a window, from the sidecar's own
schedule code (``grove_jobs.schedule``), with runs per hour, DST transitions and shading.

Fire times are computed once per distinct (cron, timezone) pair: a thousand configs usually
share a few dozen schedules, and a seven-day window of an every-five-minutes schedule is two
thousand instants.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from grove_jobs import schedule as cron
from grove_jobs.db.records import ConfigRecord
from grove_jobs.schema.job_config import JobConfigPayload

HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class ScheduledConfig:
    """One job config as the Upcoming page plots it."""

    id: str
    title: str
    job_type: str
    tags: tuple[str, ...]
    cron: str
    timezone: str
    paused: bool  # disabled: its fires are shown shaded and not counted


@dataclass(frozen=True)
class Shade:
    """A stretch of time drawn shaded (a maintenance window; a paused config's row)."""

    start: datetime
    end: datetime
    label: str
    config_id: str | None = None  # None: covers every config


@dataclass(frozen=True)
class Upcoming:
    """Fire times per config over (start, end], runs per hour, and what to flag."""

    start: datetime
    end: datetime
    fires: dict[str, tuple[datetime, ...]]  # config id -> UTC instants, ascending
    per_hour: list[tuple[datetime, int]]  # hour start (UTC) -> runs of enabled configs
    dst_transitions: list[tuple[datetime, str]]  # (instant, zone) where a zone's offset moves
    shades: list[Shade] = field(default_factory=list)


def scheduled_configs(records: Iterable[ConfigRecord]) -> list[ScheduledConfig]:
    """The active job configs among ``records`` (enabled or not), for :func:`upcoming`."""
    found = []
    for record in records:
        payload = record.object.payload
        if not isinstance(payload, JobConfigPayload) or record.object.meta.status != "active":
            continue
        found.append(
            ScheduledConfig(
                id=record.id,
                title=record.object.meta.title or payload.display_name,
                job_type=payload.job_type,
                tags=tuple(record.object.meta.tags),
                cron=payload.schedule.cron_expression,
                timezone=payload.schedule.timezone,
                paused=not payload.schedule.is_enabled,
            )
        )
    return found


def upcoming(
    configs: Sequence[ScheduledConfig],
    start: datetime,
    end: datetime,
    windows: Sequence[tuple[datetime, datetime, str]] = (),
) -> Upcoming:
    """Fires of ``configs`` in (start, end]; paused configs' fires are kept but not counted.
    ``windows`` (maintenance occurrences, see ``grove_jobs.pauses``) are shaded."""
    fires = {c.id: _fires(c.cron, c.timezone, start, end) for c in configs}
    counts: Counter[datetime] = Counter()
    for config in configs:
        if not config.paused:
            counts.update(_hour_of(instant) for instant in fires[config.id])
    hour, per_hour = _hour_of(start), []
    while hour < end:
        per_hour.append((hour, counts.get(hour, 0)))
        hour += HOUR
    zones = sorted({c.timezone for c in configs})
    shades = [
        Shade(start, end, "paused (disabled)", config_id=c.id) for c in configs if c.paused
    ] + [Shade(low, high, f"maintenance: {name}") for low, high, name in windows]
    return Upcoming(start, end, fires, per_hour, dst_transitions(zones, start, end), shades)


def dst_transitions(
    zones: Iterable[str], start: datetime, end: datetime
) -> list[tuple[datetime, str]]:
    """Instants in (start, end] where a zone's UTC offset changes, found hour by hour."""
    found = []
    for name in zones:
        zone = ZoneInfo(name)
        at = _hour_of(start)
        previous = at.astimezone(zone).utcoffset()
        while at < end:
            at += HOUR
            offset = at.astimezone(zone).utcoffset()
            if offset != previous and start < at <= end:
                found.append((at, name))
            previous = offset
    return sorted(found)


def is_dst_change(instant: datetime, previous: datetime | None, timezone: str) -> bool:
    """Whether the zone's UTC offset moved between the previous fire and this one."""
    if previous is None:
        return False
    zone = ZoneInfo(timezone)
    return instant.astimezone(zone).utcoffset() != previous.astimezone(zone).utcoffset()


@lru_cache(maxsize=512)
def _fires(expression: str, timezone: str, start: datetime, end: datetime) -> tuple[datetime, ...]:
    try:
        return tuple(cron.fires_between(expression, timezone, start, end, limit=20_000))
    except ValueError:
        return ()  # an invalid stored schedule never fires; the inspector says why


def _hour_of(instant: datetime) -> datetime:
    return instant.replace(minute=0, second=0, microsecond=0)
