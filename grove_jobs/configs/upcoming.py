"""What runs next: every enabled config's fire times over a window, from the sidecar's own
schedule code (``grove_jobs.schedule``), with runs per hour, DST transitions and shading.
Fires inside a global pause or a maintenance window are marked skipped by the same
:class:`~grove_jobs.pauses.blackout.Blackouts` the tick consults.

Fire times are computed once per distinct (cron, timezone) pair: a thousand configs usually
share a few dozen schedules, and a seven-day window of an every-five-minutes schedule is two
thousand instants.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from grove_jobs import schedule as cron
from grove_jobs.db.records import ConfigRecord
from grove_jobs.pauses.blackout import Blackouts
from grove_jobs.schema.job_config import JobConfigPayload

HOUR = timedelta(hours=1)
NO_BLACKOUTS = Blackouts(())


@dataclass(frozen=True)
class ScheduledConfig:
    """One job config as the Upcoming page plots it."""

    id: str
    title: str
    job_type: str
    tags: tuple[str, ...]
    cron: str
    timezone: str
    disabled: bool  # its fires are shown shaded and not counted


@dataclass(frozen=True)
class Shade:
    """A stretch of time drawn shaded (a pause or maintenance window; a disabled config's row)."""

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
    # config id -> {fire: what skips it ("paused: ...", "maintenance: ...")}, enabled configs
    skipped: dict[str, dict[datetime, str]] = field(default_factory=dict)
    skipped_per_hour: list[tuple[datetime, int]] = field(default_factory=list)

    @property
    def runs(self) -> int:
        """Fires of enabled configs that will run (not skipped)."""
        return sum(count for _, count in self.per_hour)

    @property
    def skipped_total(self) -> int:
        """Fires of enabled configs that a pause or a window skips."""
        return sum(len(found) for found in self.skipped.values())


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
                disabled=not payload.schedule.is_enabled,
            )
        )
    return found


def upcoming(
    configs: Sequence[ScheduledConfig],
    start: datetime,
    end: datetime,
    blackouts: Blackouts = NO_BLACKOUTS,
) -> Upcoming:
    """Fires of ``configs`` in (start, end]. Disabled configs' fires are kept (drawn shaded) but
    not counted; fires inside one of ``blackouts`` (see ``grove_jobs.pauses``) are counted as
    skipped, with the reason the tick records."""
    fires = {c.id: _fires(c.cron, c.timezone, start, end) for c in configs}
    runs: Counter[datetime] = Counter()
    skips: Counter[datetime] = Counter()
    skipped: dict[str, dict[datetime, str]] = {}
    for config in configs:
        if config.disabled:
            continue
        found = _skipped(fires[config.id], frozenset(config.tags), blackouts)
        if found:
            skipped[config.id] = found
            skips.update(_hour_of(instant) for instant in found)
        runs.update(_hour_of(instant) for instant in fires[config.id] if instant not in found)
    hours = []
    hour = _hour_of(start)
    while hour < end:
        hours.append(hour)
        hour += HOUR
    zones = sorted({c.timezone for c in configs})
    shades = [Shade(start, end, "disabled", config_id=c.id) for c in configs if c.disabled]
    shades += [
        Shade(max(i.start, start), min(i.end or end, end), _shade_label(i.reason, i.tag))
        for i in blackouts.intervals
    ]
    return Upcoming(
        start,
        end,
        fires,
        [(h, runs.get(h, 0)) for h in hours],
        dst_transitions(zones, start, end),
        shades,
        skipped,
        [(h, skips.get(h, 0)) for h in hours],
    )


def _skipped(
    fires: Sequence[datetime], tags: frozenset[str], blackouts: Blackouts
) -> dict[datetime, str]:
    """The fires inside an interval covering a config with ``tags``, each with its reason; the
    first interval wins, as in the tick. Found by bisecting the sorted fires per interval."""
    found: dict[datetime, str] = {}
    for interval in blackouts.intervals:
        if interval.tag is not None and interval.tag not in tags:
            continue
        low = bisect_left(fires, interval.start)
        high = len(fires) if interval.end is None else bisect_left(fires, interval.end)
        for instant in fires[low:high]:
            found.setdefault(instant, interval.reason)
    return found


def _shade_label(reason: str, tag: str | None) -> str:
    return f"{reason} (tag {tag})" if tag else reason


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
