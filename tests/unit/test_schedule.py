"""Tests for grove_jobs.schedule: cron parsing, DST rules, fire times and human text."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from functools import cache
from itertools import pairwise
from zoneinfo import ZoneInfo, available_timezones

import pytest
from croniter import croniter
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from grove_jobs.clock import humanize_duration
from grove_jobs.schedule import (
    MACROS,
    CronError,
    FireTime,
    describe,
    fire_times,
    fires_between,
    humanize_next_run,
    next_fire,
    normalize_cron,
    preview,
    validate_cron,
    validate_timezone,
)

NY = "America/New_York"
MINUTE = timedelta(minutes=1)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def wall(instant: datetime, zone: str) -> str:
    """Local wall time with its abbreviation, the way an operator would read it."""
    return instant.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z")


# --- DST examples -----------------------------------------------------------------------
# 2026 transitions: New York Mar 8 02:00 EST->EDT, Nov 1 02:00 EDT->EST; London Mar 29
# 01:00 GMT->BST, Oct 25 02:00 BST->GMT; Sydney Apr 5 03:00 AEDT->AEST, Oct 4 02:00
# AEST->AEDT; Lord Howe Apr 5 02:00 (+11)->01:30 (+10:30), Oct 4 02:00->02:30.


@pytest.mark.parametrize(
    ("expression", "zone", "after", "expected"),
    [
        # Spring-forward gap: the missing local time fires once, when the gap ends.
        ("30 2 * * *", NY, utc(2026, 3, 7, 12), [utc(2026, 3, 8, 7), utc(2026, 3, 9, 6, 30)]),
        ("30 1 * * *", "Europe/London", utc(2026, 3, 28, 12), [utc(2026, 3, 29, 1)]),
        ("30 2 * * *", "Australia/Sydney", utc(2026, 10, 3), [utc(2026, 10, 3, 16)]),
        ("15 2 * * *", "Australia/Lord_Howe", utc(2026, 10, 3), [utc(2026, 10, 3, 15, 30)]),
        # Several cron times in one gap, plus one at its end, collapse into a single fire.
        ("0,30 2,3 * * *", NY, utc(2026, 3, 8, 6), [utc(2026, 3, 8, 7), utc(2026, 3, 8, 7, 30)]),
        # Fall-back fold: a fixed local time fires once, at its first occurrence.
        (
            "30 1 * * *",
            NY,
            utc(2026, 10, 31, 12),
            [utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)],
        ),
        ("30 1 * * *", "Europe/London", utc(2026, 10, 24, 12), [utc(2026, 10, 25, 0, 30)]),
        ("30 2 * * *", "Australia/Sydney", utc(2026, 4, 4), [utc(2026, 4, 4, 15, 30)]),
        ("45 1 * * *", "Australia/Lord_Howe", utc(2026, 4, 4), [utc(2026, 4, 4, 14, 45)]),
    ],
)
def test_fixed_time_across_transitions(
    expression: str, zone: str, after: datetime, expected: list[datetime]
) -> None:
    assert fire_times(expression, zone, after, len(expected)) == expected


def test_fixed_time_fold_second_occurrence_is_not_fired() -> None:
    # 01:10 EST, inside the repeated hour; 01:30 already fired at 01:30 EDT.
    assert next_fire("30 1 * * *", NY, utc(2026, 11, 1, 6, 10)) == utc(2026, 11, 2, 6, 30)
    # A fixed hour range: 02:00 EST, right after the repeated hour, is not skipped.
    assert next_fire("*/30 0-5 * * *", NY, utc(2026, 11, 1, 6, 10)) == utc(2026, 11, 1, 7)


def test_gap_fire_reads_as_the_first_local_time_after_the_gap() -> None:
    assert wall(next_fire("30 2 * * *", NY, utc(2026, 3, 8)), NY) == "2026-03-08 03:00 EDT"


def test_hourly_fires_every_real_hour_across_fall_back() -> None:
    fires = fires_between("0 * * * *", NY, utc(2026, 11, 1, 4, 30), utc(2026, 11, 1, 8, 30))
    assert fires == [utc(2026, 11, 1, h) for h in (5, 6, 7, 8)]
    assert [wall(t, NY)[11:] for t in fires] == ["01:00 EDT", "01:00 EST", "02:00 EST", "03:00 EST"]


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        (utc(2026, 11, 1, 5, 20), utc(2026, 11, 1, 6)),  # 01:20 EDT -> 01:00 EST
        (utc(2026, 11, 1, 6, 20), utc(2026, 11, 1, 7)),  # 01:20 EST -> 02:00 EST
        (utc(2026, 11, 1, 4, 59, 59), utc(2026, 11, 1, 5)),
    ],
)
def test_hourly_next_fire_inside_the_repeated_hour(after: datetime, expected: datetime) -> None:
    assert next_fire("0 * * * *", NY, after) == expected


def test_wildcard_hours_skip_the_gap() -> None:
    fires = fires_between("*/15 * * * *", NY, utc(2026, 3, 8, 6, 30), utc(2026, 3, 8, 7, 30))
    assert [wall(t, NY)[11:] for t in fires] == [
        "01:45 EST",
        "03:00 EDT",
        "03:15 EDT",
        "03:30 EDT",
    ]
    # Step hours too: 02:30 does not exist, so 00:30 is followed by 04:30.
    steps = fire_times("30 */2 * * *", NY, utc(2026, 3, 8, 5), 2)
    assert steps == [utc(2026, 3, 8, 5, 30), utc(2026, 3, 8, 8, 30)]


def test_wildcard_hours_with_half_hour_dst() -> None:
    zone = "Australia/Lord_Howe"
    fold = fires_between("*/15 * * * *", zone, utc(2026, 4, 4, 14), utc(2026, 4, 4, 15, 30))
    assert [wall(t, zone)[11:] for t in fold] == [
        "01:15 +11",
        "01:30 +11",
        "01:45 +11",
        "01:30 +1030",
        "01:45 +1030",
        "02:00 +1030",
    ]
    gap = fires_between("*/15 * * * *", zone, utc(2026, 10, 3, 15), utc(2026, 10, 3, 15, 45))
    assert [wall(t, zone)[11:] for t in gap] == ["01:45 +1030", "02:30 +11", "02:45 +11"]


def test_after_in_another_zone_and_result_in_utc() -> None:
    after = datetime(2026, 3, 7, 7, tzinfo=ZoneInfo(NY))
    result = next_fire("30 2 * * *", NY, after)
    assert result == utc(2026, 3, 8, 7)
    assert result.tzinfo is UTC


def test_next_fire_from_many_threads() -> None:
    cases = [
        (e, z, utc(2026, 11, 1, 4) + timedelta(minutes=7 * i))
        for i in range(60)
        for e, z in [("*/15 * * * *", NY), ("30 1 * * *", NY), ("0 * * * *", "UTC")]
    ]
    expected = [next_fire(*case) for case in cases]
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(lambda case: next_fire(*case), cases)) == expected


def test_preview_flags_offset_changes() -> None:
    result = preview("30 2 * * *", NY, utc(2026, 3, 7, 12), count=2)
    assert result == [
        FireTime(utc(2026, 3, 8, 7), utc(2026, 3, 8, 7).astimezone(ZoneInfo(NY)), True),
        FireTime(utc(2026, 3, 9, 6, 30), utc(2026, 3, 9, 6, 30).astimezone(ZoneInfo(NY)), False),
    ]
    assert result[0].local.strftime("%H:%M %Z") == "03:00 EDT"
    assert [f.dst_change for f in preview("0 * * * *", NY, utc(2026, 11, 1, 4, 30), 3)] == [
        False,
        True,
        False,
    ]


def test_fire_list_edges() -> None:
    assert fire_times("@hourly", "UTC", utc(2026, 1, 1), 0) == []
    with pytest.raises(ValueError, match="count"):
        fire_times("@hourly", "UTC", utc(2026, 1, 1), -1)
    assert fires_between("* * * * *", "UTC", utc(2026, 1, 1), utc(2026, 1, 1, 1), limit=3) == [
        utc(2026, 1, 1, 0, 1),
        utc(2026, 1, 1, 0, 2),
        utc(2026, 1, 1, 0, 3),
    ]
    # (start, end]: an instant equal to `end` is included, one equal to `start` is not.
    assert fires_between("@hourly", "UTC", utc(2026, 1, 1, 1), utc(2026, 1, 1, 2)) == [
        utc(2026, 1, 1, 2)
    ]
    assert fires_between("@hourly", "UTC", utc(2026, 1, 1, 2), utc(2026, 1, 1, 1)) == []


# --- parsing and validation -------------------------------------------------------------


def test_macros() -> None:
    assert set(MACROS) == {
        "@yearly",
        "@annually",
        "@monthly",
        "@weekly",
        "@daily",
        "@midnight",
        "@hourly",
    }
    assert normalize_cron("@daily") == normalize_cron("@midnight") == "0 0 * * *"
    assert normalize_cron(" @Yearly ") == normalize_cron("@annually") == "0 0 1 1 *"
    assert normalize_cron("@weekly") == "0 0 * * 0"
    assert normalize_cron("@monthly") == "0 0 1 * *"
    assert normalize_cron("@hourly") == "0 * * * *"
    assert next_fire("@daily", NY, utc(2026, 1, 1, 12)) == utc(2026, 1, 2, 5)
    for macro, expression in MACROS.items():
        assert validate_cron(macro) == expression


def test_normalize_collapses_whitespace() -> None:
    assert normalize_cron("  */5\t*  * *\n* ") == "*/5 * * * *"


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("61 * * * *", "minute field '61'"),
        ("0 24 * * *", "hour field '24'"),
        ("0 0 * 13 *", "month field '13'"),
        ("0 0 * * 8", "day-of-week field '8'"),
        ("*/0 * * * *", "minute field"),
        ("foo", "1 field"),
        ("* * * *", "4 field"),
        ("0 * * * * *", "6 field"),
        ("", "empty"),
        ("@reboot", "unknown cron macro"),
    ],
)
def test_invalid_cron(expression: str, message: str) -> None:
    with pytest.raises(CronError, match=message):
        normalize_cron(expression)
    with pytest.raises(ValueError, match=message):  # CronError is a ValueError
        validate_cron(expression)


@pytest.mark.parametrize("expression", ["0 0 31 2 *", "0 0 30 2 *", "0 0 31 4,6,9,11 *"])
def test_cron_that_never_fires(expression: str) -> None:
    assert normalize_cron(expression) == expression
    with pytest.raises(CronError, match="never fires"):
        validate_cron(expression)
    with pytest.raises(CronError, match="never fires"):
        next_fire(expression, "UTC", utc(2026, 1, 1))


def test_rare_but_valid_crons() -> None:
    assert validate_cron("0 0 29 2 *") == "0 0 29 2 *"
    assert next_fire("0 0 29 2 *", "UTC", utc(2026, 1, 1)) == utc(2028, 2, 29)
    # Fifth Monday of February happens only every 28 years.
    assert validate_cron("0 0 * 2 1#5") == "0 0 * 2 1#5"
    assert next_fire("0 0 * 2 1#5", "UTC", utc(2026, 1, 1)) == utc(2044, 2, 29)


def test_timezones() -> None:
    assert validate_timezone("UTC") == "UTC"
    assert validate_timezone("Australia/Lord_Howe") == "Australia/Lord_Howe"
    for name in ("Mars/Olympus_Mons", "", "america/new_york", "../etc/passwd"):
        with pytest.raises(ValueError, match="unknown timezone"):
            validate_timezone(name)
    with pytest.raises(ValueError, match="Mars/Olympus_Mons"):
        next_fire("@daily", "Mars/Olympus_Mons", utc(2026, 1, 1))


def test_naive_datetimes_are_rejected() -> None:
    naive = datetime(2026, 1, 1)
    calls = [
        lambda: next_fire("@daily", "UTC", naive),
        lambda: fire_times("@daily", "UTC", naive, 3),
        lambda: fires_between("@daily", "UTC", naive, utc(2026, 2, 1)),
        lambda: fires_between("@daily", "UTC", utc(2026, 1, 1), naive),
        lambda: preview("@daily", "UTC", naive),
        lambda: humanize_next_run(naive, utc(2026, 1, 1), "UTC"),
        lambda: humanize_next_run(utc(2026, 1, 1), naive, "UTC"),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="timezone-aware"):
            call()


# --- human text -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "zone", "text"),
    [
        ("0 2 * * *", "America/Los_Angeles", "At 02:00 AM (America/Los_Angeles)"),
        ("@daily", "UTC", "At 12:00 AM (UTC)"),
        ("*/15 * * * *", "Europe/London", "Every 15 minutes (Europe/London)"),
        ("0 9 * * 1-5", NY, "At 09:00 AM, Monday through Friday (America/New_York)"),
    ],
)
def test_describe(expression: str, zone: str, text: str) -> None:
    assert describe(expression, zone) == text


def test_describe_rejects_bad_input() -> None:
    with pytest.raises(CronError):
        describe("61 * * * *", "UTC")
    with pytest.raises(ValueError, match="unknown timezone"):
        describe("@daily", "Nowhere/Special")


LA = ZoneInfo("America/Los_Angeles")
NOW = datetime(2025, 11, 28, 12, 0, tzinfo=LA)  # a Friday, PST


@pytest.mark.parametrize(
    ("at", "text"),
    [
        (datetime(2025, 11, 28, 12, 5, tzinfo=LA), "in 5 minutes · Today 12:05 PM PST"),
        (datetime(2025, 11, 28, 14, 0, tzinfo=LA), "in 2 hours · Today 2:00 PM PST"),
        (datetime(2025, 11, 29, 2, 0, tzinfo=LA), "in 14 hours · Tomorrow 2:00 AM PST"),
        (datetime(2025, 12, 1, 2, 0, tzinfo=LA), "in 3 days · Mon Dec 1 2:00 AM PST"),
        (datetime(2026, 1, 2, 9, 30, tzinfo=LA), "in 35 days · Fri Jan 2 2026 9:30 AM PST"),
        (
            datetime(2025, 11, 28, 12, 0, 30, tzinfo=LA),
            "in less than a minute · Today 12:00 PM PST",
        ),
        (datetime(2025, 11, 28, 11, 57, tzinfo=LA), "overdue by 3 minutes"),
        (datetime(2025, 11, 28, 10, 0, tzinfo=LA), "overdue by 2 hours"),
    ],
)
def test_humanize_next_run(at: datetime, text: str) -> None:
    assert humanize_next_run(at, NOW, "America/Los_Angeles") == text
    # The same instants given in UTC render identically.
    assert humanize_next_run(at.astimezone(UTC), NOW.astimezone(UTC), "America/Los_Angeles") == text


def test_humanize_next_run_uses_the_zone_of_the_fire_time() -> None:
    now = utc(2026, 3, 7, 17)  # Saturday noon EST
    assert humanize_next_run(utc(2026, 3, 8, 7), now, NY) == "in 14 hours · Tomorrow 3:00 AM EDT"
    assert humanize_next_run(utc(2026, 3, 8, 7), now, "UTC") == "in 14 hours · Tomorrow 7:00 AM UTC"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 ms"),
        (0.85, "850 ms"),
        (0.9996, "1.0 s"),
        (12.34, "12.3 s"),
        (59.96, "1 min 00 s"),
        (245, "4 min 05 s"),
        (3599.6, "1 h 00 min"),
        (7380, "2 h 03 min"),
        (90_000, "1 d 01 h"),
        (-0.25, "-250 ms"),
    ],
)
def test_humanize_duration(seconds: float, text: str) -> None:
    assert humanize_duration(seconds) == text


def test_humanize_duration_rejects_nan() -> None:
    with pytest.raises(ValueError, match="finite"):
        humanize_duration(float("nan"))


# --- properties -------------------------------------------------------------------------

DST_ZONES = [
    "America/New_York",
    "Europe/London",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Asia/Tehran",
    "Pacific/Chatham",
    "Antarctica/Casey",
]
# "localtime" (the host's zone) is refused as a schedule timezone.
ALL_ZONES = sorted(available_timezones() - {"localtime"})
FIXED = [
    "30 2 * * *",
    "0 0 * * 0",
    "15 1 1 * *",
    "30 1 * * *",
    "45 23 * * *",
    "@daily",
    "*/30 0-5 * * *",
    "0,30 2,3 * * *",
]
ELAPSED = ["*/7 * * * *", "0 * * * *", "*/15 * * * *", "30 */2 * * *", "0 * 1 * *"]

zones = st.one_of(st.sampled_from(DST_ZONES), st.sampled_from(ALL_ZONES))
expressions = st.sampled_from(FIXED + ELAPSED)
instants = st.datetimes(datetime(2020, 1, 1), datetime(2035, 12, 31), timezones=st.just(UTC))


@cache
def transitions(zone_name: str) -> list[datetime]:
    """UTC instants (to the minute) where the zone's offset changes, 2020-2035."""
    zone, found = ZoneInfo(zone_name), []

    def offset(instant: datetime) -> timedelta | None:
        return instant.astimezone(zone).utcoffset()

    day = utc(2020, 1, 1)
    while day < utc(2036, 1, 1):
        if offset(day) != offset(day + timedelta(days=1)):
            minutes = (day + MINUTE * i for i in range(1, 24 * 60 + 1))
            found.extend(t for t in minutes if offset(t) != offset(t - MINUTE))
        day += timedelta(days=1)
    return found


@st.composite
def zone_and_instant(draw: st.DrawFn) -> tuple[str, datetime]:
    """A zone and an instant, often within a day and a half of one of its transitions."""
    zone = draw(zones)
    nearby = transitions(zone) if zone in DST_ZONES else []
    if nearby and draw(st.booleans()):
        shift = draw(st.integers(-36 * 3600, 36 * 3600))
        return zone, draw(st.sampled_from(nearby)) + timedelta(seconds=shift)
    return zone, draw(instants)


@cache
def cron_fields(expression: str) -> tuple[frozenset[int | str], ...]:
    fields, _ = croniter.expand(normalize_cron(expression))
    return tuple(frozenset(f) for f in fields)


def matches(expression: str, local: datetime) -> bool:
    """Independent cron matcher for the plain expressions used here (no L, W or #)."""
    minute, hour, dom, month, dow = cron_fields(expression)

    def has(values: frozenset[int | str], value: int) -> bool:
        return "*" in values or value in values

    if not (has(minute, local.minute) and has(hour, local.hour) and has(month, local.month)):
        return False
    day_ok, weekday_ok = has(dom, local.day), has(dow, (local.weekday() + 1) % 7)
    if "*" not in dom and "*" not in dow:
        return day_ok or weekday_ok  # cron ORs two restricted day fields
    return day_ok and weekday_ok


def follows_elapsed_time(expression: str) -> bool:
    hour = normalize_cron(expression).split()[1]
    return "*" in hour or "/" in hour


def brute_force(expression: str, zone_name: str, start: datetime, end: datetime) -> list[datetime]:
    """The DST rules applied literally, one UTC minute at a time."""
    zone, fires = ZoneInfo(zone_name), []
    elapsed = follows_elapsed_time(expression)
    t = (start + MINUTE).replace(second=0, microsecond=0)
    previous = (t - MINUTE).astimezone(zone).replace(tzinfo=None)
    while t <= end:
        local = t.astimezone(zone)
        current = local.replace(tzinfo=None)
        skipped = [previous + MINUTE * i for i in range(1, (current - previous) // MINUTE)]
        if matches(expression, current) and (elapsed or local.fold == 0):
            fires.append(t)
        elif not elapsed and any(matches(expression, w) for w in skipped):
            fires.append(t)  # first instant after a gap that swallowed a fixed time
        previous, t = current, t + MINUTE
    return fires


@settings(max_examples=150, deadline=None)
@given(zone_and_instant(), expressions)
def test_matches_brute_force(case: tuple[str, datetime], expression: str) -> None:
    zone, at = case
    end = at + timedelta(hours=30)
    assert fires_between(expression, zone, at, end) == brute_force(expression, zone, at, end)


@settings(max_examples=200, deadline=None)
@given(zone_and_instant(), expressions, st.floats(0, 1))
def test_next_fire_is_stable_until_it_happens(
    case: tuple[str, datetime], expression: str, fraction: float
) -> None:
    zone, at = case
    upcoming = next_fire(expression, zone, at)
    assert upcoming > at
    assert upcoming.tzinfo is UTC
    between = at + (upcoming - at) * fraction
    assume(between < upcoming)
    assert next_fire(expression, zone, between) == upcoming
    assert next_fire(expression, zone, upcoming - timedelta(microseconds=1)) == upcoming


@settings(max_examples=100, deadline=None)
@given(zone_and_instant(), expressions)
def test_fire_times_increase_and_chain(case: tuple[str, datetime], expression: str) -> None:
    zone_name, at = case
    zone = ZoneInfo(zone_name)
    times = fire_times(expression, zone_name, at, 8)
    assert times[0] == next_fire(expression, zone_name, at)
    assert all(a < b for a, b in pairwise(times))
    for earlier, later in pairwise(times):
        assert next_fire(expression, zone_name, earlier) == later
    for instant in times:
        # Never inside a gap: the local reading maps back to the same instant.
        local = instant.astimezone(zone)
        naive = local.replace(tzinfo=None)
        assert naive.replace(tzinfo=zone, fold=local.fold).astimezone(UTC) == instant
        before = (instant - MINUTE).astimezone(zone).utcoffset()
        if not matches(expression, local.replace(tzinfo=None)):
            # Only a fixed time swallowed by a gap fires off-pattern, right at the gap's end.
            assert not follows_elapsed_time(expression)
            assert local.utcoffset() > before


@settings(max_examples=60, deadline=None)
@given(zone_and_instant())
def test_quarter_hours_keep_real_time_spacing(case: tuple[str, datetime]) -> None:
    zone, at = case
    times = fire_times("*/15 * * * *", zone, at, 12)
    # Every tzdata offset since 2020 is a multiple of 15 minutes, so no transition may
    # stretch or shrink the real interval.
    assert {b - a for a, b in pairwise(times)} == {timedelta(minutes=15)}


def local_dates(expression: str, zone: str, year: int) -> Counter[date]:
    start, end = (
        datetime(year, 1, 1, tzinfo=ZoneInfo(zone)),
        datetime(year + 1, 1, 1, tzinfo=ZoneInfo(zone)),
    )
    return Counter(
        t.astimezone(ZoneInfo(zone)).date() for t in fires_between(expression, zone, start, end)
    )


@pytest.mark.parametrize("zone", DST_ZONES)
@pytest.mark.parametrize("year", [2021, 2026])
def test_fixed_daily_fires_once_per_local_day(zone: str, year: int) -> None:
    days = (date(year + 1, 1, 1) - date(year, 1, 1)).days
    for expression in ("30 2 * * *", "30 1 * * *", "0 0 * * *", "45 23 * * *", "0 3 * * *"):
        counts = local_dates(expression, zone, year)
        assert len(counts) == days, expression
        assert set(counts.values()) == {1}, expression


@settings(max_examples=15, deadline=None)
@given(zones, st.integers(2020, 2034), st.sampled_from(["30 2 * * *", "30 1 * * *", "0 0 * * *"]))
def test_fixed_daily_fires_once_per_local_day_anywhere(
    zone: str, year: int, expression: str
) -> None:
    counts = local_dates(expression, zone, year)
    assert len(counts) == (date(year + 1, 1, 1) - date(year, 1, 1)).days
    assert set(counts.values()) == {1}
