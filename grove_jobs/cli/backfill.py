"""``grove-jobs backfill``: run a config for the fire times of a past range."""

from __future__ import annotations

import click

from grove_jobs.cli.common import CliContext, cli_actor, echo_json, pass_cli
from grove_jobs.clock import iso_z
from grove_jobs.engine.backfill import DEFAULT_MAX
from grove_jobs.engine.backfill import backfill as backfill_config


@click.command("backfill")
@click.argument("config_id")
@click.option("--from", "start", required=True, metavar="ISO", help="First instant (included).")
@click.option("--to", "end", required=True, metavar="ISO", help="Last instant (excluded).")
@click.option("--dry-run", is_flag=True, help="List the fire times; create nothing.")
@click.option(
    "--max",
    "max_runs",
    type=int,
    default=DEFAULT_MAX,
    show_default=True,
    help="Refuse a range with more fire times than this.",
)
@click.option("--json", "as_json", is_flag=True, help="Print {created, existing, fireTimes}.")
@pass_cli
def backfill(
    cli: CliContext,
    config_id: str,
    start: str,
    end: str,
    dry_run: bool,
    max_runs: int,
    as_json: bool,
) -> None:
    """Queue one run of CONFIG_ID per fire time of its schedule in [--from, --to).

    --from/--to take an ISO instant with an offset or Z, or a date YYYY-MM-DD (local midnight
    in the config's timezone). Fire times that already have a run are left alone, except runs
    that were skipped; it works whether or not the schedule is enabled.
    """
    result = backfill_config(
        cli.db,
        config_id,
        start,
        end,
        requested_by=cli_actor(),
        dry_run=dry_run,
        max_runs=max_runs,
    )
    if as_json:
        echo_json(result.to_json())
        return
    if dry_run:
        for fire in result.fire_times:
            click.echo(iso_z(fire))
        click.echo(
            f"would create {len(result.fire_times) - len(result.existing)}, "
            f"already there {len(result.existing)}"
        )
        return
    click.echo(f"created {len(result.created)}, already there {len(result.existing)}")
