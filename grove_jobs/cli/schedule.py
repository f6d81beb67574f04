"""``grove-jobs schedule``: preview the fire times of a cron schedule."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from grove_jobs import schedule as cron
from grove_jobs.cli.common import echo_json, fail
from grove_jobs.clock import iso_z


@click.group("schedule")
def schedule_group() -> None:
    """Cron schedules: preview fire times."""


@schedule_group.command("preview")
@click.argument("cron_expression")
@click.option("--tz", "timezone", default="UTC", show_default=True, help="IANA timezone.")
@click.option("-n", "count", type=click.IntRange(1, 1000), default=10, show_default=True)
@click.option("--from", "start", help="ISO 8601 instant to start from (default: now).")
@click.option("--json", "as_json", is_flag=True)
def schedule_preview(cron_expression, timezone, count, start, as_json) -> None:
    """Print the next fire times of CRON_EXPRESSION in TIMEZONE."""
    try:
        cron.validate_cron(cron_expression)
    except ValueError as exc:
        fail(f"cronExpression: {exc}")
    try:
        cron.validate_timezone(timezone)
    except ValueError as exc:
        fail(f"timezone: {exc}")
    at = datetime.now(UTC)
    if start:
        try:
            at = datetime.fromisoformat(start.replace("Z", "+00:00"))
        except ValueError:
            fail(f"--from: {start!r} is not an ISO 8601 instant")
        if at.tzinfo is None:
            fail("--from: give a UTC offset or Z (e.g. 2026-03-08T00:00:00Z)")
    try:
        fires = cron.preview(cron_expression, timezone, at, count)
    except (OverflowError, cron.CronError):
        # Local times (or later fires) beyond year 1 or 9999 do not exist in Python.
        fail(
            f"--from: {start!r} is too close to the limits of the calendar (years 1 to 9999) "
            f"to list {count} fire time(s) in {timezone}"
        )
    if as_json:
        echo_json(
            [
                {
                    "utc": iso_z(f.utc),
                    "local": f.local.isoformat(),
                }
                for f in fires
            ]
        )
        return
    click.echo(cron.describe(cron_expression, timezone))
    for fire in fires:
        flag = "  (DST change)" if fire.dst_change else ""
        click.echo(f"{fire.local:%a %Y-%m-%d %H:%M %Z}  {fire.utc:%Y-%m-%dT%H:%MZ}{flag}")
