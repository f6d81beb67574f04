"""Upcoming fire times: the sidecar's schedule code, runs per hour, DST flags and shading."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from grove_jobs import schedule as cron
from grove_jobs.configs.upcoming import ScheduledConfig, is_dst_change, upcoming

# 2026-03-08 is the spring-forward day in Los Angeles (02:00 PST -> 03:00 PDT, 10:00 UTC).
START = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)


def config(config_id: str, expression: str, zone: str = "UTC", paused: bool = False):
    return ScheduledConfig(config_id, config_id, "synthetic", ("t",), expression, zone, paused)


def test_fires_are_the_schedule_modules_and_paused_ones_are_not_counted() -> None:
    hourly = config("hourly", "15 * * * *")
    quarter = config("quarter", "*/15 * * * *", paused=True)
    result = upcoming([hourly, quarter], START, START + timedelta(hours=24))
    assert list(result.fires["hourly"]) == cron.fires_between(
        "15 * * * *", "UTC", START, START + timedelta(hours=24)
    )
    assert len(result.fires["quarter"]) == 96  # kept, to draw shaded
    assert len(result.per_hour) == 24
    assert {count for _, count in result.per_hour} == {1}  # the paused config counts nothing
    assert [(s.config_id, s.label) for s in result.shades] == [("quarter", "paused (disabled)")]


def test_dst_transitions_are_flagged_per_zone() -> None:
    la = config("la", "30 1 * * *", "America/Los_Angeles")
    result = upcoming([la, config("utc", "0 * * * *")], START, START + timedelta(days=2))
    assert result.dst_transitions == [(datetime(2026, 3, 8, 10, tzinfo=UTC), "America/Los_Angeles")]
    first, second = result.fires["la"]
    assert (second - first) == timedelta(hours=23)  # the local day was an hour short
    assert is_dst_change(second, first, "America/Los_Angeles")
    assert not is_dst_change(first, None, "America/Los_Angeles")
