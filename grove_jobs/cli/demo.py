"""``grove-jobs demo seed``: the demo configs."""

from __future__ import annotations

import click

from grove_jobs.cli._config_files import echo_changes
from grove_jobs.cli.common import CliContext, cli_actor, pass_cli


@click.group()
def demo() -> None:
    """Demo data."""


@demo.command("seed")
@pass_cli
def demo_seed(cli: CliContext) -> None:
    """Create the demo configs (one per job type, the original mock config, synthetic jobs).

    Idempotent: upserts by id, so running it again changes nothing.
    """
    from grove_jobs import demo as demo_data

    changes = demo_data.seed(cli.db, actor=cli_actor(), source="cli")
    echo_changes(changes, dry_run=False)
