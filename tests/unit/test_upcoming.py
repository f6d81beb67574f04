"""Upcoming fire times: the sidecar's schedule code, runs per hour, DST flags and shading."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from grove_jobs import schedule as cron
from grove_jobs.configs.upcoming import ScheduledConfig, is_dst_change, upcoming
from grove_jobs.pauses.blackout import Blackouts, Interval

# 2026-03-08 is the spring-forward day in Los Angeles (02:00 PST -> 03:00 PDT, 10:00 UTC).
START = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)


def config(config_id: str, expression: str, zone: str = "UTC", disabled: bool = False):
    return ScheduledConfig(config_id, config_id, "synthetic", ("t",), expression, zone, disabled)


def test_fires_are_the_schedule_modules_and_disabled_ones_are_not_counted() -> None:
    hourly = config("hourly", "15 * * * *")
    quarter = config("quarter", "*/15 * * * *", disabled=True)
    result = upcoming([hourly, quarter], START, START + timedelta(hours=24))
    assert list(result.fires["hourly"]) == cron.fires_between(
        "15 * * * *", "UTC", START, START + timedelta(hours=24)
    )
    assert len(result.fires["quarter"]) == 96  # kept, to draw shaded
    assert len(result.per_hour) == 24
    assert {count for _, count in result.per_hour} == {1}  # the disabled config counts nothing
    assert [(s.config_id, s.label) for s in result.shades] == [("quarter", "disabled")]
    assert result.runs == 24 and not result.skipped


def test_fires_inside_a_pause_or_a_tagged_window_are_skipped_not_counted() -> None:
    hourly = config("hourly", "0 * * * *")
    other = ScheduledConfig("other", "other", "synthetic", ("web",), "0 * * * *", "UTC", False)
    window = Interval(
        "maintenance", "backup", START + timedelta(hours=2), START + timedelta(hours=4), "t"
    )
    pause = Interval("pause", "migration", START + timedelta(hours=10), None)
    result = upcoming(
        [hourly, other], START, START + timedelta(hours=12), Blackouts((pause, window))
    )
    hours = [START + timedelta(hours=h) for h in range(1, 13)]
    assert result.skipped["hourly"] == {
        hours[1]: "maintenance: backup",  # 14:00, 15:00: the window ends before 16:00
        hours[2]: "maintenance: backup",
        hours[9]: "paused: migration",  # an open-ended pause covers the rest of the span
        hours[10]: "paused: migration",
        hours[11]: "paused: migration",
    }
    assert set(result.skipped["other"]) == set(hours[9:])  # the window's tag is not its own
    assert (result.runs, result.skipped_total) == (24 - 8, 8)
    assert dict(result.skipped_per_hour)[START + timedelta(hours=2)] == 1
    labels = [s.label for s in result.shades]
    assert labels == ["paused: migration", "maintenance: backup (tag t)"]
    assert result.shades[0].end == START + timedelta(hours=12)  # clipped to the span


def test_dst_transitions_are_flagged_per_zone() -> None:
    la = config("la", "30 1 * * *", "America/Los_Angeles")
    result = upcoming([la, config("utc", "0 * * * *")], START, START + timedelta(days=2))
    assert result.dst_transitions == [(datetime(2026, 3, 8, 10, tzinfo=UTC), "America/Los_Angeles")]
    first, second = result.fires["la"]
    assert (second - first) == timedelta(hours=23)  # the local day was an hour short
    assert is_dst_change(second, first, "America/Los_Angeles")
    assert not is_dst_change(first, None, "America/Los_Angeles")
