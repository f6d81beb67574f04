"""``grove-jobs pause``: stop every schedule (and queued runs) from starting, with a reason."""

from __future__ import annotations

import click

from grove_jobs.cli.common import CliContext, cli_actor, echo_json, parse_instant, pass_cli
from grove_jobs.cli.status import print_status
from grove_jobs.pauses.store import pause


@click.command("pause")
@click.option("--reason", required=True, help="Why; every skipped tick records 'paused: REASON'.")
@click.option("--until", metavar="ISO", help="Resume by itself at this time (UTC unless given).")
@click.option(
    "--hold-manual", is_flag=True, help="Also hold manual and API runs (they wait queued)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the resulting status as JSON.")
@pass_cli
def pause_command(
    cli: CliContext, reason: str, until: str | None, hold_manual: bool, as_json: bool
) -> None:
    """Pause the scheduler on every sidecar sharing this database. Fire times while paused are
    recorded as skipped; running runs go on; queued and retrying runs wait."""
    status = pause(
        cli.db,
        reason=reason,
        until=parse_instant(until, "until"),
        hold_manual=hold_manual,
        by=cli_actor(),
        source="cli",
    )
    if as_json:
        echo_json(status.to_json())
    else:
        print_status(status)
