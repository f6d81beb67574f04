"""Cron + IANA timezone -> UTC fire instants, with explicit DST rules, and human text.

Cron is evaluated on local wall-clock times in the config's zone; every instant returned
is an aware UTC datetime. DST rules (DESIGN.md, "Scheduling rules"):

- A fixed local time that does not exist (spring forward) fires once, at the first
  instant after the gap; several cron times inside one gap collapse into that one fire.
- A fixed local time that occurs twice (fall back) fires once, at its first occurrence.
- When the hour field is a wildcard or a step (``*``, ``*/2``, ``1-23/2``) the schedule
  follows real elapsed time: a repeated hour fires twice, a skipped hour not at all.

croniter only ever sees naive wall times; mapping them to instants is done here with
zoneinfo, because croniter's own DST handling does not implement these rules.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from itertools import islice
from typing import NamedTuple
from zoneinfo import ZoneInfo, available_timezones

from cron_descriptor import FormatError, MissingFieldError, Options, WrongArgumentError
from cron_descriptor import get_description as _cron_description
from croniter import CroniterBadDateError, croniter

from grove_jobs.schedule_checks import HOST_ZONES, backward_range, unknown_zone_message

__all__ = [
    "MACROS",
    "CronError",
    "FireTime",
    "describe",
    "fire_times",
    "fires_between",
    "humanize_next_run",
    "next_fire",
    "normalize_cron",
    "preview",
    "validate_cron",
    "validate_timezone",
]

MACROS: dict[str, str] = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

_FIELDS: tuple[tuple[str, str], ...] = (
    ("minute", "0-59"),
    ("hour", "0-23"),
    ("day-of-month", "1-31"),
    ("month", "1-12 or jan-dec"),
    ("day-of-week", "0-7 or sun-sat"),
)
# Parsing and the never-fires check must not depend on the clock, so both start here.
_REFERENCE = datetime(2000, 1, 1)
# Weekdays and leap years repeat every 28 years within 1901-2099, so a pattern such as
# "fifth Monday of February" that fires at all fires within this horizon.
_HORIZON_YEARS = 30
# Far more than any real search needs; only a broken time zone could exhaust it.
_MAX_STEPS = 1_000
# Longest fold in tzdata since 2020 is 3 h (Antarctica/Casey); one day leaves room.
_LOOKAHEAD = timedelta(days=1)
# croniter returns the first match strictly after a cursor at minute resolution, so a
# cursor one second before a wall time makes that wall time eligible.
_JUST_BEFORE = timedelta(seconds=1)
# Pinned: cron-descriptor otherwise follows the host locale (and warns when unset).
_DESCRIBE_OPTIONS = Options(locale_code="en_US", use_24hour_time_format=False)
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class CronError(ValueError):
    """A cron expression that is malformed or can never fire."""


@dataclass(frozen=True)
class FireTime:
    """One upcoming fire: the instant, its local wall time, and whether the offset moved."""

    utc: datetime
    local: datetime
    dst_change: bool


class _Spec(NamedTuple):
    expression: str
    # Wildcard/step hours follow real elapsed time; fixed hours follow the wall clock.
    elapsed: bool


# --- parsing and validation -------------------------------------------------------------


def normalize_cron(expression: str) -> str:
    """Strip, expand macros, collapse whitespace; raise CronError unless 5 valid fields."""
    if not isinstance(expression, str):
        raise CronError(f"cron expression must be text, not {type(expression).__name__}")
    text = " ".join(expression.split())
    if not text:
        raise CronError("cron expression is empty")
    if text.startswith("@"):
        macro = MACROS.get(text.lower())
        if macro is None:
            raise CronError(f"unknown cron macro {text!r}; use one of {', '.join(MACROS)}")
        return macro
    fields = text.split(" ")
    if len(fields) != 5:
        raise CronError(
            f"cron expression {text!r} has {len(fields)} field(s); expected 5: "
            "minute hour day-of-month month day-of-week"
        )
    if not _parses(text):
        raise CronError(_explain(text, fields))
    if problem := backward_range(fields):
        raise CronError(f"{problem} in {text!r}")
    return text


def _parses(text: str) -> bool:
    try:
        croniter(text, _REFERENCE)
    except (ValueError, TypeError, KeyError):  # croniter's errors derive from these
        return False
    return True


def _explain(text: str, fields: list[str]) -> str:
    # croniter's messages quote the whole expression; point at the offending field instead.
    for index, (name, allowed) in enumerate(_FIELDS):
        probe = ["*"] * 5
        probe[index] = fields[index]
        if not _parses(" ".join(probe)):
            return f"invalid {name} field {fields[index]!r} in {text!r}; allowed: {allowed}"
    return f"invalid cron expression {text!r}"


def validate_cron(expression: str) -> str:
    """Normalize, and reject expressions that can never fire (e.g. '0 0 31 2 *')."""
    return _compile(expression).expression


@lru_cache(maxsize=4096)
def _compile(expression: str) -> _Spec:
    text = normalize_cron(expression)
    try:
        croniter(text, _REFERENCE, max_years_between_matches=_HORIZON_YEARS).get_next(datetime)
    except CroniterBadDateError as exc:
        raise CronError(
            f"cron expression {text!r} never fires: no calendar date matches its "
            "day-of-month, month and day-of-week fields"
        ) from exc
    hour = text.split(" ")[1]
    return _Spec(text, "*" in hour or "/" in hour)


@lru_cache(maxsize=1)
def _known_zones() -> frozenset[str]:
    return (frozenset(available_timezones()) | {"UTC"}) - HOST_ZONES


def validate_timezone(name: str) -> str:
    """Return the IANA zone name, or raise ValueError naming the unknown zone."""
    if isinstance(name, str) and name.strip() in _known_zones():
        return name.strip()
    raise ValueError(unknown_zone_message(name))


@lru_cache(maxsize=1024)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(validate_timezone(name))


def _utc_instant(value: datetime, label: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{label} must be a timezone-aware datetime, got naive {value!r}")
    return value.astimezone(UTC)


# --- fire times -------------------------------------------------------------------------


def _as_utc(wall_minus_offset: datetime) -> datetime:
    return wall_minus_offset.replace(tzinfo=UTC)


def _transition(zone: ZoneInfo, before: datetime, after: datetime) -> datetime:
    """First instant in (before, after] whose UTC offset differs from the one at `before`."""
    offset = before.astimezone(zone).utcoffset()
    low, high = math.floor(before.timestamp()), math.ceil(after.timestamp())
    # tzdata transitions fall on whole seconds, so bisecting seconds is exact.
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == offset:
            low = middle
        else:
            high = middle
    return datetime.fromtimestamp(high, UTC)


class _Placed(NamedTuple):
    """Where a matching wall time lands on the UTC timeline."""

    # The wall time's (first) occurrence; for a wall time skipped by a gap, the gap's end.
    first: datetime
    # The second occurrence of a wall time repeated by a fold.
    second: datetime | None
    skipped: bool


def _place(wall: datetime, zone: ZoneInfo) -> _Placed:
    earlier = wall.replace(tzinfo=zone).utcoffset()
    later = wall.replace(tzinfo=zone, fold=1).utcoffset()
    assert earlier is not None and later is not None  # ZoneInfo always has an offset
    if earlier == later:
        return _Placed(_as_utc(wall - earlier), None, skipped=False)
    if earlier > later:  # fall back: this wall time happens twice
        return _Placed(_as_utc(wall - earlier), _as_utc(wall - later), skipped=False)
    # Spring forward: PEP 495 reads a missing time with the offsets on either side of the
    # gap, which brackets the transition.
    gap_end = _transition(zone, _as_utc(wall - later), _as_utc(wall - earlier))
    return _Placed(gap_end, None, skipped=True)


def _first_after(spec: _Spec, zone: ZoneInfo, after: datetime, walls: croniter) -> datetime:
    """First fire instant strictly after the UTC instant `after`."""
    try:
        return _search(spec, zone, after, walls)
    except OverflowError as exc:  # searching past datetime.max
        raise CronError(f"{spec.expression!r} has no fire time after {after}") from exc


def _search(spec: _Spec, zone: ZoneInfo, after: datetime, walls: croniter) -> datetime:
    offset = after.astimezone(zone).utcoffset()
    assert offset is not None
    best: datetime | None = None
    if spec.elapsed:
        best = _repeat_before_fold(spec, zone, after, offset, walls)
    cursor = (after + offset).replace(tzinfo=None)
    for _ in range(_MAX_STEPS):
        wall = _next_wall(spec, walls, cursor)
        placed = _place(wall, zone)
        if placed.skipped and spec.elapsed:
            # Elapsed time never shows these wall times; resume where the gap ends.
            cursor = placed.first.astimezone(zone).replace(tzinfo=None) - _JUST_BEFORE
            continue
        # First occurrences (and gap ends) grow with the wall time, and a second occurrence
        # comes after its first, so the first one past `after` bounds all later walls.
        if placed.first > after:
            return placed.first if best is None else min(best, placed.first)
        if placed.second is None:
            # Unreachable with tzdata's widely spaced transitions; keep scanning regardless.
            cursor = wall
            continue
        # Inside a fold, with `after` past this wall's first occurrence.
        if spec.elapsed and placed.second > after and (best is None or placed.second < best):
            best = placed.second
        # The fold's remaining walls first occurred before `after` too, and their second
        # occurrences come after this one: resume where the repeated wall times end.
        fold_end = _transition(zone, placed.first, placed.second)
        first_offset = wall - placed.first.replace(tzinfo=None)
        cursor = (fold_end + first_offset).replace(tzinfo=None) - _JUST_BEFORE
    raise CronError(f"{spec.expression!r}: no fire time found after {after}")


def _next_wall(spec: _Spec, walls: croniter, cursor: datetime) -> datetime:
    """First wall time matching the cron strictly after the naive `cursor`."""
    try:
        return walls.get_next(datetime, start_time=cursor)
    except CroniterBadDateError as exc:
        raise CronError(f"{spec.expression!r} has no fire time after {cursor}") from exc


def _repeat_before_fold(
    spec: _Spec, zone: ZoneInfo, after: datetime, offset: timedelta, walls: croniter
) -> datetime | None:
    """Second occurrence of a repeated wall time, when a fold follows shortly after `after`.

    Walls of the repeated hour that precede `after`'s own wall time are never reached by
    the forward search, yet their second occurrences still lie ahead.
    """
    later_offset = (after + _LOOKAHEAD).astimezone(zone).utcoffset()
    assert later_offset is not None
    if later_offset >= offset:
        return None
    fold_at = _transition(zone, after, after + _LOOKAHEAD)
    repeated_from = (fold_at + later_offset).replace(tzinfo=None)
    repeated_until = (fold_at + offset).replace(tzinfo=None)
    wall = _next_wall(spec, walls, repeated_from - _JUST_BEFORE)
    if wall >= repeated_until:
        return None
    return _as_utc(wall - later_offset)


def _fires(spec: _Spec, zone: ZoneInfo, after: datetime) -> Iterator[datetime]:
    # Shared like next_fire's: parsing per call was most of an alert pass over 10,000 configs.
    walls = _shared_walls(spec.expression)
    while True:
        after = _first_after(spec, zone, after, walls)
        yield after


_per_thread = threading.local()


def _shared_walls(expression: str) -> croniter:
    """A croniter reused within one thread: parsing costs more than a search.

    Safe because every search passes its own start time; threads never share one.
    """
    cache: dict[str, croniter] | None = getattr(_per_thread, "walls", None)
    if cache is None:
        cache = _per_thread.walls = {}
    walls = cache.get(expression)
    if walls is None:
        if len(cache) >= 512:
            cache.clear()
        walls = cache[expression] = croniter(expression, _REFERENCE)
    return walls


def next_fire(expression: str, timezone: str, after: datetime) -> datetime:
    """First fire instant strictly after `after`, returned as an aware UTC datetime."""
    return _next_fire(expression, timezone, _utc_instant(after, "after"))


@lru_cache(maxsize=8192)
def _next_fire(expression: str, timezone: str, start: datetime) -> datetime:
    # Remembered: configs share schedules and their runs share fire times, so an alert pass
    # over a thousand configs that just ran asks the same question a thousand times, at about
    # 0.1 ms of croniter each, on a thread that competes with the dispatcher for the GIL.
    spec = _compile(expression)
    return _first_after(spec, _zone(timezone), start, _shared_walls(spec.expression))


def fire_times(expression: str, timezone: str, after: datetime, count: int) -> list[datetime]:
    """The next `count` fire instants after `after`, UTC, strictly increasing."""
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    start = _utc_instant(after, "after")
    return list(islice(_fires(_compile(expression), _zone(timezone), start), count))


def fires_between(
    expression: str, timezone: str, start: datetime, end: datetime, limit: int = 10_000
) -> list[datetime]:
    """Fire instants in (start, end], UTC, at most `limit` of them (the earliest)."""
    if limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    low, high = _utc_instant(start, "start"), _utc_instant(end, "end")
    result: list[datetime] = []
    for instant in _fires(_compile(expression), _zone(timezone), low):
        if instant > high or len(result) >= limit:
            break
        result.append(instant)
    return result


def previous_fire(expression: str, timezone: str, before: datetime) -> datetime | None:
    """The last fire instant strictly before `before` (UTC), or None within five years.

    Looks back through growing windows, so a frequent schedule costs a few dozen fire times
    and a yearly one a handful of windows."""
    end = _utc_instant(before, "before") - timedelta(microseconds=1)
    window = timedelta(minutes=2)  # fires are at least a minute apart
    while window <= timedelta(days=366 * 5) * 8:
        try:
            start = end - window
        except OverflowError:  # before year 1: nothing fired
            return None
        fires = fires_between(expression, timezone, start, end)
        if fires:
            return fires[-1]
        window *= 8
    return None


def preview(expression: str, timezone: str, after: datetime, count: int = 5) -> list[FireTime]:
    """Upcoming fires with local times, flagging those whose UTC offset changed."""
    zone = _zone(timezone)
    previous = _utc_instant(after, "after").astimezone(zone).utcoffset()
    result: list[FireTime] = []
    for instant in fire_times(expression, timezone, after, count):
        local = instant.astimezone(zone)
        offset = local.utcoffset()
        result.append(FireTime(utc=instant, local=local, dst_change=offset != previous))
        previous = offset
    return result


# --- human text -------------------------------------------------------------------------


def describe(expression: str, timezone: str) -> str:
    """English description plus the zone, e.g. 'At 02:00 AM (America/Los_Angeles)'."""
    text = normalize_cron(expression)
    zone = validate_timezone(timezone)
    try:
        description = _cron_description(text, _DESCRIBE_OPTIONS)
    except (FormatError, MissingFieldError, WrongArgumentError):
        # croniter accepts a little syntax cron-descriptor does not; show the raw cron.
        description = f"Cron {text}"
    return f"{description} ({zone})"


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"


def _span(seconds: float) -> str:
    if seconds < 60:
        return "less than a minute"
    minutes = round(seconds / 60)
    if minutes < 60:
        return _plural(minutes, "minute")
    hours = round(seconds / 3600)
    if hours < 24:
        return _plural(hours, "hour")
    return _plural(round(seconds / 86400), "day")


def _clock(local: datetime) -> str:
    hour = local.hour % 12 or 12
    return f"{hour}:{local.minute:02d} {'AM' if local.hour < 12 else 'PM'} {local.strftime('%Z')}"


def humanize_next_run(at: datetime, now: datetime, timezone: str) -> str:
    """'in 5 minutes · Today 2:00 PM PST'; a past `at` gives 'overdue by 3 minutes'."""
    at_utc, now_utc = _utc_instant(at, "at"), _utc_instant(now, "now")
    seconds = (at_utc - now_utc).total_seconds()
    if seconds < 0:
        return f"overdue by {_span(-seconds)}"
    zone = _zone(timezone)
    local, today = at_utc.astimezone(zone), now_utc.astimezone(zone).date()
    days = (local.date() - today).days
    day = {0: "Today", 1: "Tomorrow"}.get(days)
    if day is None:
        # Fixed English names: strftime('%a') would follow the host locale.
        day = f"{_WEEKDAYS[local.weekday()]} {_MONTHS[local.month - 1]} {local.day}"
        if local.year != today.year:
            day = f"{day} {local.year}"
    return f"in {_span(seconds)} · {day} {_clock(local)}"
