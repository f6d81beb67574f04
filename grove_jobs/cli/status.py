"""``grove-jobs status``: whether the scheduler is paused, and which windows are in force."""

from __future__ import annotations

import click

from grove_jobs.cli.common import CliContext, echo_json, pass_cli, short_time
from grove_jobs.pauses.store import PauseStatus, pause_status


def print_status(status: PauseStatus) -> None:
    """The human form of a status: one line for the pause, one per active window."""
    if status.paused:
        until = f" until {short_time(status.until)} UTC" if status.until else ""
        held = "; manual runs held too" if status.hold_manual else ""
        click.echo(
            f"paused since {short_time(status.since)} UTC{until} by {status.by}: "
            f"{status.reason}{held}"
        )
    else:
        click.echo("running (not paused)")
    for window in status.active_windows:
        scope = f"configs tagged {window.tag!r}" if window.tag else "all configs"
        click.echo(
            f"maintenance window {window.name!r} until {short_time(window.end)} UTC ({scope})"
        )


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (paused, reason, since, ...).")
@pass_cli
def status_command(cli: CliContext, as_json: bool) -> None:
    """Paused or running, since when, by whom, until when, and active maintenance windows."""
    status = pause_status(cli.db)
    if as_json:
        echo_json(status.to_json())
    else:
        print_status(status)
